// `x % d` for a power-of-two `d`, without the floating-point remainder. GFNs, PFNs and packed
// entries do not fit in 32 bits, so V8 compiles `%` on them to a call of fmod, the costliest
// arithmetic on the fault path (page-table indices, PFN-map slots, alignment checks). With `d` a
// power of two, `x / d`, its truncation and the product are exact, so this is `x % d` to the bit
// (the sign of `x`, as `%` has), for every finite `x`.

/** x % d, `d` a power of two. */
export function rem_pow2(x: number, d: number): number {
  return x - Math.trunc(x / d) * d;
}

// Where `d` comes from a table (a level's page count), V8 cannot turn `x / d` into a multiply as
// it does for a constant, and a division is several times a multiply's latency on the walk's
// critical path. 1/d is a power of two too, so `x * (1/d)` is exactly `x / d`.

/** Each entry's reciprocal (0 stays 0), for rem_pow2_inv and floor divisions by a table entry. */
export function reciprocals(table: readonly number[]): readonly number[] {
  return table.map((d) => (d === 0 ? 0 : 1 / d));
}

/** rem_pow2(x, d) given also inv = 1/d: the same value, with a multiply for the division. */
export function rem_pow2_inv(x: number, d: number, inv: number): number {
  return x - Math.trunc(x * inv) * d;
}
