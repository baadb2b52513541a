// TDH.MEM.PAGE.REMOVE (leaf 29): remove a 4K/2M/1G leaf from a TD.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mem_page_remove.c (tdx-module.md 2.6).
//
// In:  RCX = GPA | level (0..2); RDX = TDR (the `td`).
// Out: TDX_SUCCESS with RCX = the removed page's HPA; the entry becomes FREE, the page's PAMT
//      entry PT_NDA, CHLDCNT -= 512^level. The page is neither zeroed nor flushed: its 4K pages
//      are marked cache-dirty until TDH.PHYMEM.PAGE.WBINVD (or CACHE.WB).
// Fails, in order: the prologue, OPERAND_INVALID|RCX, OPERAND_BUSY|SEPT_TREE (tree shared),
//      EPT_WALK_FAILED|RCX, OPERAND_BUSY|RCX (sets TDHP), EPT_ENTRY_STATE_INCORRECT|RCX (not a
//      leaf, or FREE), and while the TD runs: GPA_RANGE_NOT_BLOCKED|RCX (MAPPED/PENDING),
//      TLB_TRACKING_NOT_DONE|RCX (blocked but not tracked). Before finalize no BLOCK/TRACK is needed.
import { SEPT_STATE_FREE, sept_state_is_leaf } from '../../../shared/sept.ts';
import {
  OPERAND_ID_RCX, OPERAND_ID_RDX, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_SUCCESS, api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import {
  TDX_LOCK_SHARED, check_blocked_and_tracked, lock_sept_check_and_walk, mark_cache_dirty, newLeafLocks,
  release_leaf_locks, seamcall_prologue, sept_error, type LeafLocks,
} from './helpers.ts';
import { PAGES_PER_SIZE, pamt_free } from './pamt.ts';
import { TDH_MEM_PAGE_REMOVE_LEAF } from './seamcall_leaves.ts';
import { sept_state_is_seamcall_leaf_allowed } from './sept_state_lookup.ts';
import { seamcallResult, sept_entry_write, td_max_level, type SeamcallResult, type Td } from './td.ts';

export function tdh_mem_page_remove(td: Td, rcx: number): SeamcallResult {
  const locks = newLeafLocks();
  try {
    return page_remove_locked(td, rcx, locks);
  } finally {
    release_leaf_locks(td, locks);
  }
}

function page_remove_locked(td: Td, rcx: number, locks: LeafLocks): SeamcallResult {
  const status = seamcall_prologue(td, TDH_MEM_PAGE_REMOVE_LEAF, OPERAND_ID_RDX, TDX_LOCK_SHARED, locks);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  const walk = lock_sept_check_and_walk(td, rcx, 0, Math.min(2, td_max_level(td)), TDX_LOCK_SHARED, true, locks);
  if ('status' in walk) return walk;
  const { page, idx, level } = walk;
  const state = page.state[idx];
  if (!sept_state_is_leaf(state) || !sept_state_is_seamcall_leaf_allowed(TDH_MEM_PAGE_REMOVE_LEAF, state)) {
    return sept_error(api_error_with_operand_id(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID_RCX), page, idx, level);
  }
  const notTracked = check_blocked_and_tracked(td, page, idx, level);
  if (notTracked !== null) return notTracked;

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  const pfn = page.target[idx];
  sept_entry_write(td, page, idx, SEPT_STATE_FREE, 0, null);
  td.chldcnt -= PAGES_PER_SIZE[level];
  pamt_free(td.pamt, pfn, level);
  mark_cache_dirty(td, pfn, PAGES_PER_SIZE[level]);
  return seamcallResult(TDX_SUCCESS, pfn * 4096);
}
