// kvm_make_all_cpus_request(kvm, KVM_REQ_OUTSIDE_GUEST_MODE): KVM's IPI that forces every vCPU
// out of guest mode and waits for the acknowledgements (tdx-module.md 3.3 step 3). After it,
// no vCPU is counted in any epoch, so every BLOCK stamped before the last TRACK is tracked.
//
// A vCPU in the middle of a guest ACCEPT is inside the module; the IPI is taken after the
// TDCALL completes, so the accept finishes first (an entry write) and then the vCPU exits. A
// vCPU still inside TDH.VP.ENTER likewise takes the IPI once the SEAMCALL has entered the guest
// (which releases a zero-step tree lock), and exits at once.
import { tdg_mem_page_accept_end } from './tdg_mem_page_accept.ts';
import type { Td } from './td.ts';
import { td_exit, tdh_vp_enter_guest } from './tdh_vp_enter.ts';

/** Kicks every vCPU in guest mode; returns how many left. Counted in td.stats. */
export function kick_all_vcpus(td: Td): number {
  let exited = 0;
  for (const vcpu of td.vcpus) {
    if (!vcpu.inGuest) continue;
    if (vcpu.accepting !== null) tdg_mem_page_accept_end(td, vcpu.index);
    tdh_vp_enter_guest(td, vcpu.index);
    td_exit(td, vcpu);
    exited++;
  }
  td.stats.kicks++;
  td.stats.vcpusKicked += exited;
  return exited;
}
