// The TD as the TDX module sees it: TDR/TDCS fields (lifecycle, OP_STATE, TD_EPOCH and its
// refcounts, CHLDCNT, features, locks), the per-vCPU TDVPS fields that matter for S-EPT (in
// guest, vcpu_epoch, zero-step mitigation), the Secure-EPT itself and, because a run has one TD,
// the module-global PAMT as well. Sources: tdx-module.md sections 1-4 and 7.1
// ([M] td_control_structures.h, tdx_tdvps.h, helpers.c).
//
// The S-EPT is a tree of 512-entry pages. Each entry keeps its state, the pfn it points to (the
// child S-EPT page or the guest page) and its lock flags (TDEL, TDHP) in parallel typed arrays;
// the architectural 64-bit value is built on demand (shared/sept.ts). Every change of an entry's
// value goes through sept_entry_write / sept_entry_set_lock, which call `onEntryWrite`, so the
// engine can record a complete `tree: 'sept'` event stream.
//
// Locks that a leaf takes and drops within its own (atomic) step never show in the entry value;
// only holders that span steps do (a guest ACCEPT's TDEL, and TDHP, which the host leaves set).
import { assert } from '../checks.ts';
import {
  SEPT_LOCK_TDEL, SEPT_STATE_FREE, SEPT_STATE_NL_BLOCKED, SEPT_STATE_NL_MAPPED, SEPTE_INIT_VALUE,
  sept_entry_value,
} from '../../../shared/sept.ts';
import { TDX_SUCCESS, type TdxStatus } from '../../../shared/tdx_status.ts';
import type { U64 } from '../../../shared/u64.ts';
import { newSharexLock, type SharexLock } from './tdx_locks.ts';
import { PT_TDCX, PT_TDR, PT_TDVPR, newPamt, pamt_assign, type Pamt } from './pamt.ts';
import { reciprocals, rem_pow2 } from '../int_rem.ts';

/** TDR lifecycle states. */
export const TD_HKID_ASSIGNED = 0;
export const TD_KEYS_CONFIGURED = 1;
export const TD_BLOCKED = 2;
export const TD_TEARDOWN = 3;

/** TDCS OP_STATE values that matter here (the rest are migration states). */
export const OP_STATE_UNINITIALIZED = 0;
export const OP_STATE_INITIALIZED = 1;
export const OP_STATE_RUNNABLE = 2;

/** 512^level: 4K pages (GFNs) covered by one entry at a TDX level. */
export const POW512: readonly number[] = [1, 512, 262144, 134217728, 68719476736];
/** 1 / POW512[level] (int_rem.ts: a multiply for the division). */
export const POW512_INV = reciprocals(POW512);

/** One 4K Secure-EPT page. */
export interface SeptPage {
  /** Host pfn of this page (for the root: the TDCS page at SEPT_ROOT_PAGE_INDEX). */
  readonly pfn: number;
  /** TDX level of the entries in this page (0 = PTEs). */
  readonly level: number;
  /** First GFN covered by this page. */
  readonly gfnBase: number;
  /** SEPT_STATE_* of each entry. */
  readonly state: Uint8Array;
  /** The pfn each entry points to (child page or guest page); 0 when FREE. */
  readonly target: Int32Array;
  /** SEPT_LOCK_TDEL / SEPT_LOCK_TDHP held across steps. */
  readonly lock: Uint8Array;
  /** The child page of each non-leaf entry, null otherwise. */
  readonly child: (SeptPage | null)[];
  /** Number of entries whose state is not FREE (SEPT.REMOVE needs 0). */
  populated: number;
}

export interface VcpuState {
  readonly index: number;
  /** pfn of the TDVPR page. */
  readonly tdvprPfn: number;
  /** Between tdh_vp_enter_begin and the TD exit: counted in its epoch. */
  inGuest: boolean;
  /** The TD_EPOCH adopted at the last entry; 0 before the first. */
  vcpuEpoch: number;
  /** Zero-step mitigation active: VP.ENTER takes the S-EPT tree lock exclusive (caller sets it). */
  zeroStepActive: boolean;
  /** Inside TDH.VP.ENTER under zero-step mitigation: holds the S-EPT tree lock exclusive until it enters the guest. */
  holdsSeptLock: boolean;
  /** Associated with an LP (cleared by TDH.VP.FLUSH, set by VP.ENTER). */
  associated: boolean;
  /** The entry whose TDEL a guest TDG.MEM.PAGE.ACCEPT holds, between begin and end. */
  accepting: { page: SeptPage; idx: number } | null;
}

export interface TdConfig {
  /** Paging levels: 4 or 5 (TDCS.EPTP.PWL + 1). */
  rootLevel: 4 | 5;
  /** TDR page pfn. */
  tdrPfn: number;
  /** TDCS page pfns; the S-EPT root is one of them (index 3, SEPT_ROOT_PAGE_INDEX). */
  tdcsPfns: number[];
  /** One TDVPR page pfn per vCPU. */
  tdvprPfns: number[];
  hkid: number;
  /** TDX_FEATURES0 bit 51: DEMOTE never returns TDX_INTERRUPTED_RESTARTABLE. */
  enhanceDemoteInterruptibility: boolean;
  /** First pfn outside the (single) TDMR: HPAs at or above it are OPERAND_ADDR_RANGE_ERROR. */
  tdmrPfnEnd: number;
}

export const SEPT_ROOT_PAGE_INDEX = 3;

export type OnEntryWrite = (gfn: number, pgLevel: number, oldValue: U64, newValue: U64) => void;

export interface Td {
  readonly config: TdConfig;
  lifecycle: number;
  opState: number;
  fatal: boolean;
  /** TDCS.TD_EPOCH, 1 after TDH.MNG.INIT. */
  tdEpoch: number;
  /** TDCS.refcount[2]: vCPUs in guest mode, indexed by the parity of the epoch they entered in. */
  readonly refcount: [number, number];
  /** TDR.CHLDCNT: 4K pages owned by the TD (TDCS, TDVPR, S-EPT, guest pages), TDR excluded. */
  chldcnt: number;
  readonly vcpus: VcpuState[];
  readonly root: SeptPage;
  readonly pamt: Pamt;
  /** TDR PAMT entry lock; PAGE.ADD takes it exclusive in place of the tree lock. */
  readonly tdrLock: SharexLock;
  /** TDCS.op_state_lock (host-priority in the module; no holder spans steps here). */
  readonly opStateLock: SharexLock;
  /** TDCS.secure_ept_lock: the S-EPT tree lock. */
  readonly septLock: SharexLock;
  /** TDCS epoch lock: TRACK exclusive, VP.ENTER shared for a moment. */
  readonly epochLock: SharexLock;
  /** TDH.PHYMEM.CACHE.WB completed since the TD became TD_BLOCKED. */
  wbcacheDone: boolean;
  /** A host interrupt is pending: DEMOTE (without feature bit 51) and PROMOTE stop RESTARTABLE. */
  hostInterruptPending: boolean;
  /**
   * KVM state, not module state: kvm_tdx->wait_for_sept_zap. While set, KVM's tdx_vcpu_run
   * does not call TDH.VP.ENTER. Kept here so tdh_vp_enter_begin callers find it; no leaf reads it.
   */
  kvmWaitForSeptZap: boolean;
  /** 4K pfns removed from the TD whose cache lines may still be dirty under the TD's key. */
  readonly cacheDirty: Set<number>;
  /** Counters for metrics. */
  readonly stats: { kicks: number; vcpusKicked: number; tlbFlushes: number };
  /** Called for every change of an entry's architectural value (see the file comment). */
  onEntryWrite: OnEntryWrite | null;
}

/** A SEAMCALL's outputs: RAX (status) and the registers the leaf defines; 0 when unused. */
export interface SeamcallResult {
  status: TdxStatus;
  rcx: number;
  rdx: number;
  r8: number;
}

/**
 * The plain TDX_SUCCESS result, shared: most SEAMCALLs of a run end so and nothing writes a
 * result after the leaf returns it (frozen, so a write would throw rather than change them all).
 */
const SEAMCALL_SUCCESS: SeamcallResult = Object.freeze({ status: TDX_SUCCESS, rcx: 0, rdx: 0, r8: 0 });

export function seamcallResult(status: TdxStatus, rcx = 0, rdx = 0, r8 = 0): SeamcallResult {
  if (status === TDX_SUCCESS && rcx === 0 && rdx === 0 && r8 === 0) return SEAMCALL_SUCCESS;
  return { status, rcx, rdx, r8 };
}

export function newSeptPage(pfn: number, level: number, gfnBase: number): SeptPage {
  return {
    pfn, level, gfnBase,
    state: new Uint8Array(512), target: new Int32Array(512), lock: new Uint8Array(512),
    child: new Array<SeptPage | null>(512).fill(null), populated: 0,
  };
}

/** Default configuration: 4-level EPT, two vCPUs, small fixed control-page pfns. */
export function defaultTdConfig(): TdConfig {
  return {
    rootLevel: 4, tdrPfn: 0x10, tdcsPfns: [0x11, 0x12, 0x13, 0x14], tdvprPfns: [0x20, 0x21],
    hkid: 5, enhanceDemoteInterruptibility: true, tdmrPfnEnd: 2 ** 27,
  };
}

/**
 * A TD right after TDH.MNG.INIT and TDH.VP.INIT: keys configured, OP_STATE INITIALIZED, TD_EPOCH
 * 1, the TDR/TDCS/TDVPR pages assigned in the PAMT and counted in CHLDCNT, an empty S-EPT root.
 */
export function createTd(config: TdConfig = defaultTdConfig()): Td {
  assert(config.tdcsPfns.length > SEPT_ROOT_PAGE_INDEX, 'createTd: too few TDCS pages');
  const pamt = newPamt();
  pamt_assign(pamt, config.tdrPfn, 0, PT_TDR, config.tdrPfn);
  for (const pfn of config.tdcsPfns) pamt_assign(pamt, pfn, 0, PT_TDCX, config.tdrPfn);
  for (const pfn of config.tdvprPfns) pamt_assign(pamt, pfn, 0, PT_TDVPR, config.tdrPfn);
  const root = newSeptPage(config.tdcsPfns[SEPT_ROOT_PAGE_INDEX], config.rootLevel - 1, 0);
  return {
    config, lifecycle: TD_KEYS_CONFIGURED, opState: OP_STATE_INITIALIZED, fatal: false,
    tdEpoch: 1, refcount: [0, 0], chldcnt: config.tdcsPfns.length + config.tdvprPfns.length,
    vcpus: config.tdvprPfns.map((tdvprPfn, index) => newVcpu(index, tdvprPfn)),
    root, pamt,
    tdrLock: newSharexLock(), opStateLock: newSharexLock(), septLock: newSharexLock(), epochLock: newSharexLock(),
    wbcacheDone: false, hostInterruptPending: false, kvmWaitForSeptZap: false,
    cacheDirty: new Set(), stats: { kicks: 0, vcpusKicked: 0, tlbFlushes: 0 }, onEntryWrite: null,
  };
}

function newVcpu(index: number, tdvprPfn: number): VcpuState {
  return {
    index, tdvprPfn, inGuest: false, vcpuEpoch: 0, zeroStepActive: false, holdsSeptLock: false,
    associated: false, accepting: null,
  };
}

/** The TDX level of the root page's entries (TDCS.EPTP.PWL). */
export function td_max_level(td: Td): number {
  return td.config.rootLevel - 1;
}

/** KVM's is_hkid_assigned(): the HKID is released by TDH.MNG.KEY.FREEID. */
export function td_hkid_assigned(td: Td): boolean {
  return td.lifecycle !== TD_TEARDOWN;
}

/** Index of the entry covering `gfn` in a page whose entries are at `level`. */
export function sept_index(gfn: number, level: number): number {
  return rem_pow2(Math.floor(gfn * POW512_INV[level]), 512);
}

/** The first GFN an entry covers. */
export function sept_entry_gfn(page: SeptPage, idx: number): number {
  return page.gfnBase + idx * POW512[page.level];
}

/** The architectural value of one entry. */
export function sept_entry_get(page: SeptPage, idx: number): U64 {
  return sept_entry_value(page.state[idx], page.target[idx], page.lock[idx]);
}

/**
 * Writes an entry's state and target (and child page for a non-leaf), keeps `populated`, and
 * reports the change. Lock flags are kept.
 */
export function sept_entry_write(td: Td, page: SeptPage, idx: number, state: number, target: number, child: SeptPage | null): void {
  const oldValue = td.onEntryWrite === null ? 0 : sept_entry_get(page, idx);
  const wasFree = page.state[idx] === SEPT_STATE_FREE;
  const isNonLeaf = state === SEPT_STATE_NL_MAPPED || state === SEPT_STATE_NL_BLOCKED;
  assert(isNonLeaf === (child !== null), 'sept_entry_write: child page iff non-leaf');
  page.state[idx] = state;
  page.target[idx] = state === SEPT_STATE_FREE ? 0 : target;
  page.child[idx] = child;
  page.populated += (wasFree ? 0 : -1) + (state === SEPT_STATE_FREE ? 0 : 1);
  if (td.onEntryWrite !== null) notify(td, page, idx, oldValue);
}

/** Sets an entry's lock flags (TDEL/TDHP) and reports the change, if any. */
export function sept_entry_set_lock(td: Td, page: SeptPage, idx: number, flags: number): void {
  if (page.lock[idx] === flags) return;
  const oldValue = td.onEntryWrite === null ? 0 : sept_entry_get(page, idx);
  page.lock[idx] = flags;
  if (td.onEntryWrite !== null) notify(td, page, idx, oldValue);
}

/** Reports that every non-initial entry of a page disappears with the page (SEPT.REMOVE, PROMOTE). */
export function sept_page_report_dropped(td: Td, page: SeptPage): void {
  const cb = td.onEntryWrite;
  if (cb === null) return;
  for (let i = 0; i < 512; i++) {
    const v = sept_entry_get(page, i);
    if (v !== SEPTE_INIT_VALUE) cb(sept_entry_gfn(page, i), page.level + 1, v, SEPTE_INIT_VALUE);
  }
}

function notify(td: Td, page: SeptPage, idx: number, oldValue: U64): void {
  const newValue = sept_entry_get(page, idx);
  if (newValue !== oldValue) td.onEntryWrite!(sept_entry_gfn(page, idx), page.level + 1, oldValue, newValue);
}

/** True while some vCPU's guest ACCEPT holds the entry's TDEL. */
export function sept_entry_guest_locked(page: SeptPage, idx: number): boolean {
  return (page.lock[idx] & SEPT_LOCK_TDEL) !== 0;
}
