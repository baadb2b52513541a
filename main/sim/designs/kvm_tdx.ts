// KVM's TDX code that every design shares (arch/x86/kvm/vmx/tdx.c and the SEAMCALL wrappers in
// arch/x86/virt/vmx/tdx/tdx.c): the per-VM state KVM keeps (kvm_tdx), the SEAMCALL wrapper
// that makes each call one step and one event, tdh_do_no_vcpus(), tdx_track(), the vCPU kick,
// and page reclaim/clear. The per-design tdx_sept_* functions live in each design's file.
//
// Fault injection lives here, in front of the module: a forced status replaces the module's
// answer for the Nth call of a SEAMCALL and the module is not called, so its state is
// untouched (as if the module had failed the call before changing anything).
import { tdx_operand_busy, tdx_status_hex, tdx_status_name, tdx_status_parse, TDX_SUCCESS, TDX_SW_ERROR, type TdxStatus } from '../../../shared/tdx_status.ts';
import { KVM_PAGES_PER_HPAGE } from '../../../shared/spte.ts';
import type { Injection, SeamcallName } from '../../../shared/scenario.ts';
import { TDX_BUG_ON, WARN_ON_ONCE, lockdep_assert_held_write } from '../checks.ts';
import { countSeamcall } from '../metrics.ts';
import { EBUSY, EIO, STEP, mustYieldStep, type Proc } from '../proc.ts';
import type { SimContext } from '../sim_context.ts';
import type { SimThread } from '../sim_thread.ts';
import type { HostMemory } from '../host_memory.ts';
import type { KvmMmu } from '../mmu/kvm_mmu.ts';
import { OP_STATE_RUNNABLE, seamcallResult, td_hkid_assigned, type SeamcallResult, type Td } from '../tdx/td.ts';
import { tdh_mem_track } from '../tdx/tdh_mem_track.ts';
import { tdh_mem_page_aug } from '../tdx/tdh_mem_page_aug.ts';
import { tdh_mem_page_add } from '../tdx/tdh_mem_page_add.ts';
import { tdh_mem_sept_add } from '../tdx/tdh_mem_sept_add.ts';
import { tdh_mem_sept_remove } from '../tdx/tdh_mem_sept_remove.ts';
import { tdh_mem_range_block } from '../tdx/tdh_mem_range_block.ts';
import { tdh_mem_page_remove } from '../tdx/tdh_mem_page_remove.ts';
import { tdh_mem_page_demote } from '../tdx/tdh_mem_page_demote.ts';
import { tdh_phymem_page_wbinvd } from '../tdx/tdh_phymem_page_wbinvd.ts';
import { page_info } from '../tdx/helpers.ts';
import { tdh_phymem_page_reclaim } from '../tdx/tdh_phymem_page_reclaim.ts';
import { kick_all_vcpus, tdh_vp_enter_begin, tdh_vp_enter_guest } from '../tdx/tdh_vp_enter.ts';
import { EventString, type EventText } from '../event_sink.ts';

/** kvm_tdx->state as KVM tracks it (TD_STATE_INITIALIZED until KVM_TDX_FINALIZE_VM). */
export type KvmTdState = 'initialized' | 'runnable';

export interface KvmTdxOptions {
  injections: readonly Injection[];
  /**
   * A hypothetical KVM that removes page tables while the TD runs (kernel-mmu.md H20): the
   * per-table hook issues BLOCK, TRACK and SEPT.REMOVE for the parent entry after all children
   * are gone. Off = mainline: freeing an S-EPT page with the HKID assigned is a KVM_BUG_ON
   * and the page is leaked.
   */
  runtimeTableRemoval: boolean;
}

/** The KVM side of one TD for one run. `mmu` is set once the MMU exists (it needs the ops). */
export class KvmTdx {
  readonly ctx: SimContext;
  readonly td: Td;
  readonly host: HostMemory;
  readonly options: KvmTdxOptions;
  mmu!: KvmMmu;
  state: KvmTdState;
  /** SEAMCALL calls so far, by name, for fault injection's `nth`. */
  readonly #calls = new Map<string, number>();
  readonly #forced = new Map<string, { from: number; to: number; status: TdxStatus }[]>();

  constructor(ctx: SimContext, td: Td, host: HostMemory, state: KvmTdState, options: KvmTdxOptions) {
    this.ctx = ctx;
    this.td = td;
    this.host = host;
    this.state = state;
    this.options = options;
    for (const inj of options.injections) {
      const status = tdx_status_parse(inj.status);
      if (status === null) continue; // the scenario validator refuses unknown names first
      const list = this.#forced.get(inj.seamcall) ?? [];
      list.push({ from: inj.nth, to: inj.nth + inj.times - 1, status });
      this.#forced.set(inj.seamcall, list);
    }
  }

  /** Counts a call of `name` and returns the injected status for it, if any. */
  nextForcedStatus(name: string): TdxStatus | null {
    // The call count only serves injections: a run without any need not keep it.
    if (this.#forced.size === 0) return null;
    const n = (this.#calls.get(name) ?? 0) + 1;
    this.#calls.set(name, n);
    const list = this.#forced.get(name);
    if (list === undefined) return null;
    for (const f of list) if (n >= f.from && n <= f.to) return f.status;
    return null;
  }

  /** is_hkid_assigned(kvm_tdx): the HKID is freed by TDH.MNG.KEY.FREEID at teardown. */
  is_hkid_assigned(): boolean {
    return td_hkid_assigned(this.td);
  }
}

/** pg_level_to_tdx_sept_level(): the TDX module counts levels from 0 (4K). */
export function pg_level_to_tdx_sept_level(level: number): number {
  return level - 1;
}

/**
 * One SEAMCALL: a step point (another CPU's SEAMCALL, a TD entry or a guest TDCALL can run
 * between two of ours), then one `tdx` span whose children are the S-EPT entry writes the call
 * made, closed with the status name and the raw outputs.
 */
export function* seamcall(kt: KvmTdx, t: SimThread, name: SeamcallName | 'TDH.VP.FLUSH' | 'TDH.PHYMEM.CACHE.WB' | 'TDH.MR.FINALIZE', gfn: number, level: number, call: () => SeamcallResult): Proc<SeamcallResult> {
  if (mustYieldStep()) yield STEP;
  const forced = seamcallOpen(kt, t, name, gfn, level);
  const r = forced !== null ? seamcallResult(forced) : call();
  seamcallClose(kt, t, name, r, forced);
  return r;
}

type SeamcallSpanName = Parameters<typeof seamcall>[2];

/** seamcall() after its step point: opens the span; the status a test forces on this call, or null. */
function seamcallOpen(kt: KvmTdx, t: SimThread, name: SeamcallSpanName, gfn: number, level: number, text: EventText = name): TdxStatus | null {
  kt.ctx.events.begin(t.id, 'tdx', text, gfn, level);
  return kt.nextForcedStatus(name);
}

/** seamcall()'s end: counts the call and closes its span with the status and raw outputs. */
function seamcallClose(kt: KvmTdx, t: SimThread, name: SeamcallSpanName, r: SeamcallResult, forced: TdxStatus | null): void {
  if (forced === null && r.status === TDX_SUCCESS) {
    // The common case, with its texts made once.
    countSeamcall(kt.ctx.metrics, name, SUCCESS_STATUS_EVENT.text);
    kt.ctx.events.end(t.id, SUCCESS_STATUS_EVENT, SUCCESS_DETAIL_EVENT);
    return;
  }
  const statusName = tdx_status_name(r.status);
  countSeamcall(kt.ctx.metrics, name, statusName);
  kt.ctx.events.end(t.id, statusName, seamcallDetail(r, forced !== null));
}

/** The raw outputs of a SEAMCALL for its event: RAX, and RCX/RDX when it failed. */
function seamcallDetail(r: SeamcallResult, injected: boolean): string {
  return `rax=${tdx_status_hex(r.status)}${injected ? ' (injected)' : ''}` + (r.status !== TDX_SUCCESS ? ` rcx=0x${r.rcx.toString(16)} rdx=0x${r.rdx.toString(16)}` : '');
}

/** seamcallDetail of a plain TDX_SUCCESS, the common case, built once. */
const SUCCESS_DETAIL = seamcallDetail(seamcallResult(TDX_SUCCESS), false);
const SUCCESS_DETAIL_EVENT = new EventString(SUCCESS_DETAIL);
const SUCCESS_STATUS_EVENT = new EventString(tdx_status_name(TDX_SUCCESS));

/**
 * kvm_make_all_cpus_request(kvm, KVM_REQ_OUTSIDE_GUEST_MODE): every vCPU leaves guest mode and
 * KVM waits for the acknowledgements. In the model the IPIs land at once.
 */
export function* kvm_kick_all_vcpus(kt: KvmTdx, t: SimThread): Proc<void> {
  if (mustYieldStep()) yield STEP;
  kt.ctx.metrics.kicks++;
  const kicked = kick_all_vcpus(kt.td);
  kt.ctx.events.instant(t.id, 'tdx', 'KVM_REQ_OUTSIDE_GUEST_MODE', -1, 0, 'none', null, null, '', `${kicked} vCPU(s) left guest mode`);
}

/**
 * tdh_do_no_vcpus() ([B26]/[KX]): call; on TDX_OPERAND_BUSY keep vCPUs out of the guest
 * (wait_for_sept_zap), kick them all and call once more. The kernel says the retry "is
 * guaranteed to succeed, absent KVM and/or TDX-Module bugs": a second error goes back to the
 * caller, which TDX_BUG_ONs it.
 */
export function* tdh_do_no_vcpus(kt: KvmTdx, t: SimThread, name: SeamcallName, gfn: number, level: number, call: () => SeamcallResult): Proc<SeamcallResult> {
  lockdep_assert_held_write(kt.ctx, t, `tdh_do_no_vcpus(${name})`);
  const first = yield* seamcall(kt, t, name, gfn, level, call);
  if (!tdx_operand_busy(first.status)) return first;
  kt.ctx.metrics.retries++;
  kt.td.kvmWaitForSeptZap = true;
  yield* kvm_kick_all_vcpus(kt, t);
  const second = yield* seamcall(kt, t, name, gfn, level, call);
  kt.td.kvmWaitForSeptZap = false;
  return second;
}

/**
 * tdx_track(): bump the TD's TLB epoch and kick every vCPU, so none still runs with a
 * translation cached before the BLOCK. A no-op before the TD is runnable (no vCPU ever ran).
 * The whole sequence must be serialized, hence the write lock. Void, as in the kernel: a failed
 * TRACK is a TDX_BUG_ON, the kick still happens, and the caller goes on to its REMOVE or DEMOTE
 * (which the module then refuses, the TLB not being tracked).
 */
export function* tdx_track(kt: KvmTdx, t: SimThread): Proc<void> {
  if (kt.state !== 'runnable' || kt.td.opState !== OP_STATE_RUNNABLE) return;
  lockdep_assert_held_write(kt.ctx, t, 'tdx_track');
  const r = yield* tdh_do_no_vcpus(kt, t, 'TDH.MEM.TRACK', -1, 0, () => tdh_mem_track(kt.td));
  TDX_BUG_ON(kt.ctx, t, r.status !== TDX_SUCCESS, 'TDH.MEM.TRACK', () => `err=${tdx_status_name(r.status)}`);
  yield* kvm_kick_all_vcpus(kt, t);
}

/** tdx_global_keyid: the KeyID the module uses for its own pages (the TDR), never a TD's HKID. */
export const TDX_GLOBAL_KEYID = 31;

/**
 * __tdx_reclaim_page(): TDH.PHYMEM.PAGE.RECLAIM (no BUSY handling: nothing contends at
 * teardown). Returns false if the page must be leaked. A failure is TDX_BUG_ON_3(..., NULL):
 * with no kvm to bug it is only a WARN.
 */
export function* __tdx_reclaim_page(kt: KvmTdx, t: SimThread, pfn: number, gfn: number, level: number): Proc<boolean> {
  const r = yield* seamcall(kt, t, 'TDH.PHYMEM.PAGE.RECLAIM', gfn, level, () => tdh_phymem_page_reclaim(kt.td, pfn * 4096));
  return !WARN_ON_ONCE(kt.ctx, t, r.status !== TDX_SUCCESS, 'TDH.PHYMEM.PAGE.RECLAIM', () => `pfn=0x${pfn.toString(16)} err=${tdx_status_name(r.status)}`);
}

/** tdx_reclaim_page(): __tdx_reclaim_page, then clear the page. False if it must be leaked. */
export function* tdx_reclaim_page(kt: KvmTdx, t: SimThread, pfn: number, gfn: number, level: number): Proc<boolean> {
  if (!(yield* __tdx_reclaim_page(kt, t, pfn, gfn, level))) return false;
  tdx_clear_page(kt, t, pfn);
  return true;
}

/** tdx_clear_page() / tdx_quirk_reset_page(): MOVDIR64B zeroes the page before the host reuses it. */
export function tdx_clear_page(kt: KvmTdx, t: SimThread, pfn: number): void {
  kt.ctx.events.instant(t.id, 'tdx', 'tdx_quirk_reset_page', -1, 0, 'none', null, null, '', `pfn=0x${pfn.toString(16)}`);
}

/** True when TDX says the call failed only because something else held a lock. */
export { tdx_operand_busy };

// ---------------------------------------------------------------------------------------------
// SEAMCALL sequences KVM's tdx.c builds its hooks from. Each design's tdx_sept_* functions put
// their own sanity checks and dispatch in front of these. Return values follow the kernel: 0,
// -EBUSY (contention the fault path retries), -EIO (the VM is bugged).
// ---------------------------------------------------------------------------------------------

const PA = (pfn: number): number => pfn * 4096;

function tdxErr(kt: KvmTdx, r: SeamcallResult): string {
  return `err=${tdx_status_name(r.status)} entry=0x${r.rcx.toString(16)} level_state=0x${r.rdx.toString(16)} hkid=${kt.td.config.hkid}`;
}

/** The span name of every private fault's SEAMCALL, made once. */
const TDH_MEM_PAGE_AUG_TEXT = new EventString('TDH.MEM.PAGE.AUG');

/** tdx_mem_page_aug(): TDH.MEM.PAGE.AUG; BUSY is -EBUSY (the fault is retried), else TDX_BUG_ON_2. */
export function* tdx_mem_page_aug(kt: KvmTdx, t: SimThread, gfn: number, level: number, pfn: number): Proc<number> {
  const rcx = page_info(gfn, pg_level_to_tdx_sept_level(level));
  // seamcall() written out: one call per private fault, so no closure and no nested generator.
  if (mustYieldStep()) yield STEP;
  const forced = seamcallOpen(kt, t, 'TDH.MEM.PAGE.AUG', gfn, level, TDH_MEM_PAGE_AUG_TEXT);
  const r = forced !== null ? seamcallResult(forced) : tdh_mem_page_aug(kt.td, rcx, PA(pfn));
  seamcallClose(kt, t, 'TDH.MEM.PAGE.AUG', r, forced);
  if (tdx_operand_busy(r.status)) return -EBUSY;
  if (TDX_BUG_ON(kt.ctx, t, r.status !== TDX_SUCCESS, 'TDH.MEM.PAGE.AUG', () => tdxErr(kt, r))) return -EIO;
  return 0;
}

/**
 * TDH.VP.ENTER from tdx_vcpu_run(): the leaf up to the guest entry; then, while it holds the
 * zero-step tree lock, one more step before it enters the guest, in which another CPU's
 * SEAMCALL can get OPERAND_BUSY|SEPT_TREE. One `tdx` span over both. A kick in that step
 * completes the entry and exits the vCPU (kick_all_vcpus); the entry then has nothing left to do.
 */
export function* tdh_vp_enter(kt: KvmTdx, t: SimThread, vcpuIndex: number): Proc<SeamcallResult> {
  if (mustYieldStep()) yield STEP;
  const forced = seamcallOpen(kt, t, 'TDH.VP.ENTER', -1, 0);
  const r = forced !== null ? seamcallResult(forced) : tdh_vp_enter_begin(kt.td, vcpuIndex);
  const vcpu = kt.td.vcpus[vcpuIndex];
  if (vcpu.holdsSeptLock) {
    // Step point: the rest of the leaf (guest state restore) runs with the tree lock held.
    if (mustYieldStep()) yield STEP;
    if (vcpu.inGuest) tdh_vp_enter_guest(kt.td, vcpuIndex);
  }
  seamcallClose(kt, t, 'TDH.VP.ENTER', r, forced);
  return r;
}

/**
 * tdx_mem_page_add(): TDH.MEM.PAGE.ADD at build time (KVM_TDX_INIT_MEM_REGION), inside the
 * hook since kvm-x86 6b5b71ffabf9 so mirror and S-EPT stay in sync. The source page is a
 * shared page KVM pins; the model passes a fixed shared address.
 */
export function* tdx_mem_page_add(kt: KvmTdx, t: SimThread, gfn: number, level: number, pfn: number): Proc<number> {
  const rcx = page_info(gfn, pg_level_to_tdx_sept_level(level));
  const r = yield* seamcall(kt, t, 'TDH.MEM.PAGE.ADD', gfn, level, () => tdh_mem_page_add(kt.td, rcx, PA(pfn), PAGE_ADD_SOURCE_PA));
  if (tdx_operand_busy(r.status)) return -EBUSY;
  if (TDX_BUG_ON(kt.ctx, t, r.status !== TDX_SUCCESS, 'TDH.MEM.PAGE.ADD', () => tdxErr(kt, r))) return -EIO;
  return 0;
}

/** A shared source page for PAGE.ADD (R9 must carry a shared HKID; the model only checks alignment). */
const PAGE_ADD_SOURCE_PA = 0x1000;

/** TDH.MEM.SEPT.ADD of a new S-EPT page below the entry at `level`; BUSY is -EBUSY. */
export function* tdx_sept_add(kt: KvmTdx, t: SimThread, gfn: number, level: number, externalSptPfn: number): Proc<number> {
  const rcx = page_info(gfn, pg_level_to_tdx_sept_level(level));
  const r = yield* seamcall(kt, t, 'TDH.MEM.SEPT.ADD', gfn, level, () => tdh_mem_sept_add(kt.td, rcx, PA(externalSptPfn)));
  if (tdx_operand_busy(r.status)) return -EBUSY;
  if (TDX_BUG_ON(kt.ctx, t, r.status !== TDX_SUCCESS, 'TDH.MEM.SEPT.ADD', () => tdxErr(kt, r))) return -EIO;
  return 0;
}

/**
 * The leaf removal sequence of tdx_sept_remove_private_spte() ([B26]) /
 * tdx_sept_remove_leaf_spte() ([KX]): BLOCK, TRACK + kick, REMOVE, then WBINVD and clear every
 * 4K page. BLOCK and REMOVE go through tdh_do_no_vcpus. Returns false after a bug.
 */
export function* tdx_sept_zap_leaf(kt: KvmTdx, t: SimThread, gfn: number, level: number, pfn: number): Proc<boolean> {
  const rcx = page_info(gfn, pg_level_to_tdx_sept_level(level));
  const block = yield* tdh_do_no_vcpus(kt, t, 'TDH.MEM.RANGE.BLOCK', gfn, level, () => tdh_mem_range_block(kt.td, rcx));
  if (TDX_BUG_ON(kt.ctx, t, block.status !== TDX_SUCCESS, 'TDH.MEM.RANGE.BLOCK', () => tdxErr(kt, block))) return false;
  yield* tdx_track(kt, t);
  const remove = yield* tdh_do_no_vcpus(kt, t, 'TDH.MEM.PAGE.REMOVE', gfn, level, () => tdh_mem_page_remove(kt.td, rcx));
  if (TDX_BUG_ON(kt.ctx, t, remove.status !== TDX_SUCCESS, 'TDH.MEM.PAGE.REMOVE', () => tdxErr(kt, remove))) return false;
  return yield* tdx_wbinvd_and_clear(kt, t, gfn, pfn, KVM_PAGES_PER_HPAGE(level));
}

/** tdh_phymem_page_wbinvd_hkid() on each 4K page of a removed mapping, then clear it. */
export function* tdx_wbinvd_and_clear(kt: KvmTdx, t: SimThread, gfn: number, pfn: number, pages: number): Proc<boolean> {
  for (let i = 0; i < pages; i++) {
    const r = yield* seamcall(kt, t, 'TDH.PHYMEM.PAGE.WBINVD', gfn + i, 1, () => tdh_phymem_page_wbinvd(kt.td, PA(pfn + i), kt.td.config.hkid));
    if (TDX_BUG_ON(kt.ctx, t, r.status !== TDX_SUCCESS, 'TDH.PHYMEM.PAGE.WBINVD', () => tdxErr(kt, r))) return false;
  }
  tdx_clear_page(kt, t, pfn);
  return true;
}

/**
 * The split sequence of tdx_sept_split_private_spte() ([V3] 08/24, [V5]): BLOCK the 2M leaf,
 * TRACK + kick, DEMOTE into the new S-EPT page. No UNBLOCK is needed after DEMOTE. The kernel's
 * demote wrapper refuses (TDX_SW_ERROR) unless the module has ENHANCE_DEMOTE_INTERRUPTIBILITY,
 * because DEMOTE could otherwise return TDX_INTERRUPTED_RESTARTABLE forever (H9).
 */
export function* tdx_sept_demote(kt: KvmTdx, t: SimThread, gfn: number, level: number, newSeptPfn: number): Proc<boolean> {
  const rcx = page_info(gfn, pg_level_to_tdx_sept_level(level));
  const block = yield* tdh_do_no_vcpus(kt, t, 'TDH.MEM.RANGE.BLOCK', gfn, level, () => tdh_mem_range_block(kt.td, rcx));
  if (TDX_BUG_ON(kt.ctx, t, block.status !== TDX_SUCCESS, 'TDH.MEM.RANGE.BLOCK', () => tdxErr(kt, block))) return false;
  yield* tdx_track(kt, t);
  const demote = yield* tdh_do_no_vcpus(kt, t, 'TDH.MEM.PAGE.DEMOTE', gfn, level, () =>
    kt.td.config.enhanceDemoteInterruptibility ? tdh_mem_page_demote(kt.td, rcx, PA(newSeptPfn)) : seamcallResult(TDX_SW_ERROR),
  );
  return !TDX_BUG_ON(kt.ctx, t, demote.status !== TDX_SUCCESS, 'TDH.MEM.PAGE.DEMOTE', () => tdxErr(kt, demote));
}

/**
 * Removing an S-EPT page table while the TD runs: a path mainline KVM does not have
 * (kernel-mmu.md H20; tdx-module.md section 6 "zap a whole subtree"), offered under
 * `runtimeTableRemoval` to show where a design could put it. BLOCK the parent entry
 * (NL_BLOCKED), TRACK + kick, SEPT.REMOVE (all 512 children must already be FREE), then WBINVD
 * and clear the returned page. `level` is the level of the parent entry (the table's level + 1).
 */
export function* tdx_sept_remove_table(kt: KvmTdx, t: SimThread, gfn: number, level: number, septPfn: number): Proc<boolean> {
  const rcx = page_info(gfn, pg_level_to_tdx_sept_level(level));
  const block = yield* tdh_do_no_vcpus(kt, t, 'TDH.MEM.RANGE.BLOCK', gfn, level, () => tdh_mem_range_block(kt.td, rcx));
  if (TDX_BUG_ON(kt.ctx, t, block.status !== TDX_SUCCESS, 'TDH.MEM.RANGE.BLOCK', () => tdxErr(kt, block))) return false;
  yield* tdx_track(kt, t);
  const remove = yield* tdh_do_no_vcpus(kt, t, 'TDH.MEM.SEPT.REMOVE', gfn, level, () => tdh_mem_sept_remove(kt.td, rcx));
  if (TDX_BUG_ON(kt.ctx, t, remove.status !== TDX_SUCCESS, 'TDH.MEM.SEPT.REMOVE', () => tdxErr(kt, remove))) return false;
  return yield* tdx_wbinvd_and_clear(kt, t, gfn, septPfn, 1);
}
