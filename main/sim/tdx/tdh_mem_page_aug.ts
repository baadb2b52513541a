// TDH.MEM.PAGE.AUG (leaf 6): add a PENDING 4K or 2M page to a TD (the guest then accepts it).
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mem_page_aug.c (tdx-module.md 2.3).
//
// In:  RCX = GPA | level (0 or 1); RDX = TDR (the `td`); R8 = page HPA, aligned to the size.
// Out: TDX_SUCCESS; the entry becomes a PENDING leaf (RWX = 0) at that level, the page's PAMT
//      entry at that size PT_REG owned by the TD with BEPOCH 0, CHLDCNT += 512^level. The page's
//      contents are untouched (the guest's ACCEPT zeroes it).
// Fails, in order: the prologue, OPERAND_INVALID|RCX, OPERAND_BUSY|SEPT_TREE (VP.ENTER under
//      zero-step mitigation holds the tree), EPT_WALK_FAILED|RCX (e.g. 4K under a 2M leaf, or a
//      missing parent), OPERAND_BUSY|RCX (guest ACCEPT holds the entry; sets TDHP),
//      EPT_ENTRY_STATE_INCORRECT|RCX (not FREE: already PENDING or MAPPED, or NL_MAPPED for a 2M
//      AUG), then R8: OPERAND_INVALID, OPERAND_ADDR_RANGE_ERROR, PAGE_METADATA_INCORRECT (2M:
//      all 512 4K PAMT entries must be free). Nothing changes on failure, except TDHP.
import { SEPT_STATE_PENDING } from '../../../shared/sept.ts';
import {
  OPERAND_ID_R8, OPERAND_ID_RCX, OPERAND_ID_RDX, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_SUCCESS,
  api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import {
  TDX_LOCK_SHARED, check_free_hpa, lock_sept_check_and_walk, newLeafLocks, release_leaf_locks,
  seamcall_prologue, sept_error, type LeafLocks,
} from './helpers.ts';
import { PAGES_PER_SIZE, PT_REG, pamt_assign } from './pamt.ts';
import { TDH_MEM_PAGE_AUG_LEAF } from './seamcall_leaves.ts';
import { sept_state_is_seamcall_leaf_allowed } from './sept_state_lookup.ts';
import { seamcallResult, sept_entry_write, type SeamcallResult, type Td } from './td.ts';

export function tdh_mem_page_aug(td: Td, rcx: number, r8: number): SeamcallResult {
  const locks = newLeafLocks();
  try {
    return page_aug_locked(td, rcx, r8, locks);
  } finally {
    release_leaf_locks(td, locks);
  }
}

function page_aug_locked(td: Td, rcx: number, r8: number, locks: LeafLocks): SeamcallResult {
  let status = seamcall_prologue(td, TDH_MEM_PAGE_AUG_LEAF, OPERAND_ID_RDX, TDX_LOCK_SHARED, locks);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  const walk = lock_sept_check_and_walk(td, rcx, 0, 1, TDX_LOCK_SHARED, true, locks);
  if ('status' in walk) return walk;
  const { page, idx, level } = walk;
  if (!sept_state_is_seamcall_leaf_allowed(TDH_MEM_PAGE_AUG_LEAF, page.state[idx])) {
    return sept_error(api_error_with_operand_id(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID_RCX), page, idx, level);
  }
  status = check_free_hpa(td, r8, OPERAND_ID_R8, level);
  if (status !== TDX_SUCCESS) return seamcallResult(status);

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  const pfn = r8 / 4096;
  sept_entry_write(td, page, idx, SEPT_STATE_PENDING, pfn, null);
  td.chldcnt += PAGES_PER_SIZE[level];
  pamt_assign(td.pamt, pfn, level, PT_REG, td.config.tdrPfn);
  return seamcallResult(TDX_SUCCESS);
}
