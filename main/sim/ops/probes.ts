// The brittleness probes: paths that are unreachable, or allegedly unreachable, for mirror roots
// (kernel-mmu.md 3.9, H2, ideas 1, 8, 9, 13). Each asks "what does this design do if this
// change ever happens to a private mapping?". The MMU model runs the real primitive.
import { PG_LEVEL_2M } from '../../../shared/spte.ts';
import type { Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import {
  kvm_tdp_mmu_age_spte, kvm_tdp_mmu_zap_possible_nx_huge_page, probe_map_under_write_lock, probe_promote,
  probe_wrprot_leaf_read_locked, probe_wrprot_leaf_write_locked,
} from '../mmu/probes.ts';
import type { SimVm } from '../sim_vm.ts';

/** `wrprot-leaf`: write-protect a private leaf under the write lock or atomically under the read lock. */
export function* op_wrprot_leaf(vm: SimVm, t: SimThread, gfn: number, lock: 'read' | 'write'): Proc<string> {
  if (lock === 'write') return yield* probe_wrprot_leaf_write_locked(vm.mmu, t, gfn, true);
  return yield* probe_wrprot_leaf_read_locked(vm.mmu, t, gfn, true);
}

/** `age-leaf`: MMU-notifier aging, which changes the SPTE without handle_changed_spte(). */
export function* op_age_leaf(vm: SimVm, t: SimThread, gfn: number): Proc<string> {
  return yield* kvm_tdp_mmu_age_spte(vm.mmu, t, gfn, true);
}

/** `zap-nonleaf-shared`: NX-recovery's atomic zap of a page table under the read lock. */
export function* op_zap_nonleaf_shared(vm: SimVm, t: SimThread, gfn: number, level: number): Proc<string> {
  return yield* kvm_tdp_mmu_zap_possible_nx_huge_page(vm.mmu, t, gfn, level, true);
}

/** `map-under-write-lock`: a hypothetical write-locked prefault installing a private leaf. */
export function* op_map_under_write_lock(vm: SimVm, t: SimThread, gfn: number): Proc<string> {
  const slot = vm.memory.slotOf(gfn);
  if (slot === null) return 'no-memslot';
  return yield* probe_map_under_write_lock(vm.mmu, t, gfn, true, vm.memory.pfnOf(slot, gfn, true));
}

/** `promote`: replace a full 4K table with a 2M leaf (huge-page recovery), disallowed for mirrors. */
export function* op_promote(vm: SimVm, t: SimThread, gfn: number): Proc<string> {
  return yield* probe_promote(vm.mmu, t, gfn, PG_LEVEL_2M, true);
}
