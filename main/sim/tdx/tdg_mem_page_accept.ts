// TDG.MEM.PAGE.ACCEPT (guest TDCALL 6): the guest accepts a PENDING page at a level.
// Models intel/tdx-module src/td_dispatcher/vm_exits/tdg_mem_page_accept.c (tdx-module.md 2.15).
//
// Split in two steps because the guest holds the entry's TDEL while it zeroes the page, and a
// host AUG/BLOCK/REMOVE/DEMOTE/PROMOTE on that entry in between gets OPERAND_BUSY|RCX and sets
// TDHP ("contention with certain TDCALLs" in KVM). It does not take the S-EPT tree lock.
//
// begin: PENDING at the requested level -> TDEL taken, `inProgress`; end: PENDING -> MAPPED at the
// same level, TDEL released (TDHP kept). A 2M accept is not interruptible here (accept_counter
// is not modeled: it stays 0).
// Other outcomes of begin (nothing locked, nothing changed, except the exit), in the order of
// check_tdaccept_failure:
// - OPERAND_INVALID|RCX: level not 0/1, unaligned or shared GPA;
// - the walk stops above the level: TDX_PAGE_ALREADY_ACCEPTED (warning) at a guest-accessible leaf
//   (e.g. 4K inside a MAPPED 2M page), else an EPT-violation TD exit (below);
// - the walk reaches the level: the guest entry lock first (sept_lock_acquire_guest):
//   OPERAND_BUSY|RCX if another ACCEPT holds TDEL, or if the host set TDHP (the module's
//   OPERAND_BUSY_HOST_PRIORITY, which the TDCALL dispatcher turns into OPERAND_BUSY;
//   TDX_HOST_PRIORITY_BUSY_TIMEOUT after HP_LOCK_TIMEOUT is not modeled); then, on the entry:
//   TDX_PAGE_SIZE_MISMATCH for any non-FREE non-leaf (NL_MAPPED or NL_BLOCKED; e.g. 2M accept of
//   a range mapped as 4K), TDX_PAGE_ALREADY_ACCEPTED for a guest-accessible leaf, the TD exit
//   for anything not PENDING;
// - ALREADY_ACCEPTED and SIZE_MISMATCH carry in their operand field the level where the walk
//   stopped (the requested level when it got there), not an operand ID: a 4K re-accept returns
//   0x00000B0A00000000, a 2M one 0x00000B0A00000001;
// - the EPT-violation TD exit: the walk stops above the level at a PENDING huge leaf (4K accept in
//   a PENDING 2M page), or the entry is FREE or blocked, or a blocked non-leaf is on the path.
//   The vCPU leaves guest mode. KVM sees TDH.VP.ENTER return RAX = 48 (EXIT_REASON_EPT_VIOLATION),
//   with the extended exit qualification type ACCEPT (1) holding the requested level, the level
//   where the walk stopped and that entry's state; the huge-page series splits the mapping to
//   the accept level (tdx_honor_guest_accept_level), older KVM maps the missing page (AUG).
import {
  SEPT_LOCK_TDEL, SEPT_LOCK_TDHP, SEPT_STATE_FREE, SEPT_STATE_MAPPED, SEPT_STATE_PENDING, SEPT_STATE_PUBLIC,
  sept_state_is_guest_accessible_leaf, sept_state_is_leaf,
} from '../../../shared/sept.ts';
import {
  OPERAND_ID_RCX, TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_PAGE_ALREADY_ACCEPTED, TDX_PAGE_SIZE_MISMATCH,
  TDX_SUCCESS, api_error_with_operand_id, type TdxStatus,
} from '../../../shared/tdx_status.ts';
import { assert } from '../checks.ts';
import { gpa_is_valid_private, page_info_gfn, page_info_level, verify_page_info_input } from './helpers.ts';
import { secure_ept_walk } from './sept_walk.ts';
import { sept_entry_set_lock, sept_entry_write, type Td } from './td.ts';
import { td_exit } from './tdh_vp_enter.ts';

/** VMX exit reason of an EPT violation. */
export const EXIT_REASON_EPT_VIOLATION = 48;
/** Extended-exit-qualification type ACCEPT (vmcs_defs.h). */
export const TDX_EEQ_TYPE_ACCEPT = 1;

export interface AcceptTdExit {
  exitReason: number;
  eeqType: number;
  /** The TDX level the guest asked for. */
  reqLevel: number;
  /** The TDX level of the entry where the walk stopped. */
  errLevel: number;
  /** That entry's public state code. */
  errState: number;
}

export interface AcceptResult {
  /** RAX of the TDCALL (TDX_SUCCESS for a TD exit, which the guest does not see). */
  status: TdxStatus;
  /** True after a begin that took TDEL: call tdg_mem_page_accept_end. */
  inProgress: boolean;
  /** Set when the accept ended in an EPT-violation TD exit. */
  tdExit: AcceptTdExit | null;
}

function done(status: TdxStatus): AcceptResult {
  return { status, inProgress: false, tdExit: null };
}

/** async_tdexit_ept_violation with EEQ type ACCEPT: the vCPU leaves guest mode. */
function accept_ept_violation(td: Td, vcpuIndex: number, reqLevel: number, errLevel: number, errState: number): AcceptResult {
  const tdExit = { exitReason: EXIT_REASON_EPT_VIOLATION, eeqType: TDX_EEQ_TYPE_ACCEPT, reqLevel, errLevel, errState: SEPT_STATE_PUBLIC[errState] };
  td_exit(td, td.vcpus[vcpuIndex]);
  return { status: TDX_SUCCESS, inProgress: false, tdExit };
}

export function tdg_mem_page_accept_begin(td: Td, vcpuIndex: number, rcx: number): AcceptResult {
  const vcpu = td.vcpus[vcpuIndex];
  assert(vcpu !== undefined && vcpu.inGuest, `tdg_mem_page_accept_begin: vCPU ${vcpuIndex} not in guest`);
  assert(vcpu.accepting === null, `tdg_mem_page_accept_begin: vCPU ${vcpuIndex} already accepting`);
  const invalid = api_error_with_operand_id(TDX_OPERAND_INVALID, OPERAND_ID_RCX);
  if (!verify_page_info_input(rcx, 0, 1) || !gpa_is_valid_private(td, page_info_gfn(rcx))) return done(invalid);
  const level = page_info_level(rcx);
  const walk = secure_ept_walk(td, page_info_gfn(rcx), level);
  const { page, idx } = walk;
  // check_tdaccept_failure. The walk stopped above the requested level: no lock is taken.
  if (!walk.reached) {
    if (sept_state_is_guest_accessible_leaf(page.state[idx])) return done(api_error_with_operand_id(TDX_PAGE_ALREADY_ACCEPTED, walk.level));
    return accept_ept_violation(td, vcpuIndex, level, walk.level, page.state[idx]);
  }
  // The walk reached the level: sept_lock_acquire_guest before the entry is classified. It fails
  // if TDEL is held, and yields to the host (BUSY_HOST_PRIORITY, reported as BUSY) if TDHP is set.
  if ((page.lock[idx] & (SEPT_LOCK_TDEL | SEPT_LOCK_TDHP)) !== 0) {
    return done(api_error_with_operand_id(TDX_OPERAND_BUSY, OPERAND_ID_RCX));
  }
  // Classified under the lock; the failures below release it, so nothing changes.
  const state = page.state[idx];
  if (state !== SEPT_STATE_FREE && !sept_state_is_leaf(state)) return done(api_error_with_operand_id(TDX_PAGE_SIZE_MISMATCH, level));
  if (sept_state_is_guest_accessible_leaf(state)) return done(api_error_with_operand_id(TDX_PAGE_ALREADY_ACCEPTED, level));
  // The module's ACCEPT row also allows PENDING_EXPORTED_DIRTY (migration, not modeled).
  if (state !== SEPT_STATE_PENDING) return accept_ept_violation(td, vcpuIndex, level, level, state);

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  sept_entry_set_lock(td, page, idx, page.lock[idx] | SEPT_LOCK_TDEL);
  vcpu.accepting = { page, idx };
  return { status: TDX_SUCCESS, inProgress: true, tdExit: null };
}

/** Completes an accept: the page is zeroed (not modeled), PENDING -> MAPPED, TDEL released. */
export function tdg_mem_page_accept_end(td: Td, vcpuIndex: number): AcceptResult {
  const vcpu = td.vcpus[vcpuIndex];
  assert(vcpu !== undefined && vcpu.accepting !== null, `tdg_mem_page_accept_end: vCPU ${vcpuIndex} not accepting`);
  const { page, idx } = vcpu.accepting;
  // Holding TDEL kept every host leaf off this entry, so it is still PENDING.
  assert(page.state[idx] === SEPT_STATE_PENDING, 'tdg_mem_page_accept_end: entry changed under TDEL');
  sept_entry_write(td, page, idx, SEPT_STATE_MAPPED, page.target[idx], null);
  sept_entry_set_lock(td, page, idx, page.lock[idx] & ~SEPT_LOCK_TDEL);
  vcpu.accepting = null;
  return done(TDX_SUCCESS);
}
