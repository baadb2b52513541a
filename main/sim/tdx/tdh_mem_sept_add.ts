// TDH.MEM.SEPT.ADD (leaf 3, version 0): link a new S-EPT page below a FREE entry.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mem_sept_add.c (tdx-module.md 2.1).
//
// In:  RCX = GPA | level of the *parent* entry (1..PWL); RDX = TDR (the `td`); R8 = new page HPA.
// Out: TDX_SUCCESS; the entry becomes NL_MAPPED pointing at a new page of 512 FREE entries, the
//      page's PAMT entry becomes PT_EPT owned by the TD, CHLDCNT += 1. No TLB tracking is needed:
//      adding a mapping never needs a flush.
// Fails, in order: the prologue (TDR, TD state, OP_STATE), OPERAND_INVALID|RCX,
//      OPERAND_BUSY|SEPT_TREE, EPT_WALK_FAILED|RCX (ancestors must exist: adding is top-down),
//      OPERAND_BUSY|RCX (entry locked by a guest; sets TDHP), EPT_ENTRY_STATE_INCORRECT|RCX (not
//      FREE; version 0 with a real page rejects NL_MAPPED), then R8: OPERAND_INVALID,
//      OPERAND_ADDR_RANGE_ERROR, PAGE_METADATA_INCORRECT. Nothing changes on failure.
import { SEPT_STATE_FREE, SEPT_STATE_NL_MAPPED } from '../../../shared/sept.ts';
import {
  OPERAND_ID_R8, OPERAND_ID_RCX, OPERAND_ID_RDX, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_SUCCESS,
  api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import {
  TDX_LOCK_SHARED, check_free_hpa, lock_sept_check_and_walk, newLeafLocks, release_leaf_locks,
  seamcall_prologue, sept_error, type LeafLocks,
} from './helpers.ts';
import { PT_4KB, PT_EPT, pamt_assign } from './pamt.ts';
import { TDH_MEM_SEPT_ADD_LEAF } from './seamcall_leaves.ts';
import { sept_state_is_seamcall_leaf_allowed } from './sept_state_lookup.ts';
import {
  newSeptPage, seamcallResult, sept_entry_gfn, sept_entry_write, td_max_level, type SeamcallResult, type Td,
} from './td.ts';

export function tdh_mem_sept_add(td: Td, rcx: number, r8: number): SeamcallResult {
  const locks = newLeafLocks();
  try {
    return sept_add_locked(td, rcx, r8, locks);
  } finally {
    release_leaf_locks(td, locks);
  }
}

function sept_add_locked(td: Td, rcx: number, r8: number, locks: LeafLocks): SeamcallResult {
  let status = seamcall_prologue(td, TDH_MEM_SEPT_ADD_LEAF, OPERAND_ID_RDX, TDX_LOCK_SHARED, locks);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  const walk = lock_sept_check_and_walk(td, rcx, 1, td_max_level(td), TDX_LOCK_SHARED, true, locks);
  if ('status' in walk) return walk;
  const { page, idx, level } = walk;
  // Read the entry again after locking it (here: the state arrays are the entry).
  const state = page.state[idx];
  if (!sept_state_is_seamcall_leaf_allowed(TDH_MEM_SEPT_ADD_LEAF, state) || state !== SEPT_STATE_FREE) {
    return sept_error(api_error_with_operand_id(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID_RCX), page, idx, level);
  }
  status = check_free_hpa(td, r8, OPERAND_ID_R8, PT_4KB);
  if (status !== TDX_SUCCESS) return seamcallResult(status);

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  const newPfn = r8 / 4096;
  const child = newSeptPage(newPfn, level - 1, sept_entry_gfn(page, idx));
  sept_entry_write(td, page, idx, SEPT_STATE_NL_MAPPED, newPfn, child);
  pamt_assign(td.pamt, newPfn, PT_4KB, PT_EPT, td.config.tdrPfn);
  td.chldcnt += 1;
  return seamcallResult(TDX_SUCCESS);
}
