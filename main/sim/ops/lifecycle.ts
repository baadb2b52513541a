// TD lifecycle operations: KVM_TDX_FINALIZE_VM, and VM destruction with its ordering rules
// (kernel-mmu.md 5.5, idea 7, H12, H13; tdx-module.md section 4 "TD lifecycle at teardown").
import { TDX_FLUSHVP_NOT_DONE, TDX_SUCCESS, tdx_status_name } from '../../../shared/tdx_status.ts';
import type { TeardownVariant } from '../../../shared/scenario.ts';
import { TDX_BUG_ON, WARN_ON_ONCE } from '../checks.ts';
import type { Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import { TDX_GLOBAL_KEYID, __tdx_reclaim_page, kvm_kick_all_vcpus, seamcall, tdx_clear_page, tdx_reclaim_page } from '../designs/kvm_tdx.ts';
import { KVM_FILTER_PRIVATE } from '../mmu/kvm_mmu.ts';
import { kvm_mmu_uninit_tdp_mmu } from '../mmu/tdp_mmu_zap.ts';
import { tdh_mr_finalize } from '../tdx/tdh_mr_finalize.ts';
import { tdh_vp_flush } from '../tdx/tdh_vp_flush.ts';
import { tdh_mng_vpflushdone } from '../tdx/tdh_mng_vpflushdone.ts';
import { tdh_phymem_cache_wb } from '../tdx/tdh_phymem_cache_wb.ts';
import { tdh_mng_key_freeid } from '../tdx/tdh_mng_key_freeid.ts';
import { tdh_phymem_page_wbinvd } from '../tdx/tdh_phymem_page_wbinvd.ts';
import type { SimVm } from '../sim_vm.ts';
import { gmem_truncate } from '../guest_memory.ts';
import { invalidateBegin, invalidateEnd } from './memory.ts';

/** `finalize`: KVM_TDX_FINALIZE_VM -> TDH.MR.FINALIZE; from now on KVM maps with AUG. */
export function* op_finalize(vm: SimVm, t: SimThread): Proc<string> {
  if (vm.kt.state === 'runnable') return '-EINVAL';
  const r = yield* seamcall(vm.kt, t, 'TDH.MR.FINALIZE', -1, 0, () => tdh_mr_finalize(vm.td));
  if (r.status !== TDX_SUCCESS) return tdx_status_name(r.status);
  vm.kt.state = 'runnable';
  return 'runnable';
}

/**
 * `teardown`: closing guest_memfd zaps the private leaves while the HKID is still assigned;
 * tdx_mmu_release_hkid() then flushes the vCPUs and frees the HKID; kvm_mmu_uninit_tdp_mmu()
 * zaps the (now empty) mirror tables, each reclaimed through the per-table hook; finally the
 * control pages are reclaimed, the TDR last. The two broken variants reorder these steps.
 */
export function* op_teardown(vm: SimVm, t: SimThread, variant: TeardownVariant): Proc<string> {
  if (variant !== 'no-gmem-close') yield* kvm_gmem_release(vm, t);
  if (variant === 'zap-roots-before-hkid') yield* kvm_mmu_uninit_tdp_mmu(vm.mmu, t);
  yield* tdx_mmu_release_hkid(vm, t);
  if (variant !== 'zap-roots-before-hkid') yield* kvm_mmu_uninit_tdp_mmu(vm.mmu, t);
  if (variant === 'no-gmem-close') yield* kvm_gmem_release(vm, t);
  yield* tdx_reclaim_td_control_pages(vm, t);
  return vm.ctx.vmBugged ? 'vm-bugged' : 'destroyed';
}

/**
 * guest_memfd release (kvm_gmem_release): invalidate every private mapping (begin, then end at
 * once: nothing is left to fault in), then give the pages back, as the file's last put does.
 */
function* kvm_gmem_release(vm: SimVm, t: SimThread): Proc<void> {
  vm.ctx.events.begin(t.id, 'mmu', 'kvm_gmem_release');
  for (const slot of vm.memory.slots) {
    if (!slot.slot.private) continue;
    yield* invalidateBegin(vm, t, { start: slot.slot.baseGfn, end: slot.slot.baseGfn + slot.slot.pages, attr_filter: KVM_FILTER_PRIVATE });
    yield* invalidateEnd(vm, t);
  }
  for (const slot of vm.memory.slots) {
    if (slot.slot.private) gmem_truncate(vm.host, slot, 0, slot.slot.pages);
  }
  vm.ctx.events.end(t.id);
}

/**
 * tdx_mmu_release_hkid() ([KX]): TDH.VP.FLUSH each vCPU, VPFLUSHDONE, CACHE.WB, KEY.FREEID.
 * Any failure stops it and the HKID stays assigned (leaked): FLUSHVP_NOT_DONE silently, a
 * VPFLUSHDONE or KEY.FREEID error with TDX_BUG_ON, a CACHE.WB error with TDX_BUG_ON(..., NULL),
 * which has no kvm to bug and only WARNs. The vCPUs are stopped first: by destroy time their fds
 * are released, so a vCPU the scenario left in the guest is made to exit here.
 */
function* tdx_mmu_release_hkid(vm: SimVm, t: SimThread): Proc<void> {
  vm.ctx.events.begin(t.id, 'mmu', 'tdx_mmu_release_hkid');
  yield* kvm_kick_all_vcpus(vm.kt, t);
  yield* release_hkid_steps(vm, t);
  vm.ctx.events.end(t.id);
}

function* release_hkid_steps(vm: SimVm, t: SimThread): Proc<void> {
  for (let v = 0; v < vm.td.vcpus.length; v++) {
    const r = yield* seamcall(vm.kt, t, 'TDH.VP.FLUSH', -1, 0, () => tdh_vp_flush(vm.td, v));
    TDX_BUG_ON(vm.ctx, t, r.status !== TDX_SUCCESS, 'TDH.VP.FLUSH', `vcpu${v} err=${tdx_status_name(r.status)}`);
  }
  const done = yield* seamcall(vm.kt, t, 'TDH.MNG.VPFLUSHDONE', -1, 0, () => tdh_mng_vpflushdone(vm.td));
  if (done.status === TDX_FLUSHVP_NOT_DONE) return;
  if (TDX_BUG_ON(vm.ctx, t, done.status !== TDX_SUCCESS, 'TDH.MNG.VPFLUSHDONE', `err=${tdx_status_name(done.status)}; HKID leaked`)) return;
  const wb = yield* seamcall(vm.kt, t, 'TDH.PHYMEM.CACHE.WB', -1, 0, () => tdh_phymem_cache_wb(vm.td));
  if (WARN_ON_ONCE(vm.ctx, t, wb.status !== TDX_SUCCESS, 'TDH.PHYMEM.CACHE.WB', `err=${tdx_status_name(wb.status)}; HKID leaked`)) return;
  const free = yield* seamcall(vm.kt, t, 'TDH.MNG.KEY.FREEID', -1, 0, () => tdh_mng_key_freeid(vm.td));
  TDX_BUG_ON(vm.ctx, t, free.status !== TDX_SUCCESS, 'TDH.MNG.KEY.FREEID', `err=${tdx_status_name(free.status)}; HKID leaked`);
}

/**
 * tdx_reclaim_td_control_pages() ([KX]): nothing while the HKID is still assigned (its release
 * failed: the pages leak). Else the TDVPR and TDCS pages, then the TDR, which needs CHLDCNT 0; the
 * TDR's cache lines are then written back with the global KeyID (TDH.PHYMEM.PAGE.WBINVD) before
 * it is cleared and freed.
 */
function* tdx_reclaim_td_control_pages(vm: SimVm, t: SimThread): Proc<void> {
  if (vm.kt.is_hkid_assigned()) return;
  vm.ctx.events.begin(t.id, 'mmu', 'tdx_reclaim_td_control_pages');
  const cfg = vm.td.config;
  for (const pfn of [...cfg.tdvprPfns, ...cfg.tdcsPfns]) {
    if (yield* tdx_reclaim_page(vm.kt, t, pfn, -1, 0)) vm.host.free(pfn);
  }
  yield* tdx_reclaim_tdr(vm, t, cfg.tdrPfn);
  vm.ctx.events.end(t.id);
}

/** The TDR: RECLAIM, then WBINVD with the global KeyID (TDX_BUG_ON on failure: leaked), clear, free. */
function* tdx_reclaim_tdr(vm: SimVm, t: SimThread, pfn: number): Proc<void> {
  if (!(yield* __tdx_reclaim_page(vm.kt, t, pfn, -1, 0))) return;
  const wb = yield* seamcall(vm.kt, t, 'TDH.PHYMEM.PAGE.WBINVD', -1, 0, () => tdh_phymem_page_wbinvd(vm.td, pfn * 4096, TDX_GLOBAL_KEYID));
  if (TDX_BUG_ON(vm.ctx, t, wb.status !== TDX_SUCCESS, 'TDH.PHYMEM.PAGE.WBINVD', `TDR err=${tdx_status_name(wb.status)}`)) return;
  tdx_clear_page(vm.kt, t, pfn);
  vm.host.free(pfn);
}
