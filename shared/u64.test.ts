import { describe, expect, it } from 'vitest';
import { u64_pack, u64_unpack, u64_hex, u64_parse, u64_bit, u64_pfn, u64_make } from './u64.ts';
import { FROZEN_SPTE, SHADOW_NONPRESENT_VALUE, is_frozen_spte, is_shadow_present_pte, EPT_SPTE_MMU_WRITABLE } from './spte.ts';

describe('packed u64', () => {
  const cases: { name: string; real: bigint }[] = [
    { name: 'zero', real: 0n },
    { name: 'FROZEN_SPTE', real: 0x80000000000005a0n },
    { name: 'SHADOW_NONPRESENT_VALUE', real: 0x8000000000000000n },
    { name: 'present leaf pfn 0x12345', real: 0x0600000012345ef7n },
    { name: 'all low 40 bits', real: 0xffffffffffn },
    { name: 'all high 12 bits', real: 0xfff0000000000000n },
  ];
  for (const c of cases) {
    it(`round-trips ${c.name}`, () => {
      const p = u64_pack(c.real);
      expect(Number.isSafeInteger(p)).toBe(true);
      expect(u64_unpack(p)).toBe(c.real);
      expect(u64_hex(p)).toBe('0x' + c.real.toString(16).padStart(16, '0'));
      for (let b = 0; b < 64; b++) if (b < 40 || b >= 52) expect(u64_bit(p, b)).toBe(((c.real >> BigInt(b)) & 1n) === 1n);
    });
  }
  it('refuses bits 40..51, which the packing cannot hold', () => {
    expect(() => u64_pack(1n << 45n)).toThrow(/bits 40..51/);
    expect(u64_parse('0x0000100000000000')).toBeNull();
  });
  it('parses hex and decimal and rejects junk', () => {
    expect(u64_parse('0x80000000000005a0')).toBe(FROZEN_SPTE);
    expect(u64_parse('2048')).toBe(2048);
    expect(u64_parse('0xZZ')).toBeNull();
    expect(u64_parse('0x1ffffffffffffffff')).toBeNull();
  });
  it('matches the kernel constants', () => {
    expect(FROZEN_SPTE).toBe(u64_pack(0x80000000000005a0n));
    expect(SHADOW_NONPRESENT_VALUE).toBe(u64_pack(1n << 63n));
    expect(EPT_SPTE_MMU_WRITABLE).toBe(u64_pack(1n << 58n));
    expect(is_frozen_spte(FROZEN_SPTE)).toBe(true);
    expect(is_shadow_present_pte(FROZEN_SPTE)).toBe(false);
    expect(is_shadow_present_pte(u64_pack(0x800n))).toBe(true);
  });
  it('extracts and builds pfns', () => {
    const p = u64_make(0xef7, 0x0fffffff, 0x060);
    expect(u64_pfn(p)).toBe(0x0fffffff);
    expect(u64_unpack(p)).toBe(0x060000fffffffef7n);
  });
});
