// SPTE encoding, as KVM's arch/x86/kvm/mmu/spte.h defines it for EPT ([SPTE] in
// ../reference/kernel-mmu.md section 1.2). Values are packed U64 numbers (see u64.ts): bits
// 0..31 can be tested with `&` directly; bits 52..63 live at packed bits 40..51.
// Shared with the renderer, which decodes SPTEs for display.
import { TWO_40, u64_bit, u64_hex, u64_pfn, type U64 } from './u64.ts';

/** enum pg_level: 1 = 4K, 2 = 2M, 3 = 1G, 4 = 512G, 5 = the 5-level root. */
export const PG_LEVEL_4K = 1;
export const PG_LEVEL_2M = 2;
export const PG_LEVEL_1G = 3;
export const PG_LEVEL_512G = 4;
export const PT64_ROOT_MAX_LEVEL = 5;
export const SPTE_ENT_PER_PAGE = 512;
export const SPTE_LEVEL_BITS = 9;

/** KVM_PAGES_PER_HPAGE(level): how many 4K GFNs one SPTE at `level` covers. */
export function KVM_PAGES_PER_HPAGE(level: number): number {
  return 512 ** (level - 1);
}

/** EPT read/write/exec, bits 0..2 (VMX_EPT_RWX_MASK). */
export const VMX_EPT_READABLE_MASK = 0x1;
export const VMX_EPT_WRITABLE_MASK = 0x2;
export const VMX_EPT_EXECUTABLE_MASK = 0x4;
export const VMX_EPT_RWX_MASK = 0x7;
/** Memory type WB (6) in bits 3..5, as make_spte sets it for RAM. */
export const VMX_EPT_MT_WB = 6 << 3;
/** Ignore PAT, bit 6. */
export const VMX_EPT_IPAT_BIT = 1 << 6;
/** PT_PAGE_SIZE_MASK, bit 7: a large (huge) leaf. */
export const PT_PAGE_SIZE_MASK = 1 << 7;
/** EPT accessed and dirty bits (shadow_accessed_mask / shadow_dirty_mask with A/D enabled). */
export const VMX_EPT_ACCESS_BIT = 1 << 8;
export const VMX_EPT_DIRTY_BIT = 1 << 9;
/** SPTE_MMU_PRESENT_MASK, bit 11: set by KVM on every present SPTE. */
export const SPTE_MMU_PRESENT_MASK = 1 << 11;
/** EPT_SPTE_HOST_WRITABLE (bit 57) and EPT_SPTE_MMU_WRITABLE (bit 58), packed. */
export const EPT_SPTE_HOST_WRITABLE = (1 << (57 - 52)) * TWO_40;
export const EPT_SPTE_MMU_WRITABLE = (1 << (58 - 52)) * TWO_40;
/** SHADOW_NONPRESENT_VALUE = BIT_ULL(63), EPT "suppress #VE", packed. */
export const SHADOW_NONPRESENT_VALUE = (1 << (63 - 52)) * TWO_40;
/** FROZEN_SPTE = SHADOW_NONPRESENT_VALUE | 0x5a0: never present, no RWX, no PFN. */
export const FROZEN_SPTE = SHADOW_NONPRESENT_VALUE + 0x5a0;

export function is_shadow_present_pte(spte: U64): boolean {
  return (spte & SPTE_MMU_PRESENT_MASK) !== 0;
}

export function is_large_pte(spte: U64): boolean {
  return (spte & PT_PAGE_SIZE_MASK) !== 0;
}

/** is_last_spte(pte, level): a leaf if at 4K or the large bit is set. */
export function is_last_spte(spte: U64, level: number): boolean {
  return level === PG_LEVEL_4K || is_large_pte(spte);
}

export function is_frozen_spte(spte: U64): boolean {
  return spte === FROZEN_SPTE;
}

/** spte_to_pfn: bits 12..51, here 12..39 (the simulated host has under 1 TiB). */
export function spte_to_pfn(spte: U64): number {
  return u64_pfn(spte);
}

/** The fields an engineer reads off an SPTE, for the inspector and event details. */
export interface SpteDecoded {
  hex: string;
  present: boolean;
  frozen: boolean;
  nonpresent: boolean;
  leaf: boolean | null;
  large: boolean;
  r: boolean;
  w: boolean;
  x: boolean;
  memType: number;
  ipat: boolean;
  accessed: boolean;
  dirty: boolean;
  hostWritable: boolean;
  mmuWritable: boolean;
  suppressVe: boolean;
  pfn: number;
}

/** Decodes an SPTE at `level` (0 when the level is unknown: leaf is then null). */
export function spte_decode(spte: U64, level: number): SpteDecoded {
  const present = is_shadow_present_pte(spte);
  return {
    hex: u64_hex(spte),
    present,
    frozen: is_frozen_spte(spte),
    nonpresent: spte === SHADOW_NONPRESENT_VALUE,
    leaf: present ? (level > 0 ? is_last_spte(spte, level) : null) : null,
    large: is_large_pte(spte),
    r: (spte & VMX_EPT_READABLE_MASK) !== 0,
    w: (spte & VMX_EPT_WRITABLE_MASK) !== 0,
    x: (spte & VMX_EPT_EXECUTABLE_MASK) !== 0,
    memType: (spte >>> 3) & 7,
    ipat: (spte & VMX_EPT_IPAT_BIT) !== 0,
    accessed: (spte & VMX_EPT_ACCESS_BIT) !== 0,
    dirty: (spte & VMX_EPT_DIRTY_BIT) !== 0,
    hostWritable: u64_bit(spte, 57),
    mmuWritable: u64_bit(spte, 58),
    suppressVe: u64_bit(spte, 63),
    pfn: present ? spte_to_pfn(spte) : 0,
  };
}
