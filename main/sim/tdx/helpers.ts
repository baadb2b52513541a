// The common prologue of the S-EPT leaves and the checks they share, in the module's order
// (tdx-module.md section 2 "Common prologue" and 0.2; [M] src/common/helpers/helpers.c
// check_lock_and_map_explicit_tdr, check_state_map_tdcs_and_lock, verify_page_info_input,
// lock_sept_check_and_walk_private_gpa; sept_manager.c set_arch_septe_details_in_vmm_regs).
//
// Locks are flags in a LeafLocks object; each leaf's one `finally` calls release_leaf_locks, which
// drops them in reverse order, as the module's EXIT: label does. The host's own entry lock (TDEL)
// lives only inside the leaf's atomic step, so it is a flag here and never shows in an entry's
// value; what does persist is the module's documented side effect on the lock word: a failed host
// lock sets TDHP, a successful one clears it.
import {
  SEPT_LOCK_TDHP, SEPT_STATE_BLOCKED, SEPT_STATE_BLOCKEDW, SEPT_STATE_MAPPED, SEPT_STATE_NL_BLOCKED,
  SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING, SEPT_STATE_PENDING_BLOCKED, SEPT_STATE_PENDING_BLOCKEDW,
  sept_arch_view, sept_level_state, sept_state_is_any_blocked, sept_state_is_leaf,
} from '../../../shared/sept.ts';
import { assert } from '../checks.ts';
import {
  OPERAND_ID_OP_STATE, OPERAND_ID_RCX, OPERAND_ID_SEPT_TREE, TDX_EPT_WALK_FAILED, TDX_OPERAND_ADDR_RANGE_ERROR,
  TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_OP_STATE_INCORRECT, TDX_PAGE_METADATA_INCORRECT, TDX_SUCCESS,
  TDX_TD_FATAL, TDX_TD_KEYS_NOT_CONFIGURED, TDX_GPA_RANGE_NOT_BLOCKED, TDX_TLB_TRACKING_NOT_DONE,
  api_error_with_operand_id, type TdxStatus,
} from '../../../shared/tdx_status.ts';
import { PAGES_PER_SIZE, PAGES_PER_SIZE_INV, PT_TDR, pamt_get, pamt_is_range_free, type PamtEntry } from './pamt.ts';
import {
  op_state_is_seamcall_allowed, op_state_is_tlb_tracking_required, sept_state_is_tlb_tracking_required,
} from './sept_state_lookup.ts';
import { is_tlb_tracked } from './tlb_tracking.ts';
import { secure_ept_walk, type SeptWalk } from './sept_walk.ts';
import {
  POW512, POW512_INV, TD_KEYS_CONFIGURED, seamcallResult, sept_entry_guest_locked, sept_entry_set_lock,
  type SeamcallResult, type SeptPage, type Td,
} from './td.ts';
import {
  LOCK_RET_SUCCESS, TDX_LOCK_SHARED, acquire_sharex_lock, acquire_sharex_lock_sh, release_sharex_lock,
  release_sharex_lock_sh, type LockType,
} from './tdx_locks.ts';
import { rem_pow2, rem_pow2_inv } from '../int_rem.ts';

const NO_LOCK = -1;

/** The locks a leaf holds, as flags; released by release_leaf_locks in reverse order. */
export interface LeafLocks {
  /** TDR PAMT entry lock type, or -1. */
  tdr: LockType | typeof NO_LOCK;
  opState: boolean;
  /** S-EPT tree lock type, or -1. */
  sept: LockType | typeof NO_LOCK;
  /** The host's entry lock (TDEL within the step): the entry's page, or null. */
  entryPage: SeptPage | null;
  /** ... and its index in entryPage (-1 with no entry lock). */
  entryIdx: number;
  /** TD epoch lock held exclusive (TRACK). */
  epochEx: boolean;
}

export function newLeafLocks(): LeafLocks {
  return { tdr: NO_LOCK, opState: false, sept: NO_LOCK, entryPage: null, entryIdx: -1, epochEx: false };
}

/** The EXIT: block: entry lock, epoch lock, tree lock, OP_STATE lock, TDR lock. */
export function release_leaf_locks(td: Td, locks: LeafLocks): void {
  // sept_lock_release: the host's TDEL never left the step.
  locks.entryPage = null;
  locks.entryIdx = -1;
  if (locks.epochEx) release_sharex_lock(td.epochLock, 1);
  if (locks.sept !== NO_LOCK) release_sharex_lock(td.septLock, locks.sept);
  if (locks.opState) release_sharex_lock_sh(td.opStateLock);
  if (locks.tdr !== NO_LOCK) release_sharex_lock(td.tdrLock, locks.tdr);
  locks.epochEx = false;
  locks.sept = NO_LOCK;
  locks.opState = false;
  locks.tdr = NO_LOCK;
}

/**
 * check_lock_and_map_explicit_tdr: the TDR page must still be a TDR in the PAMT (it is not after
 * its own RECLAIM), and its PAMT lock must be free for `type`.
 */
export function check_lock_and_map_explicit_tdr(td: Td, operandId: number, type: LockType, locks: LeafLocks): TdxStatus {
  const e = pamt_get(td.pamt, td.config.tdrPfn, 0);
  if (e === undefined || e.pt !== PT_TDR) return api_error_with_operand_id(TDX_PAGE_METADATA_INCORRECT, operandId);
  if (acquire_sharex_lock(td.tdrLock, type) !== LOCK_RET_SUCCESS) return api_error_with_operand_id(TDX_OPERAND_BUSY, operandId);
  locks.tdr = type;
  return TDX_SUCCESS;
}

/**
 * check_state_map_tdcs_and_lock: not FATAL, lifecycle TD_KEYS_CONFIGURED (TD_BLOCKED after
 * VPFLUSHDONE fails here), OP_STATE lock shared, OP_STATE allowed for the leaf.
 */
export function check_state_map_tdcs_and_lock(td: Td, leaf: number, locks: LeafLocks): TdxStatus {
  if (td.fatal) return TDX_TD_FATAL;
  if (td.lifecycle !== TD_KEYS_CONFIGURED) return TDX_TD_KEYS_NOT_CONFIGURED;
  if (acquire_sharex_lock_sh(td.opStateLock) !== LOCK_RET_SUCCESS) {
    return api_error_with_operand_id(TDX_OPERAND_BUSY, OPERAND_ID_OP_STATE);
  }
  locks.opState = true;
  if (!op_state_is_seamcall_allowed(leaf, td.opState)) return TDX_OP_STATE_INCORRECT;
  return TDX_SUCCESS;
}

/** Steps 1-4 of the prologue: TDR (operand `tdrOperandId`), TD state, OP_STATE. */
export function seamcall_prologue(td: Td, leaf: number, tdrOperandId: number, tdrLockType: LockType, locks: LeafLocks): TdxStatus {
  const status = check_lock_and_map_explicit_tdr(td, tdrOperandId, tdrLockType, locks);
  if (status !== TDX_SUCCESS) return status;
  return check_state_map_tdcs_and_lock(td, leaf, locks);
}

/** The TDX level in a GPA|level operand (bits 2:0). */
export function page_info_level(rcx: number): number {
  return rem_pow2(rcx, 8);
}

/** The GFN in a GPA|level operand (bits 51:12). */
export function page_info_gfn(rcx: number): number {
  return Math.floor(rcx / 4096);
}

/** Packs a GFN and TDX level as RCX: GPA | level. */
export function page_info(gfn: number, tdxLevel: number): number {
  return gfn * 4096 + tdxLevel;
}

/**
 * verify_page_info_input: reserved bits 11:3 and 63:52 zero, minLevel <= level <= maxLevel, and
 * the GPA aligned to the size the level covers.
 */
export function verify_page_info_input(rcx: number, minLevel: number, maxLevel: number): boolean {
  if (!Number.isSafeInteger(rcx) || rcx < 0 || rcx >= 2 ** 52) return false;
  if (rem_pow2(Math.floor(rcx / 8), 512) !== 0) return false;
  const level = page_info_level(rcx);
  if (level < minLevel || level > maxLevel) return false;
  return rem_pow2_inv(page_info_gfn(rcx), POW512[level], POW512_INV[level]) === 0;
}

/**
 * check_gpa_validity for a private GPA: the shared bit (GPAW-1: bit 47 for 4-level EPT, bit 51 for
 * 5-level, as KVM picks GPAW 52 only with 5-level) and everything above it must be clear.
 */
export function gpa_is_valid_private(td: Td, gfn: number): boolean {
  return gfn < (td.config.rootLevel === 5 ? GFN_LIMIT_GPAW52 : GFN_LIMIT_GPAW48);
}

/** First GFN with the shared bit set: GPA bit 47 (GPAW 48) or bit 51 (GPAW 52). */
const GFN_LIMIT_GPAW48 = 2 ** (47 - 12);
const GFN_LIMIT_GPAW52 = 2 ** (51 - 12);

/** An S-EPT error with RCX = the entry's architectural view and RDX = level | public state. */
export function sept_error(status: TdxStatus, page: SeptPage, idx: number, level: number): SeamcallResult {
  const state = page.state[idx];
  return seamcallResult(status, sept_arch_view(state, page.target[idx]), sept_level_state(level, state));
}

/**
 * Steps 5-9 of the prologue for a leaf with a GPA|level operand in RCX: operand checks, tree
 * lock (`treeLock`, or null for none), walk to the level, then (if `entryLock`) the host entry
 * lock. Returns the walk on success, or the failing result (with RCX/RDX details where the
 * module gives them). Locks taken are in `locks`.
 */
export function lock_sept_check_and_walk(
  td: Td, rcx: number, minLevel: number, maxLevel: number, treeLock: LockType | null, entryLock: boolean, locks: LeafLocks,
): SeptWalk | SeamcallResult {
  if (!verify_page_info_input(rcx, minLevel, maxLevel)) return seamcallResult(api_error_with_operand_id(TDX_OPERAND_INVALID, OPERAND_ID_RCX));
  const gfn = page_info_gfn(rcx);
  if (!gpa_is_valid_private(td, gfn)) return seamcallResult(api_error_with_operand_id(TDX_OPERAND_INVALID, OPERAND_ID_RCX));
  if (treeLock !== null) {
    if (acquire_sharex_lock(td.septLock, treeLock) !== LOCK_RET_SUCCESS) {
      return seamcallResult(api_error_with_operand_id(TDX_OPERAND_BUSY, OPERAND_ID_SEPT_TREE));
    }
    locks.sept = treeLock;
  }
  const walk = secure_ept_walk(td, gfn, page_info_level(rcx));
  if (!walk.reached) return sept_error(api_error_with_operand_id(TDX_EPT_WALK_FAILED, OPERAND_ID_RCX), walk.page, walk.idx, walk.level);
  if (entryLock) {
    const busy = sept_lock_acquire_host(td, walk.page, walk.idx, locks);
    if (busy !== null) return busy;
  }
  return walk;
}

/**
 * sept_lock_acquire_host: a try-lock on TDEL. If a guest holds it, set TDHP (the guest backs off
 * next time) and return OPERAND_BUSY|RCX with the entry details; else take it and clear TDHP.
 */
export function sept_lock_acquire_host(td: Td, page: SeptPage, idx: number, locks: LeafLocks): SeamcallResult | null {
  if (sept_entry_guest_locked(page, idx)) {
    sept_entry_set_lock(td, page, idx, page.lock[idx] | SEPT_LOCK_TDHP);
    return sept_error(api_error_with_operand_id(TDX_OPERAND_BUSY, OPERAND_ID_RCX), page, idx, page.level);
  }
  sept_entry_set_lock(td, page, idx, page.lock[idx] & ~SEPT_LOCK_TDHP);
  locks.entryPage = page;
  locks.entryIdx = idx;
  return null;
}

/**
 * check_and_lock_free_range_hpa / check_and_lock_explicit_4k_private_hpa with PT_NDA: the page
 * of `size` at `hpa` is aligned, has no HKID bits (we treat HPAs at or above 2^40, the simulated
 * MAX_PA, as carrying them), lies in the TDMR and is free in the PAMT.
 */
export function check_free_hpa(td: Td, hpa: number, operandId: number, size: number): TdxStatus {
  // Aligned to the size: a 4K-aligned address whose page number is a multiple of the size's page
  // count (a multiply by its reciprocal, not a division by a table entry: int_rem.ts).
  const aligned = rem_pow2(hpa, 4096) === 0 && rem_pow2_inv(hpa / 4096, PAGES_PER_SIZE[size], PAGES_PER_SIZE_INV[size]) === 0;
  if (!Number.isSafeInteger(hpa) || hpa < 0 || !aligned || hpa >= 2 ** 40) {
    return api_error_with_operand_id(TDX_OPERAND_INVALID, operandId);
  }
  const pfn = hpa / 4096;
  if (pfn + PAGES_PER_SIZE[size] > td.config.tdmrPfnEnd) return api_error_with_operand_id(TDX_OPERAND_ADDR_RANGE_ERROR, operandId);
  if (!pamt_is_range_free(td.pamt, pfn, size)) return api_error_with_operand_id(TDX_PAGE_METADATA_INCORRECT, operandId);
  return TDX_SUCCESS;
}

/** Re-export for leaves that use the shared lock type constant. */
export { TDX_LOCK_SHARED };

/**
 * The PAMT entry of the page an entry points to, where RANGE.BLOCK stamps BEPOCH and the tracking
 * checks read it: for a leaf, the guest page's entry at the leaf's size; for a non-leaf, the
 * child S-EPT page's 4K entry.
 */
export function sept_entry_target_pamt(td: Td, page: SeptPage, idx: number): PamtEntry {
  const e = pamt_get(td.pamt, page.target[idx], sept_entry_target_size(page, idx));
  assert(e !== undefined, () => `sept_entry_target_pamt: no PAMT entry for pfn ${page.target[idx]}`);
  return e;
}

/** The PAMT page size of what an S-EPT entry points at: its own level for a leaf, 4K for a table. */
export function sept_entry_target_size(page: SeptPage, idx: number): number {
  return sept_state_is_leaf(page.state[idx]) ? page.level : 0;
}

/** The state RANGE.BLOCK moves an entry to (sept_block). */
export function sept_state_blocked(state: number): number {
  switch (state) {
    case SEPT_STATE_NL_MAPPED: return SEPT_STATE_NL_BLOCKED;
    case SEPT_STATE_MAPPED:
    case SEPT_STATE_BLOCKEDW: return SEPT_STATE_BLOCKED;
    case SEPT_STATE_PENDING:
    case SEPT_STATE_PENDING_BLOCKEDW: return SEPT_STATE_PENDING_BLOCKED;
    default: throw new Error(`sept_state_blocked: state ${state}`);
  }
}

/** The state RANGE.UNBLOCK, DEMOTE and PROMOTE give a blocked entry (sept_unblock). */
export function sept_state_unblocked(state: number): number {
  switch (state) {
    case SEPT_STATE_NL_BLOCKED: return SEPT_STATE_NL_MAPPED;
    case SEPT_STATE_BLOCKED: return SEPT_STATE_MAPPED;
    case SEPT_STATE_PENDING_BLOCKED: return SEPT_STATE_PENDING;
    default: return state;
  }
}

/**
 * The tracking checks of REMOVE, SEPT.REMOVE, DEMOTE and PROMOTE: only while the TD runs
 * (op_state_is_tlb_tracking_required) and for states that need it. The entry must be *BLOCKED
 * (GPA_RANGE_NOT_BLOCKED|RCX, with details), and the BEPOCH of the page it points to tracked
 * (TLB_TRACKING_NOT_DONE|RCX). Returns null when the checks pass.
 */
export function check_blocked_and_tracked(td: Td, page: SeptPage, idx: number, level: number): SeamcallResult | null {
  const state = page.state[idx];
  if (!sept_state_is_tlb_tracking_required(state) || !op_state_is_tlb_tracking_required(td.opState)) return null;
  if (!sept_state_is_any_blocked(state)) {
    return sept_error(api_error_with_operand_id(TDX_GPA_RANGE_NOT_BLOCKED, OPERAND_ID_RCX), page, idx, level);
  }
  if (!is_tlb_tracked(td, sept_entry_target_pamt(td, page, idx).bepoch)) {
    return seamcallResult(api_error_with_operand_id(TDX_TLB_TRACKING_NOT_DONE, OPERAND_ID_RCX));
  }
  return null;
}

/** Marks 4K pages as possibly holding dirty lines under the TD's key (until WBINVD/CACHE.WB). */
export function mark_cache_dirty(td: Td, pfn: number, pages: number): void {
  for (let i = 0; i < pages; i++) td.cacheDirty.add(pfn + i);
}
