// TDH.MEM.SEPT.REMOVE (leaf 30, version 0): unlink an empty S-EPT page. KVM does not call it
// (it keeps page tables until teardown), but designs that prune non-leaf entries at runtime would.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mem_sept_remove.c (tdx-module.md 2.7).
//
// In:  RCX = GPA | level of the parent entry (1..PWL); RDX = TDR (the `td`).
// Out: TDX_SUCCESS with RCX = the child page's HPA; the entry becomes FREE, the child page's PAMT
//      entry PT_NDA (marked cache-dirty), CHLDCNT -= 1.
// Fails, in order: the prologue, OPERAND_INVALID|RCX, OPERAND_BUSY|SEPT_TREE (tree exclusive),
//      EPT_WALK_FAILED|RCX, OPERAND_BUSY|RCX (sets TDHP), EPT_ENTRY_STATE_INCORRECT|RCX (not
//      NL_MAPPED/NL_BLOCKED), while running GPA_RANGE_NOT_BLOCKED|RCX and
//      TLB_TRACKING_NOT_DONE|RCX (the child page's BEPOCH), then TDX_EPT_PAGE_NOT_FREE|RCX if any
//      of the 512 children is not FREE: removal is strictly bottom-up.
import { SEPT_STATE_FREE } from '../../../shared/sept.ts';
import {
  OPERAND_ID_RCX, OPERAND_ID_RDX, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_EPT_PAGE_NOT_FREE, TDX_SUCCESS,
  api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import {
  TDX_LOCK_SHARED, check_blocked_and_tracked, lock_sept_check_and_walk, mark_cache_dirty, newLeafLocks,
  release_leaf_locks, seamcall_prologue, sept_error, type LeafLocks,
} from './helpers.ts';
import { PT_4KB, pamt_free } from './pamt.ts';
import { TDH_MEM_SEPT_REMOVE_LEAF } from './seamcall_leaves.ts';
import { sept_state_is_seamcall_leaf_allowed } from './sept_state_lookup.ts';
import {
  seamcallResult, sept_entry_write, sept_page_report_dropped, td_max_level, type SeamcallResult, type Td,
} from './td.ts';
import { TDX_LOCK_EXCLUSIVE } from './tdx_locks.ts';

export function tdh_mem_sept_remove(td: Td, rcx: number): SeamcallResult {
  const locks = newLeafLocks();
  try {
    return sept_remove_locked(td, rcx, locks);
  } finally {
    release_leaf_locks(td, locks);
  }
}

function sept_remove_locked(td: Td, rcx: number, locks: LeafLocks): SeamcallResult {
  const status = seamcall_prologue(td, TDH_MEM_SEPT_REMOVE_LEAF, OPERAND_ID_RDX, TDX_LOCK_SHARED, locks);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  const walk = lock_sept_check_and_walk(td, rcx, 1, td_max_level(td), TDX_LOCK_EXCLUSIVE, true, locks);
  if ('status' in walk) return walk;
  const { page, idx, level } = walk;
  if (!sept_state_is_seamcall_leaf_allowed(TDH_MEM_SEPT_REMOVE_LEAF, page.state[idx])) {
    return sept_error(api_error_with_operand_id(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID_RCX), page, idx, level);
  }
  const notTracked = check_blocked_and_tracked(td, page, idx, level);
  if (notTracked !== null) return notTracked;
  const child = page.child[idx]!;
  if (child.populated !== 0) {
    return sept_error(api_error_with_operand_id(TDX_EPT_PAGE_NOT_FREE, OPERAND_ID_RCX), page, idx, level);
  }

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  sept_page_report_dropped(td, child);
  sept_entry_write(td, page, idx, SEPT_STATE_FREE, 0, null);
  td.chldcnt -= 1;
  pamt_free(td.pamt, child.pfn, PT_4KB);
  mark_cache_dirty(td, child.pfn, 1);
  return seamcallResult(TDX_SUCCESS, child.pfn * 4096);
}
