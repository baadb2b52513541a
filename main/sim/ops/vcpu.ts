// vCPU guest entry and exit: KVM_RUN's tdx_vcpu_run() -> TDH.VP.ENTER, and the TD exit. While
// kvm_tdx->wait_for_sept_zap is set (tdh_do_no_vcpus is retrying a BUSY SEAMCALL), KVM does not
// enter the guest at all and returns EXIT_FASTPATH_EXIT_HANDLED ([M16] tdx_vcpu_run).
import { TDX_SUCCESS, tdx_status_name } from '../../../shared/tdx_status.ts';
import { STEP, mustYieldStep, type Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import { tdh_vp_enter } from '../designs/kvm_tdx.ts';
import { tdh_vp_enter_end } from '../tdx/tdh_vp_enter.ts';
import type { SimVm } from '../sim_vm.ts';

/** Enters guest mode (zero-step mitigation optional). Returns the outcome's name. */
export function* op_vcpu_enter(vm: SimVm, t: SimThread, zeroStep: boolean): Proc<string> {
  const vcpu = vm.td.vcpus[t.vcpu];
  if (vm.ctx.vmBugged) return 'vm-dead';
  if (vcpu.inGuest) return 'already-in-guest';
  if (vm.td.kvmWaitForSeptZap) return 'EXIT_FASTPATH_EXIT_HANDLED';
  // Under zero-step mitigation this entry takes the S-EPT tree lock for the end of the leaf.
  vcpu.zeroStepActive = zeroStep;
  const r = yield* tdh_vp_enter(vm.kt, t, t.vcpu);
  vcpu.zeroStepActive = false;
  if (r.status !== TDX_SUCCESS) return tdx_status_name(r.status);
  return vcpu.inGuest ? 'in-guest' : 'kicked';
}

/** A TD exit (the guest stops running, e.g. a halt or an interrupt). */
export function* op_vcpu_exit(vm: SimVm, t: SimThread): Proc<string> {
  if (mustYieldStep()) yield STEP;
  const vcpu = vm.td.vcpus[t.vcpu];
  if (!vcpu.inGuest) return 'not-in-guest';
  tdh_vp_enter_end(vm.td, t.vcpu);
  vm.ctx.events.instant(t.id, 'tdx', 'TD exit', -1, 0, 'none', null, null, '', `vcpu${t.vcpu}`);
  return 'exited';
}
