// TDH.MEM.PAGE.DEMOTE (leaf 15): split a 2M (or 1G) leaf into 512 smaller leaves in a new page.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mem_page_demote.c (tdx-module.md 2.9).
//
// In:  RCX = GPA | level of the huge leaf (1 = 2M, 2 = 1G); RDX = TDR (the `td`); R8 = HPA of the
//      new S-EPT page. (DYNAMIC_PAMT's R12/R13 pair is not modeled.)
// Out: TDX_SUCCESS; the new page holds 512 copies of the leaf with HPA stride 4K (or 2M),
//      unblocked (BLOCKED -> MAPPED, PENDING_BLOCKED -> PENDING); the entry becomes NL_MAPPED (not
//      blocked: no UNBLOCK is needed afterwards); the huge PAMT entry splits into 512 entries
//      with BEPOCH 0; the new page's PAMT entry becomes PT_EPT; CHLDCNT += 1.
// Fails, in order: the prologue, OPERAND_INVALID|RCX, OPERAND_BUSY|SEPT_TREE, EPT_WALK_FAILED|RCX,
//      OPERAND_BUSY|RCX (sets TDHP), EPT_ENTRY_STATE_INCORRECT|RCX (not a leaf state DEMOTE
//      accepts), while running GPA_RANGE_NOT_BLOCKED|RCX and TLB_TRACKING_NOT_DONE|RCX (the huge
//      page's BEPOCH), then the R8 checks, then TDX_INTERRUPTED_RESTARTABLE (RCX/RDX restored to
//      the inputs) when a host interrupt is pending (`td.hostInterruptPending`, set by the caller:
//      deterministic, no randomness) and the module lacks ENHANCE_DEMOTE_INTERRUPTIBILITY (bit 51).
import { SEPT_STATE_NL_MAPPED, sept_state_is_leaf } from '../../../shared/sept.ts';
import {
  OPERAND_ID_R8, OPERAND_ID_RCX, OPERAND_ID_RDX, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_INTERRUPTED_RESTARTABLE,
  TDX_SUCCESS, api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import {
  TDX_LOCK_SHARED, check_blocked_and_tracked, check_free_hpa, lock_sept_check_and_walk, newLeafLocks,
  release_leaf_locks, seamcall_prologue, sept_error, sept_state_unblocked, type LeafLocks,
} from './helpers.ts';
import { PT_4KB, PT_EPT, pamt_assign, pamt_demote } from './pamt.ts';
import { TDH_MEM_PAGE_DEMOTE_LEAF } from './seamcall_leaves.ts';
import { sept_state_is_seamcall_leaf_allowed } from './sept_state_lookup.ts';
import {
  POW512, newSeptPage, seamcallResult, sept_entry_gfn, sept_entry_write, td_max_level, type SeamcallResult,
  type SeptPage, type Td,
} from './td.ts';

export function tdh_mem_page_demote(td: Td, rcx: number, r8: number): SeamcallResult {
  const locks = newLeafLocks();
  try {
    return page_demote_locked(td, rcx, r8, locks);
  } finally {
    release_leaf_locks(td, locks);
  }
}

function page_demote_locked(td: Td, rcx: number, r8: number, locks: LeafLocks): SeamcallResult {
  let status = seamcall_prologue(td, TDH_MEM_PAGE_DEMOTE_LEAF, OPERAND_ID_RDX, TDX_LOCK_SHARED, locks);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  const walk = lock_sept_check_and_walk(td, rcx, 1, Math.min(2, td_max_level(td)), TDX_LOCK_SHARED, true, locks);
  if ('status' in walk) return walk;
  const { page, idx, level } = walk;
  const state = page.state[idx];
  if (!sept_state_is_leaf(state) || !sept_state_is_seamcall_leaf_allowed(TDH_MEM_PAGE_DEMOTE_LEAF, state)) {
    return sept_error(api_error_with_operand_id(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID_RCX), page, idx, level);
  }
  const notTracked = check_blocked_and_tracked(td, page, idx, level);
  if (notTracked !== null) return notTracked;
  status = check_free_hpa(td, r8, OPERAND_ID_R8, PT_4KB);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  // is_interrupt_pending_host_side() before the PAMT split; nothing is committed yet.
  if (td.hostInterruptPending && !td.config.enhanceDemoteInterruptibility) {
    return seamcallResult(TDX_INTERRUPTED_RESTARTABLE, rcx, td.config.tdrPfn * 4096);
  }

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  const hugePfn = page.target[idx];
  const newPfn = r8 / 4096;
  const child = newSeptPage(newPfn, level - 1, sept_entry_gfn(page, idx));
  sept_split_entry(td, child, sept_state_unblocked(state), hugePfn);
  sept_entry_write(td, page, idx, SEPT_STATE_NL_MAPPED, newPfn, child);
  pamt_demote(td.pamt, hugePfn, level);
  pamt_assign(td.pamt, newPfn, PT_4KB, PT_EPT, td.config.tdrPfn);
  td.chldcnt += 1;
  return seamcallResult(TDX_SUCCESS);
}

/** sept_split_entry: fill the new page with 512 leaves of `state`, HPA stride one child size. */
function sept_split_entry(td: Td, child: SeptPage, state: number, hugePfn: number): void {
  const stride = POW512[child.level];
  for (let i = 0; i < 512; i++) sept_entry_write(td, child, i, state, hugePfn + i * stride, null);
}
