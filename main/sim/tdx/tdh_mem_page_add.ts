// TDH.MEM.PAGE.ADD (leaf 2): add and measure an initial-image 4K page before TDH.MR.FINALIZE.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mem_page_add.c (tdx-module.md 2.2).
//
// In:  RCX = GPA | level (level must be 0); RDX = TDR (the `td`); R8 = target page HPA;
//      R9 = source page (a shared address; only its alignment is checked here).
// Out: TDX_SUCCESS; the entry becomes MAPPED, the target's PAMT entry PT_REG owned by the TD,
//      CHLDCNT += 1. (The copy and the MRTD extension are not modeled.)
// Locks: the TDR lock is taken exclusive and stands in for the S-EPT tree lock; no entry lock.
//      The module takes no OP_STATE lock here (check_state_map_tdcs_and_lock with
//      TDX_LOCK_NO_LOCK); the shared prologue takes it shared, which nothing in the model can
//      observe (no one holds it exclusive), so that difference is left in place.
// Fails, in order: the prologue (OP_STATE must be INITIALIZED: TDX_OP_STATE_INCORRECT after
//      finalize), OPERAND_INVALID|RCX, EPT_WALK_FAILED|RCX, EPT_ENTRY_STATE_INCORRECT|RCX (not
//      FREE), OPERAND_INVALID|R9 (the source: shared_hpa_check_with_pwr_2_alignment, of which
//      only the 4K alignment is modeled), then the R8 checks (check_lock_and_map_explicit_
//      private_4k_hpa: the source is checked before the target). Nothing changes on failure.
import { SEPT_STATE_MAPPED } from '../../../shared/sept.ts';
import {
  OPERAND_ID_R8, OPERAND_ID_R9, OPERAND_ID_RCX, OPERAND_ID_RDX, TDX_EPT_ENTRY_STATE_INCORRECT,
  TDX_OPERAND_INVALID, TDX_SUCCESS, api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import {
  check_free_hpa, lock_sept_check_and_walk, newLeafLocks, release_leaf_locks, seamcall_prologue,
  sept_error, type LeafLocks,
} from './helpers.ts';
import { PT_4KB, PT_REG, pamt_assign } from './pamt.ts';
import { TDH_MEM_PAGE_ADD_LEAF } from './seamcall_leaves.ts';
import { sept_state_is_seamcall_leaf_allowed } from './sept_state_lookup.ts';
import { seamcallResult, sept_entry_write, type SeamcallResult, type Td } from './td.ts';
import { TDX_LOCK_EXCLUSIVE } from './tdx_locks.ts';
import { rem_pow2 } from '../int_rem.ts';

export function tdh_mem_page_add(td: Td, rcx: number, r8: number, r9: number): SeamcallResult {
  const locks = newLeafLocks();
  try {
    return page_add_locked(td, rcx, r8, r9, locks);
  } finally {
    release_leaf_locks(td, locks);
  }
}

function page_add_locked(td: Td, rcx: number, r8: number, r9: number, locks: LeafLocks): SeamcallResult {
  let status = seamcall_prologue(td, TDH_MEM_PAGE_ADD_LEAF, OPERAND_ID_RDX, TDX_LOCK_EXCLUSIVE, locks);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  const walk = lock_sept_check_and_walk(td, rcx, 0, 0, null, false, locks);
  if ('status' in walk) return walk;
  const { page, idx, level } = walk;
  if (!sept_state_is_seamcall_leaf_allowed(TDH_MEM_PAGE_ADD_LEAF, page.state[idx])) {
    return sept_error(api_error_with_operand_id(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID_RCX), page, idx, level);
  }
  // shared_hpa_check_with_pwr_2_alignment(R9) comes before the target page R8.
  if (!Number.isSafeInteger(r9) || r9 < 0 || rem_pow2(r9, 4096) !== 0) {
    return seamcallResult(api_error_with_operand_id(TDX_OPERAND_INVALID, OPERAND_ID_R9));
  }
  status = check_free_hpa(td, r8, OPERAND_ID_R8, PT_4KB);
  if (status !== TDX_SUCCESS) return seamcallResult(status);

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  const pfn = r8 / 4096;
  sept_entry_write(td, page, idx, SEPT_STATE_MAPPED, pfn, null);
  pamt_assign(td.pamt, pfn, PT_4KB, PT_REG, td.config.tdrPfn);
  td.chldcnt += 1;
  return seamcallResult(TDX_SUCCESS);
}
