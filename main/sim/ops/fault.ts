// Guest faults: an EPT violation on a private or shared GFN, handled as TDX does in
// tdx_handle_ept_violation() -> __vmx_handle_ept_violation() -> kvm_mmu_page_fault() ->
// kvm_tdp_page_fault(). Private faults are retried locally on RET_PF_RETRY (contention,
// a frozen SPTE, -EBUSY from AUG/SEPT.ADD) rather than re-entering the guest, so as not to
// trip the TDX module's zero-step mitigation ([M16], [KX]).
import { PG_LEVEL_2M, PG_LEVEL_4K } from '../../../shared/spte.ts';
import { SPIN, type Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import { RET_PF_NAMES, RET_PF_RETRY, kvm_tdp_page_fault, newPageFault } from '../mmu/tdp_mmu_map.ts';
import type { SimVm } from '../sim_vm.ts';
import { mmu_invalidate_retry_gfn } from '../mmu/mmu_invalidate.ts';

/**
 * One fault on `gfn`, retried locally while RET_PF_RETRY. Returns the RET_PF_* name, or the
 * reason the fault never reached the MMU (no memslot; the attribute differs from the access,
 * which KVM reports to userspace as KVM_EXIT_MEMORY_FAULT; the VM is dead). Each attempt is a
 * whole kvm_mmu_page_fault(): the memslot, the attribute and the PFN are read again, after the
 * invalidation sequence is snapshotted (kvm_mmu_faultin_pfn), so a conversion that ran while
 * the fault waited is seen.
 */
export function* tdx_handle_ept_violation(vm: SimVm, t: SimThread, gfn: number, level: number, wantPrivate: boolean): Proc<string> {
  // The mapping level: the fault asks for 2M only where huge private pages are allowed.
  const hugeOk = !wantPrivate || vm.mmu.config.privateHugePages;
  const maxLevel = level === PG_LEVEL_2M && hugeOk ? PG_LEVEL_2M : PG_LEVEL_4K;
  // Refaults that count toward faultRetriesMax: not those waiting for an invalidation in
  // progress, which its thread's kvm_mmu_invalidate_end() lets through however long it takes.
  let retries = 0;
  for (let attempt = 0; ; attempt++) {
    if (vm.ctx.vmBugged) return 'vm-dead';
    // A slot deleted while the fault retried is KVM_MEMSLOT_INVALID: the fault stops there.
    const slot = vm.memory.slotOf(gfn, attempt > 0);
    if (slot === null) return 'no-memslot';
    if (slot.deleted) return 'memslot-invalid';
    const mmuSeq = vm.mmu.invalidate.seq;
    if (vm.memory.isPrivate(slot, gfn) !== wantPrivate) return 'KVM_EXIT_MEMORY_FAULT';
    const pfn = vm.memory.pfnOf(slot, gfn, wantPrivate);
    // The lockless early check (mmu_invalidate_retry_gfn_unsafe): an invalidation of this GFN
    // is under way, so the fault would be stale anyway; refault without taking mmu_lock.
    // kvm_tdp_page_fault counts the RET_PF_RETRYs it returns; this one is counted here.
    const stale = mmu_invalidate_retry_gfn(vm.mmu, mmuSeq, gfn);
    if (stale) vm.ctx.metrics.retries++;
    const r = stale ? RET_PF_RETRY : yield* kvm_tdp_page_fault(vm.mmu, t, newPageFault(gfn, wantPrivate, pfn, maxLevel, mmuSeq));
    if (r !== RET_PF_RETRY) return RET_PF_NAMES[r];
    if (!stale && retries++ >= vm.limits.faultRetriesMax) {
      vm.livelock ??= `${t.name}: fault on gfn 0x${gfn.toString(16)} retried ${retries - 1} times (faultRetriesMax)`;
      return 'RET_PF_RETRY';
    }
    // A refault that made no progress: counts toward the scheduler's stall budget.
    yield SPIN;
  }
}

/** `fault-range`: one EPT violation per page (or per 2M page), in GFN order. */
export function* op_fault_range(vm: SimVm, t: SimThread, gfn: number, pages: number, level: number, wantPrivate: boolean): Proc<string> {
  const stride = level === PG_LEVEL_2M ? 512 : 1;
  let last = 'RET_PF_FIXED';
  for (let g = gfn; g < gfn + pages; g += stride) {
    last = yield* tdx_handle_ept_violation(vm, t, g, level, wantPrivate);
    if (vm.ctx.vmBugged || vm.ctx.hostBug !== null || vm.livelock !== null) return last;
  }
  return last;
}

/**
 * `populate`: KVM_TDX_INIT_MEM_REGION. Before finalize each page is mapped through the fault
 * path (kvm_tdp_map_page under the read lock), and the hook ADDs it to the TD image
 * (TDH.MEM.PAGE.ADD inside the hook since kvm-x86 6b5b71ffabf9). Refused once runnable.
 */
export function* op_populate(vm: SimVm, t: SimThread, gfn: number, pages: number): Proc<string> {
  if (vm.kt.state === 'runnable') return '-EINVAL';
  return yield* op_fault_range(vm, t, gfn, pages, PG_LEVEL_4K, true);
}
