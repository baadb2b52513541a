// TDH.VP.FLUSH (leaf 18): flush a vCPU's TD state from its LP and dissociate it; needed on every
// vCPU that ever ran before TDH.MNG.VPFLUSHDONE. Models intel/tdx-module
// src/vmm_dispatcher/api_calls/tdh_vp_flush.c (simplified: TDR and lifecycle, then the vCPU).
//
// Out: TDX_SUCCESS; the vCPU is no longer associated.
// Fails, in order: PAGE_METADATA_INCORRECT|RCX (TDR reclaimed), TDX_TD_FATAL,
//      TDX_TD_KEYS_NOT_CONFIGURED, OPERAND_BUSY|RCX (the vCPU is in guest mode: TDVPR in use).
import { OPERAND_ID_RCX, TDX_OPERAND_BUSY, TDX_SUCCESS, TDX_TD_FATAL, TDX_TD_KEYS_NOT_CONFIGURED, api_error_with_operand_id } from '../../../shared/tdx_status.ts';
import { assert } from '../checks.ts';
import { check_lock_and_map_explicit_tdr, newLeafLocks, release_leaf_locks } from './helpers.ts';
import { TD_KEYS_CONFIGURED, seamcallResult, type SeamcallResult, type Td } from './td.ts';
import { TDX_LOCK_SHARED } from './tdx_locks.ts';

export function tdh_vp_flush(td: Td, vcpuIndex: number): SeamcallResult {
  const vcpu = td.vcpus[vcpuIndex];
  assert(vcpu !== undefined, `tdh_vp_flush: no vCPU ${vcpuIndex}`);
  const locks = newLeafLocks();
  try {
    const status = check_lock_and_map_explicit_tdr(td, OPERAND_ID_RCX, TDX_LOCK_SHARED, locks);
    if (status !== TDX_SUCCESS) return seamcallResult(status);
    if (td.fatal) return seamcallResult(TDX_TD_FATAL);
    if (td.lifecycle !== TD_KEYS_CONFIGURED) return seamcallResult(TDX_TD_KEYS_NOT_CONFIGURED);
    if (vcpu.inGuest) return seamcallResult(api_error_with_operand_id(TDX_OPERAND_BUSY, OPERAND_ID_RCX));

    // ALL_CHECKS_PASSED: the function is guaranteed to succeed
    vcpu.associated = false;
    return seamcallResult(TDX_SUCCESS);
  } finally {
    release_leaf_locks(td, locks);
  }
}
