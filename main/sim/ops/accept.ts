// The guest's TDG.MEM.PAGE.ACCEPT and KVM's reaction to the EPT violation it can cause.
// The guest holds the entry's TDEL lock while it zeroes the page (two steps), so a host SEAMCALL
// on that entry in between gets TDX_OPERAND_BUSY|RCX ("contention with certain TDCALLs", [K]).
// If the walk stops at a PENDING huge leaf above the accept level, the huge-page series splits
// the mapping to the guest's level (tdx_honor_guest_accept_level, [V3] 12-13/24, [L3]); if the
// page is not mapped at all, KVM faults it in; then the guest retries.
import { PG_LEVEL_4K } from '../../../shared/spte.ts';
import { TDX_SUCCESS, tdx_status_name } from '../../../shared/tdx_status.ts';
import { SPIN, STEP, mustYieldStep, type Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import { write_lock, write_unlock } from '../mmu_lock.ts';
import { pg_level_to_tdx_sept_level } from '../designs/kvm_tdx.ts';
import { page_info } from '../tdx/helpers.ts';
import { tdg_mem_page_accept_begin, tdg_mem_page_accept_end, type AcceptResult } from '../tdx/tdg_mem_page_accept.ts';
import { tdp_mmu_split_huge_pages_root } from '../mmu/tdp_mmu_split.ts';
import type { SimVm } from '../sim_vm.ts';
import { op_vcpu_enter } from './vcpu.ts';
import { tdx_handle_ept_violation } from './fault.ts';

/** Guest retries of ACCEPT after KVM handled the exit it caused. */
const ACCEPT_ATTEMPTS_MAX = 4;

export function* op_accept(vm: SimVm, t: SimThread, gfn: number, level: number): Proc<string> {
  for (let attempt = 0; attempt < ACCEPT_ATTEMPTS_MAX; attempt++) {
    if (vm.ctx.vmBugged) return 'vm-dead';
    const entered = yield* enterGuest(vm, t);
    if (entered !== 'in-guest') return entered;
    const r = yield* tdcall_accept(vm, t, gfn, level);
    if (r.tdExit === null) return tdx_status_name(r.status);
    // The accept ended in an EPT-violation TD exit and KVM handles it (tdx_handle_ept_violation).
    // With huge pages ([V3] 13/24) it first honours the guest's accept level, splitting a larger
    // mapping; either way the fault path then maps the page, and the guest retries.
    if (vm.mmu.config.privateHugePages && r.tdExit.errLevel > pg_level_to_tdx_sept_level(level)) yield* tdx_honor_guest_accept_level(vm, t, gfn, level);
    yield* tdx_handle_ept_violation(vm, t, gfn, level, true);
  }
  return 'accept-retries-spent';
}

/**
 * KVM_RUN until the vCPU is in the guest: an entry KVM skips while wait_for_sept_zap is set
 * (EXIT_FASTPATH_EXIT_HANDLED) or a BUSY TDH.VP.ENTER only means "enter again". Returns
 * 'in-guest', or why the guest cannot run (the VM is dead, the TD is not runnable).
 */
function* enterGuest(vm: SimVm, t: SimThread): Proc<string> {
  while (!vm.td.vcpus[t.vcpu].inGuest) {
    const entered = yield* op_vcpu_enter(vm, t, false);
    if (entered === 'in-guest') break;
    if (entered !== 'EXIT_FASTPATH_EXIT_HANDLED' && !entered.startsWith('TDX_OPERAND_BUSY')) return entered;
    // Waiting for the other thread's zap: counts toward the scheduler's stall budget.
    yield SPIN;
  }
  return 'in-guest';
}

/** TDG.MEM.PAGE.ACCEPT as a `tdx` span: begin, the zeroing step under TDEL, end. */
function* tdcall_accept(vm: SimVm, t: SimThread, gfn: number, level: number): Proc<AcceptResult> {
  if (mustYieldStep()) yield STEP;
  const events = vm.ctx.events;
  events.begin(t.id, 'tdx', 'TDG.MEM.PAGE.ACCEPT', gfn, level);
  const rcx = page_info(gfn, pg_level_to_tdx_sept_level(level));
  let r = tdg_mem_page_accept_begin(vm.td, t.vcpu, rcx);
  if (r.inProgress) {
    // The guest zeroes the page while holding the entry lock: a host SEAMCALL may run here.
    if (mustYieldStep()) yield STEP;
    // A kick may have completed the accept already (kick_all_vcpus ends in-flight ACCEPTs).
    r = vm.td.vcpus[t.vcpu].accepting !== null ? tdg_mem_page_accept_end(vm.td, t.vcpu) : { status: TDX_SUCCESS, inProgress: false, tdExit: null };
  }
  const exit = r.tdExit;
  events.end(t.id, exit !== null ? 'EPT violation (TD exit)' : tdx_status_name(r.status), exit !== null ? `eeq=ACCEPT req_level=${exit.reqLevel} err_level=${exit.errLevel} err_state=${exit.errState}` : '');
  return r;
}

/** [V3] tdx_honor_guest_accept_level(): split the huge mapping to the guest's accept level. */
function* tdx_honor_guest_accept_level(vm: SimVm, t: SimThread, gfn: number, level: number): Proc<void> {
  const root = vm.mmu.validRoot(true);
  if (root === null) return;
  yield* write_lock(vm.ctx, vm.mmu.mmu_lock, t);
  yield* tdp_mmu_split_huge_pages_root(vm.mmu, t, root, gfn, gfn + 1, level === PG_LEVEL_4K ? PG_LEVEL_4K : level, false);
  yield* write_unlock(vm.ctx, vm.mmu.mmu_lock, t);
}
