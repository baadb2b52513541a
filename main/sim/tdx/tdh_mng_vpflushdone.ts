// TDH.MNG.VPFLUSHDONE (leaf 19): check that every vCPU was flushed; the TD becomes TD_BLOCKED.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mng_vpflushdone.c (tdx-module.md 4).
//
// In:  RCX = TDR (the `td`).
// Out: TDX_SUCCESS; lifecycle TD_KEYS_CONFIGURED -> TD_BLOCKED. From now on every S-EPT leaf
//      fails TDX_TD_KEYS_NOT_CONFIGURED: private pages must have been removed before, or are
//      reclaimed after KEY.FREEID.
// Fails, in order: PAGE_METADATA_INCORRECT|RCX (TDR reclaimed), TDX_LIFECYCLE_STATE_INCORRECT
//      (not TD_KEYS_CONFIGURED), TDX_FLUSHVP_NOT_DONE (a vCPU is still associated, e.g. in guest).
import {
  OPERAND_ID_RCX, TDX_FLUSHVP_NOT_DONE, TDX_LIFECYCLE_STATE_INCORRECT, TDX_SUCCESS,
} from '../../../shared/tdx_status.ts';
import { check_lock_and_map_explicit_tdr, newLeafLocks, release_leaf_locks } from './helpers.ts';
import { TD_BLOCKED, TD_KEYS_CONFIGURED, seamcallResult, type SeamcallResult, type Td } from './td.ts';
import { TDX_LOCK_EXCLUSIVE } from './tdx_locks.ts';

export function tdh_mng_vpflushdone(td: Td): SeamcallResult {
  const locks = newLeafLocks();
  try {
    const status = check_lock_and_map_explicit_tdr(td, OPERAND_ID_RCX, TDX_LOCK_EXCLUSIVE, locks);
    if (status !== TDX_SUCCESS) return seamcallResult(status);
    if (td.lifecycle !== TD_KEYS_CONFIGURED) return seamcallResult(TDX_LIFECYCLE_STATE_INCORRECT);
    if (td.vcpus.some((v) => v.associated)) return seamcallResult(TDX_FLUSHVP_NOT_DONE);

    // ALL_CHECKS_PASSED: the function is guaranteed to succeed
    td.lifecycle = TD_BLOCKED;
    td.wbcacheDone = false;
    return seamcallResult(TDX_SUCCESS);
  } finally {
    release_leaf_locks(td, locks);
  }
}
