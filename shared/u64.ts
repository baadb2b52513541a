// Lossless 64-bit page-table entry values held in one JS number.
//
// Why not bigint: a bigint operation allocates and costs ~20 ns in V8, and a simulated fault does
// dozens of bit tests; the engine must run 500,000 faults per second. Why not two 32-bit words:
// every SPTE-taking function would need two parameters. Instead we use the fact that the
// simulated host has under 1 TiB of memory, so physical-address bits 40..51 of every SPTE and
// S-EPT entry are zero. The number holds bits 0..39 exactly, and bits 52..63 (A/D type,
// host/MMU-writable, suppress-#VE, the S-EPT state bits) shifted down to 40..51. The result is
// below 2^52, an exact integer in a double.
//
// Bit tests on bits 0..31 work directly: `(v & mask) !== 0`, because `&` takes the value modulo
// 2^32. Use the helpers below for anything higher.

/** 2^32 */
export const TWO_32 = 4294967296;
/** 2^40: where the packed high bits (52..63) start. */
export const TWO_40 = 1099511627776;

/** A 64-bit entry value in packed form (see the file comment). */
export type U64 = number;

/** Packs a real 64-bit value. Throws if bits 40..51 are set: that is a bug in our code. */
export function u64_pack(v: bigint): U64 {
  const mid = (v >> 40n) & 0xfffn;
  if (mid !== 0n) throw new Error(`u64_pack: bits 40..51 must be zero in 0x${v.toString(16)}`);
  return Number(v & 0xffffffffffn) + Number(v >> 52n) * TWO_40;
}

/** The real 64-bit value of a packed number. */
export function u64_unpack(p: U64): bigint {
  const hi12 = Math.floor(p / TWO_40);
  const lo40 = p - hi12 * TWO_40;
  return (BigInt(hi12) << 52n) | BigInt(lo40);
}

/** The real 64-bit value as 0x-prefixed, 16-digit hex. */
export function u64_hex(p: U64): string {
  return '0x' + u64_unpack(p).toString(16).padStart(16, '0');
}

/** Parses a hex or decimal string (or a number) into packed form; null when it is not valid. */
export function u64_parse(text: string): U64 | null {
  try {
    const t = text.trim();
    if (!/^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(t)) return null;
    const v = BigInt(t);
    if (v >> 64n !== 0n) return null;
    if (((v >> 40n) & 0xfffn) !== 0n) return null;
    return u64_pack(v);
  } catch {
    return null;
  }
}

/** Real bit n (0..63) of a packed value. */
export function u64_bit(p: U64, n: number): boolean {
  if (n < 32) return ((p >>> 0) & (1 << n)) !== 0 || (n === 31 && (p >>> 0) >= 0x80000000);
  if (n < 40) return (Math.floor(p / TWO_32) & (1 << (n - 32))) !== 0;
  if (n < 52) return false;
  return (Math.floor(p / TWO_40) & (1 << (n - 52))) !== 0;
}

/** The packed constant for a single real bit n, valid for n in 0..39 and 52..63. */
export function u64_bit_value(n: number): U64 {
  if (n < 40) return 2 ** n;
  if (n < 52) throw new Error(`u64_bit_value: bit ${n} cannot be packed`);
  return 2 ** (n - 52) * TWO_40;
}

/** Bits 12..39 of a packed value shifted right by 12: a page frame number below 2^28. */
export function u64_pfn(p: U64): number {
  // Subtracting the floored high part is much faster than `%` on doubles (fmod).
  const lo40 = p - Math.floor(p / TWO_40) * TWO_40;
  return Math.floor(lo40 / 4096);
}

/** The packed high field (real bits 52..63) as a 12-bit integer. */
export function u64_hi12(p: U64): number {
  return Math.floor(p / TWO_40);
}

/** Builds a packed value from its parts: low 12 bits, pfn (below 2^28) and high bits 52..63. */
export function u64_make(low12: number, pfn: number, hi12: number): U64 {
  return (low12 & 0xfff) + pfn * 4096 + hi12 * TWO_40;
}
