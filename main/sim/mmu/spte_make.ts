// Building SPTE values, after arch/x86/kvm/mmu/spte.c ([SPTE]): make_spte() for a leaf,
// make_nonleaf_spte() for a link to a child table, make_small_spte() for the children of a
// split huge page, make_huge_spte() for a promotion. EPT encoding with A/D bits enabled, as TDX
// requires; all values packed U64 (shared/u64.ts).
import {
  EPT_SPTE_HOST_WRITABLE,
  EPT_SPTE_MMU_WRITABLE,
  KVM_PAGES_PER_HPAGE,
  PG_LEVEL_4K,
  PT_PAGE_SIZE_MASK,
  SPTE_MMU_PRESENT_MASK,
  VMX_EPT_ACCESS_BIT,
  VMX_EPT_DIRTY_BIT,
  VMX_EPT_IPAT_BIT,
  VMX_EPT_MT_WB,
  VMX_EPT_RWX_MASK,
  VMX_EPT_WRITABLE_MASK,
  spte_to_pfn,
} from '../../../shared/spte.ts';
import { TWO_40, type U64 } from '../../../shared/u64.ts';
import { rem_pow2 } from '../int_rem.ts';

/** The low 12 bits of a writable RAM leaf: RWX, WB, IPAT, A, D, MMU-present. */
const LEAF_LOW_BITS = VMX_EPT_RWX_MASK | VMX_EPT_MT_WB | VMX_EPT_IPAT_BIT | VMX_EPT_ACCESS_BIT | VMX_EPT_DIRTY_BIT | SPTE_MMU_PRESENT_MASK;
/** The low 12 bits of a non-leaf: RWX (present|writable|user|x masks for EPT), A, MMU-present. */
const NONLEAF_LOW_BITS = VMX_EPT_RWX_MASK | VMX_EPT_ACCESS_BIT | SPTE_MMU_PRESENT_MASK;

/**
 * make_spte() for guest RAM: every TDX private fault is a write fault (tdx.c sets
 * EPT_VIOLATION_ACC_WRITE), so the leaf is full RWX, host- and MMU-writable, accessed and
 * dirty. Memory type WB with IPAT, as for RAM under EPT. Bit 7 marks a leaf above 4K.
 * `pfn` must be aligned to the level (kvm_mmu_hugepage_adjust masks it).
 */
export function make_spte(pfn: number, level: number): U64 {
  const low = level > PG_LEVEL_4K ? LEAF_LOW_BITS | PT_PAGE_SIZE_MASK : LEAF_LOW_BITS;
  return low + pfn * 4096 + EPT_SPTE_HOST_WRITABLE + EPT_SPTE_MMU_WRITABLE;
}

/** make_nonleaf_spte(child_pt, ad_disabled=false): present, not large, points at the child. */
export function make_nonleaf_spte(childSptPfn: number): U64 {
  return NONLEAF_LOW_BITS + childSptPfn * 4096;
}

/**
 * make_small_spte(kvm, huge_spte, role, index): the index-th child of a huge leaf when it is
 * split into a table of `childLevel` SPTEs. Same attributes; the PFN advances by the child's
 * size; at 4K the large bit goes.
 */
export function make_small_spte(hugeSpte: U64, childLevel: number, index: number): U64 {
  let child = hugeSpte + index * KVM_PAGES_PER_HPAGE(childLevel) * 4096;
  if (childLevel === PG_LEVEL_4K) child -= PT_PAGE_SIZE_MASK;
  return child;
}

/**
 * make_huge_spte(kvm, small_spte, level): the huge leaf at `level` that replaces a table whose
 * child leaf is `smallSpte` (promotion, kvm_tdp_mmu_recover_huge_pages). The PFN is rounded
 * down to the huge page.
 */
export function make_huge_spte(smallSpte: U64, level: number): U64 {
  const pfn = spte_to_pfn(smallSpte);
  const basePfn = pfn - rem_pow2(pfn, KVM_PAGES_PER_HPAGE(level));
  const attrs = smallSpte - pfn * 4096;
  const large = (attrs & PT_PAGE_SIZE_MASK) !== 0 ? 0 : PT_PAGE_SIZE_MASK;
  return attrs + large + basePfn * 4096;
}

/** The write-protected form of a leaf, as wrprot_gfn_range() makes it. */
export function spte_clear_writable(spte: U64): U64 {
  let v = spte;
  if ((v & VMX_EPT_WRITABLE_MASK) !== 0) v -= VMX_EPT_WRITABLE_MASK;
  if (is_mmu_writable_spte(v)) v -= EPT_SPTE_MMU_WRITABLE;
  return v;
}

/** The SPTE with the accessed bit cleared (aging). */
export function spte_clear_accessed(spte: U64): U64 {
  return (spte & VMX_EPT_ACCESS_BIT) !== 0 ? spte - VMX_EPT_ACCESS_BIT : spte;
}

/** EPT_SPTE_MMU_WRITABLE (bit 58) is set. */
export function is_mmu_writable_spte(spte: U64): boolean {
  return (Math.floor(spte / TWO_40) & (EPT_SPTE_MMU_WRITABLE / TWO_40)) !== 0;
}

/** EPT_SPTE_HOST_WRITABLE (bit 57) is set. */
export function is_host_writable_spte(spte: U64): boolean {
  return (Math.floor(spte / TWO_40) & (EPT_SPTE_HOST_WRITABLE / TWO_40)) !== 0;
}
