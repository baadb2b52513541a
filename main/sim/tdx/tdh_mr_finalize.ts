// TDH.MR.FINALIZE (leaf 17): finish the measurement; the TD becomes RUNNABLE.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mr_finalize.c (tdx-module.md 2 step 4).
//
// In:  RCX = TDR (the `td`).
// Out: TDX_SUCCESS; OP_STATE INITIALIZED -> RUNNABLE. From now on PAGE.ADD fails
//      TDX_OP_STATE_INCORRECT, VP.ENTER is allowed, and BLOCK+TRACK are required before
//      REMOVE/DEMOTE/PROMOTE/SEPT.REMOVE.
// Fails, in order: PAGE_METADATA_INCORRECT|RCX (TDR reclaimed), TDX_TD_FATAL,
//      TDX_TD_KEYS_NOT_CONFIGURED, OPERAND_BUSY|OP_STATE, TDX_OP_STATE_INCORRECT (already RUNNABLE).
import { OPERAND_ID_RCX, TDX_SUCCESS } from '../../../shared/tdx_status.ts';
import { newLeafLocks, release_leaf_locks, seamcall_prologue } from './helpers.ts';
import { TDH_MR_FINALIZE_LEAF } from './seamcall_leaves.ts';
import { OP_STATE_RUNNABLE, seamcallResult, type SeamcallResult, type Td } from './td.ts';
import { TDX_LOCK_EXCLUSIVE } from './tdx_locks.ts';

export function tdh_mr_finalize(td: Td): SeamcallResult {
  const locks = newLeafLocks();
  try {
    const status = seamcall_prologue(td, TDH_MR_FINALIZE_LEAF, OPERAND_ID_RCX, TDX_LOCK_EXCLUSIVE, locks);
    if (status !== TDX_SUCCESS) return seamcallResult(status);

    // ALL_CHECKS_PASSED: the function is guaranteed to succeed
    td.opState = OP_STATE_RUNNABLE;
    return seamcallResult(TDX_SUCCESS);
  } finally {
    release_leaf_locks(td, locks);
  }
}
