// TDH.MEM.TRACK (leaf 38): start a new TLB epoch.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mem_track.c (tdx-module.md 2.5, 3).
//
// In:  RCX = TDR (the `td`); no GPA.
// Out: TDX_SUCCESS; TD_EPOCH += 1. That is all it does: blocked entries become tracked once every
//      vCPU counted in the old epoch has left guest mode (KVM kicks them right after).
// Fails, in order: the prologue with operand RCX (the TDR is in RCX here),
//      OPERAND_BUSY|TD_EPOCH (epoch lock taken exclusive), TDX_PREVIOUS_TLB_EPOCH_BUSY (no operand)
//      while refcount[(TD_EPOCH - 1) & 1] != 0, i.e. a vCPU still runs in the previous epoch, as
//      after two TRACKs with no kick between. Nothing changes on failure.
import {
  OPERAND_ID_RCX, OPERAND_ID_TD_EPOCH, TDX_OPERAND_BUSY, TDX_PREVIOUS_TLB_EPOCH_BUSY, TDX_SUCCESS,
  api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import { TDX_LOCK_SHARED, newLeafLocks, release_leaf_locks, seamcall_prologue, type LeafLocks } from './helpers.ts';
import { TDH_MEM_TRACK_LEAF } from './seamcall_leaves.ts';
import { seamcallResult, type SeamcallResult, type Td } from './td.ts';
import { LOCK_RET_SUCCESS, acquire_sharex_lock_ex } from './tdx_locks.ts';

export function tdh_mem_track(td: Td): SeamcallResult {
  const locks = newLeafLocks();
  try {
    return track_locked(td, locks);
  } finally {
    release_leaf_locks(td, locks);
  }
}

function track_locked(td: Td, locks: LeafLocks): SeamcallResult {
  const status = seamcall_prologue(td, TDH_MEM_TRACK_LEAF, OPERAND_ID_RCX, TDX_LOCK_SHARED, locks);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  if (acquire_sharex_lock_ex(td.epochLock) !== LOCK_RET_SUCCESS) {
    return seamcallResult(api_error_with_operand_id(TDX_OPERAND_BUSY, OPERAND_ID_TD_EPOCH));
  }
  locks.epochEx = true;
  if (td.refcount[(td.tdEpoch - 1) & 1] !== 0) return seamcallResult(TDX_PREVIOUS_TLB_EPOCH_BUSY);

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  td.tdEpoch += 1;
  return seamcallResult(TDX_SUCCESS);
}
