// Host-initiated zaps and splits of a GFN range, under mmu_lock held for write.
import { PG_LEVEL_2M, PG_LEVEL_4K, SHADOW_NONPRESENT_VALUE, is_last_spte, is_shadow_present_pte, KVM_PAGES_PER_HPAGE } from '../../../shared/spte.ts';
import { STEP, mustYieldStep, type Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import { write_lock, write_unlock } from '../mmu_lock.ts';
import { KVM_FILTER_PRIVATE, KVM_FILTER_SHARED, type KvmMmu } from '../mmu/kvm_mmu.ts';
import type { kvm_mmu_page } from '../mmu/kvm_mmu_page.ts';
import { newTdpIter, tdp_iter_in_range, tdp_iter_next, tdp_iter_start } from '../mmu/tdp_iter.ts';
import { tdp_mmu_iter_set_spte } from '../mmu/tdp_mmu_set_spte.ts';
import { tdp_mmu_split_huge_pages_root } from '../mmu/tdp_mmu_split.ts';
import type { SimVm } from '../sim_vm.ts';
import { kvm_tdp_mmu_unmap_gfn_range } from '../mmu/tdp_mmu_zap.ts';

/** `split`: split every huge private leaf in the range to 4K (tdp_mmu_split_huge_pages_root, write lock). */
export function* op_split(vm: SimVm, t: SimThread, gfn: number, pages: number): Proc<string> {
  const root = vm.mmu.validRoot(true);
  if (root === null) return 'no-root';
  yield* write_lock(vm.ctx, vm.mmu.mmu_lock, t);
  yield* tdp_mmu_split_huge_pages_root(vm.mmu, t, root, gfn, gfn + pages, PG_LEVEL_4K, false);
  yield* write_unlock(vm.ctx, vm.mmu.mmu_lock, t);
  return vm.ctx.vmBugged ? 'vm-bugged' : 'done';
}

/**
 * `zap-range`: zap the leaves of both roots in the range (kvm_tdp_mmu_unmap_gfn_range). With
 * `tables`, also prune every page table that lies wholly inside the range while the TD runs,
 * parent first as KVM always does (the NX-recovery / zap_sp shape): a path mainline KVM does
 * not have for mirror roots, there to show which designs could support it (H20).
 */
export function* op_zap_range(vm: SimVm, t: SimThread, gfn: number, pages: number, tables: boolean): Proc<string> {
  if (!tables) {
    // A plain zap, as an MMU-notifier invalidation does: no cross-boundary split first ([V3]
    // adds that only to memory-attribute changes and guest_memfd), so a huge leaf that overlaps
    // the range goes whole (H8).
    yield* write_lock(vm.ctx, vm.mmu.mmu_lock, t);
    yield* kvm_tdp_mmu_unmap_gfn_range(vm.mmu, t, { start: gfn, end: gfn + pages, attr_filter: KVM_FILTER_PRIVATE | KVM_FILTER_SHARED }, true);
    yield* write_unlock(vm.ctx, vm.mmu.mmu_lock, t);
    return vm.ctx.vmBugged ? 'vm-bugged' : 'done';
  }
  yield* write_lock(vm.ctx, vm.mmu.mmu_lock, t);
  for (const root of vm.mmu.roots.slice()) {
    if (root.role.invalid || vm.ctx.vmBugged) continue;
    yield* zapTablesInRange(vm.mmu, t, root, gfn, gfn + pages);
  }
  yield* write_unlock(vm.ctx, vm.mmu.mmu_lock, t);
  return vm.ctx.vmBugged ? 'vm-bugged' : 'done';
}

/**
 * Zaps, with tdp_mmu_iter_set_spte, the topmost SPTEs (leaf or table) whose whole range lies in
 * [start, end); handle_removed_pt() then reaps each pruned table's children. SPTEs that only
 * partly overlap are descended into. The root itself is never zapped.
 */
function* zapTablesInRange(kvm: KvmMmu, t: SimThread, root: kvm_mmu_page, start: number, end: number): Proc<void> {
  kvm.ctx.events.begin(t.id, 'mmu', 'tdp_mmu_zap_range_tables', start, root.role.level, `[0x${start.toString(16)}, 0x${end.toString(16)})`);
  kvm.rcu.rcu_read_lock(t);
  const iter = newTdpIter(root);
  // Step point: the walk's first SPTE read.
  if (mustYieldStep()) yield STEP;
  tdp_iter_start(kvm, iter, root, PG_LEVEL_4K, start, kvm.gfnRootBits(root));
  while (tdp_iter_in_range(iter, end) && !kvm.ctx.vmBugged) {
    const covered = iter.gfn >= start && iter.gfn + KVM_PAGES_PER_HPAGE(iter.level) <= end;
    if (is_shadow_present_pte(iter.old_spte) && covered && (iter.level >= PG_LEVEL_2M || is_last_spte(iter.old_spte, iter.level))) {
      yield* tdp_mmu_iter_set_spte(kvm, t, iter, SHADOW_NONPRESENT_VALUE);
    }
    // Step point: the next SPTE read.
    if (mustYieldStep()) yield STEP;
    tdp_iter_next(kvm, iter);
  }
  kvm.rcu.rcu_read_unlock(t);
  kvm.ctx.events.end(t.id);
}
