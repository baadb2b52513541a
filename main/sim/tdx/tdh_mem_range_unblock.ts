// TDH.MEM.RANGE.UNBLOCK (leaf 39): undo a BLOCK once it has been tracked.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mem_range_unblock.c (tdx-module.md 2.8).
//
// In:  RCX = GPA | level (0..PWL); RDX = TDR (the `td`).
// Out: TDX_SUCCESS; NL_BLOCKED -> NL_MAPPED, BLOCKED -> MAPPED, PENDING_BLOCKED -> PENDING.
// Fails, in order: the prologue, OPERAND_INVALID|RCX, OPERAND_BUSY|SEPT_TREE (tree exclusive),
//      EPT_WALK_FAILED|RCX, OPERAND_BUSY|RCX (sets TDHP), EPT_ENTRY_STATE_INCORRECT|RCX (not
//      blocked), and while the TD runs TDX_TLB_TRACKING_NOT_DONE|SEPT_TREE (0xC0000B0800000092:
//      note the operand is the tree, not RCX) if the BLOCK is not tracked yet.
import {
  OPERAND_ID_RCX, OPERAND_ID_RDX, OPERAND_ID_SEPT_TREE, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_SUCCESS,
  TDX_TLB_TRACKING_NOT_DONE, api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import {
  TDX_LOCK_SHARED, lock_sept_check_and_walk, newLeafLocks, release_leaf_locks, seamcall_prologue, sept_error,
  sept_entry_target_pamt, sept_state_unblocked, type LeafLocks,
} from './helpers.ts';
import { TDH_MEM_RANGE_UNBLOCK_LEAF } from './seamcall_leaves.ts';
import {
  op_state_is_tlb_tracking_required, sept_state_is_seamcall_leaf_allowed, sept_state_is_tlb_tracking_required,
} from './sept_state_lookup.ts';
import { seamcallResult, sept_entry_write, td_max_level, type SeamcallResult, type Td } from './td.ts';
import { TDX_LOCK_EXCLUSIVE } from './tdx_locks.ts';
import { is_tlb_tracked } from './tlb_tracking.ts';

export function tdh_mem_range_unblock(td: Td, rcx: number): SeamcallResult {
  const locks = newLeafLocks();
  try {
    return range_unblock_locked(td, rcx, locks);
  } finally {
    release_leaf_locks(td, locks);
  }
}

function range_unblock_locked(td: Td, rcx: number, locks: LeafLocks): SeamcallResult {
  const status = seamcall_prologue(td, TDH_MEM_RANGE_UNBLOCK_LEAF, OPERAND_ID_RDX, TDX_LOCK_SHARED, locks);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  const walk = lock_sept_check_and_walk(td, rcx, 0, td_max_level(td), TDX_LOCK_EXCLUSIVE, true, locks);
  if ('status' in walk) return walk;
  const { page, idx, level } = walk;
  const state = page.state[idx];
  if (!sept_state_is_seamcall_leaf_allowed(TDH_MEM_RANGE_UNBLOCK_LEAF, state)) {
    return sept_error(api_error_with_operand_id(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID_RCX), page, idx, level);
  }
  const trackingRequired = sept_state_is_tlb_tracking_required(state) && op_state_is_tlb_tracking_required(td.opState);
  if (trackingRequired && !is_tlb_tracked(td, sept_entry_target_pamt(td, page, idx).bepoch)) {
    return seamcallResult(api_error_with_operand_id(TDX_TLB_TRACKING_NOT_DONE, OPERAND_ID_SEPT_TREE));
  }

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  sept_entry_write(td, page, idx, sept_state_unblocked(state), page.target[idx], page.child[idx]);
  return seamcallResult(TDX_SUCCESS);
}
