// TDH.MNG.KEY.FREEID (leaf 20): release the TD's HKID; the TD becomes TD_TEARDOWN and its pages
// can be reclaimed. Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mng_key_freeid.c.
//
// In:  RCX = TDR (the `td`).
// Out: TDX_SUCCESS; lifecycle TD_BLOCKED -> TD_TEARDOWN (KVM's is_hkid_assigned() is false now).
// Fails, in order: PAGE_METADATA_INCORRECT|RCX (TDR reclaimed), TDX_LIFECYCLE_STATE_INCORRECT
//      (not TD_BLOCKED), TDX_WBCACHE_NOT_COMPLETE (no CACHE.WB since VPFLUSHDONE).
import {
  OPERAND_ID_RCX, TDX_LIFECYCLE_STATE_INCORRECT, TDX_SUCCESS, TDX_WBCACHE_NOT_COMPLETE,
} from '../../../shared/tdx_status.ts';
import { check_lock_and_map_explicit_tdr, newLeafLocks, release_leaf_locks } from './helpers.ts';
import { TD_BLOCKED, TD_TEARDOWN, seamcallResult, type SeamcallResult, type Td } from './td.ts';
import { TDX_LOCK_EXCLUSIVE } from './tdx_locks.ts';

export function tdh_mng_key_freeid(td: Td): SeamcallResult {
  const locks = newLeafLocks();
  try {
    const status = check_lock_and_map_explicit_tdr(td, OPERAND_ID_RCX, TDX_LOCK_EXCLUSIVE, locks);
    if (status !== TDX_SUCCESS) return seamcallResult(status);
    if (td.lifecycle !== TD_BLOCKED) return seamcallResult(TDX_LIFECYCLE_STATE_INCORRECT);
    if (!td.wbcacheDone) return seamcallResult(TDX_WBCACHE_NOT_COMPLETE);

    // ALL_CHECKS_PASSED: the function is guaranteed to succeed
    td.lifecycle = TD_TEARDOWN;
    return seamcallResult(TDX_SUCCESS);
  } finally {
    release_leaf_locks(td, locks);
  }
}
