// TDH.MEM.RANGE.BLOCK (leaf 7): stop new translations through an entry.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mem_range_block.c (tdx-module.md 2.4).
//
// In:  RCX = GPA | level (0..PWL); RDX = TDR (the `td`).
// Out: TDX_SUCCESS; NL_MAPPED -> NL_BLOCKED, MAPPED -> BLOCKED, PENDING -> PENDING_BLOCKED (RWX
//      cleared, so a guest access now exits to the host), and BEPOCH = TD_EPOCH on the PAMT entry
//      of the page the entry points to. TLB copies survive until TRACK and a kick (section 3).
// Fails, in order: the prologue, OPERAND_INVALID|RCX, OPERAND_BUSY|SEPT_TREE (tree lock taken
//      exclusive), EPT_WALK_FAILED|RCX (nothing below an NL_BLOCKED entry is reachable),
//      OPERAND_BUSY|RCX (guest ACCEPT holds the entry; sets TDHP), then
//      TDX_GPA_RANGE_ALREADY_BLOCKED|RCX (a warning: bit 63 clear) for any blocked state, and
//      EPT_ENTRY_STATE_INCORRECT|RCX for any other disallowed state (e.g. FREE).
import { sept_state_is_any_blocked } from '../../../shared/sept.ts';
import {
  OPERAND_ID_RCX, OPERAND_ID_RDX, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_GPA_RANGE_ALREADY_BLOCKED, TDX_SUCCESS,
  api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import {
  TDX_LOCK_SHARED, lock_sept_check_and_walk, newLeafLocks, release_leaf_locks, seamcall_prologue, sept_error,
  sept_entry_target_size, sept_state_blocked, type LeafLocks,
} from './helpers.ts';
import { pamt_set_bepoch } from './pamt.ts';
import { TDH_MEM_RANGE_BLOCK_LEAF } from './seamcall_leaves.ts';
import { sept_state_is_seamcall_leaf_allowed } from './sept_state_lookup.ts';
import { seamcallResult, sept_entry_write, td_max_level, type SeamcallResult, type Td } from './td.ts';
import { TDX_LOCK_EXCLUSIVE } from './tdx_locks.ts';

export function tdh_mem_range_block(td: Td, rcx: number): SeamcallResult {
  const locks = newLeafLocks();
  try {
    return range_block_locked(td, rcx, locks);
  } finally {
    release_leaf_locks(td, locks);
  }
}

function range_block_locked(td: Td, rcx: number, locks: LeafLocks): SeamcallResult {
  const status = seamcall_prologue(td, TDH_MEM_RANGE_BLOCK_LEAF, OPERAND_ID_RDX, TDX_LOCK_SHARED, locks);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  const walk = lock_sept_check_and_walk(td, rcx, 0, td_max_level(td), TDX_LOCK_EXCLUSIVE, true, locks);
  if ('status' in walk) return walk;
  const { page, idx, level } = walk;
  const state = page.state[idx];
  if (sept_state_is_any_blocked(state)) {
    return sept_error(api_error_with_operand_id(TDX_GPA_RANGE_ALREADY_BLOCKED, OPERAND_ID_RCX), page, idx, level);
  }
  if (!sept_state_is_seamcall_leaf_allowed(TDH_MEM_RANGE_BLOCK_LEAF, state)) {
    return sept_error(api_error_with_operand_id(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID_RCX), page, idx, level);
  }

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  sept_entry_write(td, page, idx, sept_state_blocked(state), page.target[idx], page.child[idx]);
  pamt_set_bepoch(td.pamt, page.target[idx], sept_entry_target_size(page, idx), td.tdEpoch);
  return seamcallResult(TDX_SUCCESS);
}
