// The hook seam between the TDP MMU and the vendor (TDX) code: the external-page-table members
// of struct kvm_x86_ops (arch/x86/include/asm/kvm-x86-ops.h, kvm_host.h). A design supplies one
// of the two shapes below. A hook a design leaves out is absent (undefined); when the MMU
// reaches such a call site it records the call as `absent` and acts as the kernel does with an
// OPTIONAL_RET0 op (returns 0) or, where the kernel has a KVM_BUG_ON for it, bugs the VM.
//
// Every hook is a Proc: SEAMCALLs inside are step points. Return values follow the kernel:
// 0 on success, -EBUSY for contention the caller retries, -EIO after a bug.
import type { Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import type { U64 } from '../../../shared/u64.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';

/**
 * Design A: one callback per operation, as in TDX huge page support v3 ([V3] on top of [B26]).
 * Called from set_external_spte_present() (atomic path), the dispatch in tdp_mmu_set_spte(),
 * per child in handle_removed_pt(), and the per-table free after the child loop.
 */
export interface PerOpExternalOps {
  readonly kind: 'per-op';
  /** Link a new external page table below a non-leaf SPTE (TDH.MEM.SEPT.ADD). */
  link_external_spt?: (t: SimThread, gfn: number, level: number, child: kvm_mmu_page) => Proc<number>;
  /** Map a leaf into the external table (PAGE.AUG, or PAGE.ADD before finalize). */
  set_external_spte?: (t: SimThread, gfn: number, level: number, mirror_spte: U64) => Proc<number>;
  /** [V3] 07/24: split a huge external leaf into a new table (BLOCK, TRACK, DEMOTE). */
  split_external_spte?: (t: SimThread, gfn: number, level: number, old_mirror_spte: U64, child: kvm_mmu_page, mmu_lock_shared: boolean) => Proc<number>;
  /** Remove a leaf from the external table (BLOCK, TRACK, REMOVE, WBINVD). Void since [B26]. */
  remove_external_spte?: (t: SimThread, gfn: number, level: number, mirror_spte: U64) => Proc<void>;
  /** Update external page tables for a page table about to be freed (RECLAIM). */
  free_external_spt?: (t: SimThread, gfn: number, level: number, sp: kvm_mmu_page) => Proc<number>;
}

/**
 * Design B: one funnel for every mirror SPTE change, called from __handle_changed_spte() and,
 * through it, from the atomic path while the SPTE is frozen ([SC], [UNI], [KX]); plus one
 * dedicated hook for a page table about to be freed.
 */
export interface UnifiedExternalOps {
  readonly kind: 'unified';
  /** Update the external page table from an SPTE getting set (old -> new at level). */
  set_external_spte?: (t: SimThread, gfn: number, old_spte: U64, new_spte: U64, level: number) => Proc<number>;
  /** Update external page tables for a page table about to be freed. */
  free_external_spt?: (t: SimThread, sp: kvm_mmu_page) => Proc<void>;
  /**
   * The `unified-single-hook` strawman: a pruned non-leaf also goes through set_external_spte,
   * when the parent SPTE changes and before handle_removed_pt() visits its children; there is
   * then no free_external_spt.
   */
  readonly nonleafRemovalViaSetExternal: boolean;
}

export type ExternalOps = PerOpExternalOps | UnifiedExternalOps;
