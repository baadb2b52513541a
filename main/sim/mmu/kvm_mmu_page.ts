// struct kvm_mmu_page, the fields that matter here (kernel-mmu.md section 1.3).
// (Skeleton from the interface commit; the MMU model owns and extends this file.)
import type { U64 } from '../../../shared/u64.ts';

export interface kvm_mmu_page_role {
  /** Level of the SPTEs in this table (pg_level: 1 = the table holds 4K leaves). */
  level: number;
  /** A mirror table: shadows the TDX module's S-EPT in host memory. */
  is_mirror: boolean;
  /** Invalidated root, being zapped. */
  invalid: boolean;
}

export interface kvm_mmu_page {
  /** Stable id for events and snapshots (allocation order). */
  readonly id: number;
  role: kvm_mmu_page_role;
  /** Base GFN of the range this table covers. */
  gfn: number;
  /** The 512 SPTEs, packed U64 (see shared/u64.ts). */
  spt: Float64Array;
  /** Host PFN of this table's page; non-leaf SPTEs pointing here carry it. */
  readonly spt_pfn: number;
  /**
   * Host PFN of the S-EPT page handed to the TDX module for a mirror table below the root;
   * null for direct tables, the mirror root (the S-EPT root is a TDCS page), or after the TDX
   * side freed or leaked it.
   */
  external_spt: number | null;
  /** The table holding the SPTE that points here (ptep's owner), null for a root. */
  parent: kvm_mmu_page | null;
  /** Index of that SPTE in parent.spt. */
  parent_index: number;
}

/** The value of an SPTE slot, for readability at call sites. */
export type SptePtr = { sp: kvm_mmu_page; index: number };
export type { U64 };
