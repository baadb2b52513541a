// `x % d` for a power-of-two `d`, without the floating-point remainder. GFNs, PFNs and packed
// entries do not fit in 32 bits, so V8 compiles `%` on them to a call of fmod, the costliest
// arithmetic on the fault path (page-table indices, PFN-map slots, alignment checks). With `d` a
// power of two, `x / d`, its truncation and the product are exact, so this is `x % d` to the bit
// (the sign of `x`, as `%` has), for every finite `x`.

/** x % d, `d` a power of two. */
export function rem_pow2(x: number, d: number): number {
  return x - Math.trunc(x / d) * d;
}
