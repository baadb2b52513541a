// TDH.VP.ENTER (leaf 0), split at the guest boundary: tdh_vp_enter_begin runs the leaf up to
// the entry, tdh_vp_enter_guest enters guest mode, tdh_vp_enter_end is the TD exit. Models
// intel/tdx-module src/td_transitions/tdh_vp_enter.c (1666adc4), td_exit.c and helpers.c
// adjust_tlb_tracking_state (tdx-module.md 2.14, 3).
//
// What contends with host leaves:
// - the epoch refcount, from entry to exit: entry counts the vCPU in refcount[TD_EPOCH & 1] and
//   adopts the epoch, flushing its EPT translations if the epoch moved; the exit uncounts it.
//   TRACK needs the previous epoch's count at 0; REMOVE etc. need the block epoch's count at 0.
// - under zero-step mitigation (`vcpu.zeroStepActive`, set by the caller), the S-EPT tree lock,
//   exclusive, for the rest of the leaf only: the stepping filter takes it after the epoch
//   update, and the leaf releases it just before it enters the guest ("If the SEPT lock was
//   acquired by the TDENTER stepping filter, release it now"). A host leaf needing the tree in
//   that window gets OPERAND_BUSY|SEPT_TREE (0x8000020000000092). A vCPU re-entering again and
//   again opens the window again and again, which is why KVM kicks and blocks entries
//   (tdh_do_no_vcpus) before retrying a BUSY leaf.
// The epoch lock is taken shared only for a moment inside the entry step, so TRACK vs VP.ENTER
// on the epoch lock cannot collide in this model (both are atomic steps). Not modelled: the
// filter's list of faulting GPAs and the synthetic EPT-violation exit when one still faults.
//
// KVM's side (kvm_tdx->wait_for_sept_zap, `td.kvmWaitForSeptZap`) is for the caller to check:
// while it is set, KVM's tdx_vcpu_run does not call TDH.VP.ENTER at all.
import {
  OPERAND_ID_RCX, OPERAND_ID_SEPT_TREE, OPERAND_ID_TD_EPOCH, TDX_OPERAND_BUSY, TDX_SUCCESS,
  api_error_with_operand_id, type TdxStatus,
} from '../../../shared/tdx_status.ts';
import { assert } from '../checks.ts';
import {
  check_lock_and_map_explicit_tdr, check_state_map_tdcs_and_lock, newLeafLocks, release_leaf_locks,
  type LeafLocks,
} from './helpers.ts';
import { TDH_VP_ENTER_LEAF } from './seamcall_leaves.ts';
import { seamcallResult, type SeamcallResult, type Td, type VcpuState } from './td.ts';
import {
  LOCK_RET_SUCCESS, TDX_LOCK_SHARED, acquire_sharex_lock_ex, acquire_sharex_lock_sh, release_sharex_lock_ex,
  release_sharex_lock_sh,
} from './tdx_locks.ts';
import { adjust_tlb_tracking_state, tlb_tracking_exit } from './tlb_tracking.ts';

/**
 * TDH.VP.ENTER up to the guest entry. Returns TDX_SUCCESS once the vCPU is counted in its epoch
 * (and, under zero-step mitigation, holds the tree lock until tdh_vp_enter_guest). Fails, in order:
 * OPERAND_BUSY|RCX (this vCPU's TDVPR is in use: it is already in the guest), the TDR and TD
 * state checks, TDX_OP_STATE_INCORRECT (not finalized), OPERAND_BUSY|TD_EPOCH,
 * OPERAND_BUSY|SEPT_TREE (zero-step mitigation and a host leaf holds the tree lock). Nothing
 * changes on failure (the module undoes the refcount it took).
 */
export function tdh_vp_enter_begin(td: Td, vcpuIndex: number): SeamcallResult {
  const vcpu = td.vcpus[vcpuIndex];
  assert(vcpu !== undefined, `tdh_vp_enter_begin: no vCPU ${vcpuIndex}`);
  if (vcpu.inGuest) return seamcallResult(api_error_with_operand_id(TDX_OPERAND_BUSY, OPERAND_ID_RCX));
  const locks = newLeafLocks();
  let epochLocked = false;
  try {
    const status = vp_enter_checks(td, locks);
    if (status !== TDX_SUCCESS) return seamcallResult(status);
    if (acquire_sharex_lock_sh(td.epochLock) !== LOCK_RET_SUCCESS) {
      return seamcallResult(api_error_with_operand_id(TDX_OPERAND_BUSY, OPERAND_ID_TD_EPOCH));
    }
    epochLocked = true;
    if (vcpu.zeroStepActive && acquire_sharex_lock_ex(td.septLock) !== LOCK_RET_SUCCESS) {
      return seamcallResult(api_error_with_operand_id(TDX_OPERAND_BUSY, OPERAND_ID_SEPT_TREE));
    }

    // ALL_CHECKS_PASSED: the function is guaranteed to succeed
    // Held until tdh_vp_enter_guest: the leaf's last steps before the VM entry.
    vcpu.holdsSeptLock = vcpu.zeroStepActive;
    adjust_tlb_tracking_state(td, vcpu);
    vcpu.inGuest = true;
    vcpu.associated = true;
    return seamcallResult(TDX_SUCCESS);
  } finally {
    if (epochLocked) release_sharex_lock_sh(td.epochLock);
    release_leaf_locks(td, locks);
  }
}

function vp_enter_checks(td: Td, locks: LeafLocks): TdxStatus {
  const status = check_lock_and_map_explicit_tdr(td, OPERAND_ID_RCX, TDX_LOCK_SHARED, locks);
  if (status !== TDX_SUCCESS) return status;
  return check_state_map_tdcs_and_lock(td, TDH_VP_ENTER_LEAF, locks);
}

/**
 * The end of TDH.VP.ENTER: release the tree lock the stepping filter took, if it did, and enter
 * the guest. A no-op for a vCPU already in the guest proper (a kick may have completed the
 * entry: kick_all_vcpus).
 */
export function tdh_vp_enter_guest(td: Td, vcpuIndex: number): void {
  const vcpu = td.vcpus[vcpuIndex];
  assert(vcpu !== undefined && vcpu.inGuest, `tdh_vp_enter_guest: vCPU ${vcpuIndex} is not entering`);
  if (vcpu.holdsSeptLock) {
    release_sharex_lock_ex(td.septLock);
    vcpu.holdsSeptLock = false;
  }
}

/**
 * TD exit (td_exit.c): uncount the vCPU from its epoch. The caller must have ended any guest
 * ACCEPT and any VP.ENTER still in flight first (kick_all_vcpus does).
 */
export function tdh_vp_enter_end(td: Td, vcpuIndex: number): void {
  const vcpu = td.vcpus[vcpuIndex];
  assert(vcpu !== undefined, `tdh_vp_enter_end: no vCPU ${vcpuIndex}`);
  td_exit(td, vcpu);
}

/** The TD-exit path shared by tdh_vp_enter_end, kicks and synthetic EPT-violation exits. */
export function td_exit(td: Td, vcpu: VcpuState): void {
  assert(vcpu.inGuest, `td_exit: vCPU ${vcpu.index} not in guest`);
  assert(vcpu.accepting === null, `td_exit: vCPU ${vcpu.index} holds an ACCEPT`);
  assert(!vcpu.holdsSeptLock, `td_exit: vCPU ${vcpu.index} is still inside TDH.VP.ENTER`);
  tlb_tracking_exit(td, vcpu);
  vcpu.inGuest = false;
}

// kick_all_vcpus lives in kick_all_vcpus.ts (it completes in-flight ACCEPTs first); re-exported
// here because the KVM glue reaches for it beside VP.ENTER.
export { kick_all_vcpus } from './kick_all_vcpus.ts';
