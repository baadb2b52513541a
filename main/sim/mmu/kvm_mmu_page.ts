// struct kvm_mmu_page, the fields that matter here (kernel-mmu.md section 1.3), plus what the
// simulator needs to tell a live table from a freed one.
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
  /** Base GFN of the range this table covers (without the shared bit). */
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
  /** Set when the fault that created it could not use a huge page (NX workaround); unused for TDX. */
  nx_huge_page_disallowed: boolean;
  /** Roots only: kvm_tdp_mmu_invalidate_roots() scheduled this root for zapping. */
  tdp_mmu_scheduled_root_to_zap: boolean;
  /** tdp_mmu_unlink_sp() ran: the table is no longer reachable by new walkers. */
  unlinked: boolean;
  /** The RCU callback (or an immediate free of a never-linked table) released its pages. */
  freed: boolean;
}

/** is_mirror_sp(sp). */
export function is_mirror_sp(sp: kvm_mmu_page): boolean {
  return sp.role.is_mirror;
}

/** The value of an SPTE slot, for readability at call sites. */
export type SptePtr = { sp: kvm_mmu_page; index: number };
export type { U64 };
