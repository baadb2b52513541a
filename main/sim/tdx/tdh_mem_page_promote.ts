// TDH.MEM.PAGE.PROMOTE (leaf 23, version 0): merge 512 identical, contiguous leaves into one.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_mem_page_promote.c (tdx-module.md
// 2.10). Upstream KVM does not use it; Yamahata's 2023-24 large-page patches did.
//
// In:  RCX = GPA | level of the resulting leaf (1 = 2M, 2 = 1G); RDX = TDR (the `td`).
// Out: TDX_SUCCESS with RCX = the freed S-EPT page's HPA; the entry becomes a copy of child 0 at
//      the higher level (MAPPED or PENDING, not blocked), the 512 PAMT entries merge into one,
//      the child page's PAMT entry becomes PT_NDA (cache-dirty), CHLDCNT -= 1.
// Fails, in order: the prologue, OPERAND_INVALID|RCX, OPERAND_BUSY|SEPT_TREE, EPT_WALK_FAILED|RCX,
//      OPERAND_BUSY|RCX (parent locked; sets TDHP), EPT_ENTRY_STATE_INCORRECT|RCX (not
//      NL_MAPPED/NL_BLOCKED), while running GPA_RANGE_NOT_BLOCKED|RCX and
//      TLB_TRACKING_NOT_DONE|RCX (the child page's BEPOCH), then the child scan in index order
//      (is_sept_page_valid_for_merge): a child locked by a guest gives OPERAND_BUSY|RCX (and
//      TDHP on that child); child 0 not MAPPED/PENDING or not size-aligned, or a child differing
//      in state or HPA, gives TDX_EPT_INVALID_PROMOTE_CONDITIONS|RCX (a mix of accepted and
//      pending pages is the usual cause). For both, RCX/RDX describe the PARENT entry at the
//      requested level (set_arch_septe_details_in_vmm_regs on the merged entry), not the child.
//      Then TDX_INTERRUPTED_RESTARTABLE when `td.hostInterruptPending`.
import { SEPT_STATE_MAPPED, SEPT_STATE_PENDING } from '../../../shared/sept.ts';
import {
  OPERAND_ID_RCX, OPERAND_ID_RDX, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_EPT_INVALID_PROMOTE_CONDITIONS,
  TDX_INTERRUPTED_RESTARTABLE, TDX_OPERAND_BUSY, TDX_SUCCESS, api_error_with_operand_id, type TdxStatus,
} from '../../../shared/tdx_status.ts';
import {
  TDX_LOCK_SHARED, check_blocked_and_tracked, lock_sept_check_and_walk, mark_cache_dirty, newLeafLocks,
  release_leaf_locks, seamcall_prologue, sept_error, sept_lock_acquire_host, type LeafLocks,
} from './helpers.ts';
import { PT_4KB, pamt_free, pamt_promote } from './pamt.ts';
import { TDH_MEM_PAGE_PROMOTE_LEAF } from './seamcall_leaves.ts';
import { sept_state_is_seamcall_leaf_allowed } from './sept_state_lookup.ts';
import {
  POW512, seamcallResult, sept_entry_write, sept_page_report_dropped, td_max_level, type SeamcallResult,
  type SeptPage, type Td,
} from './td.ts';
import { rem_pow2 } from '../int_rem.ts';

export function tdh_mem_page_promote(td: Td, rcx: number): SeamcallResult {
  const locks = newLeafLocks();
  try {
    return page_promote_locked(td, rcx, locks);
  } finally {
    release_leaf_locks(td, locks);
  }
}

function page_promote_locked(td: Td, rcx: number, locks: LeafLocks): SeamcallResult {
  const status = seamcall_prologue(td, TDH_MEM_PAGE_PROMOTE_LEAF, OPERAND_ID_RDX, TDX_LOCK_SHARED, locks);
  if (status !== TDX_SUCCESS) return seamcallResult(status);
  const walk = lock_sept_check_and_walk(td, rcx, 1, Math.min(2, td_max_level(td)), TDX_LOCK_SHARED, true, locks);
  if ('status' in walk) return walk;
  const { page, idx, level } = walk;
  if (!sept_state_is_seamcall_leaf_allowed(TDH_MEM_PAGE_PROMOTE_LEAF, page.state[idx])) {
    return sept_error(api_error_with_operand_id(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID_RCX), page, idx, level);
  }
  const notTracked = check_blocked_and_tracked(td, page, idx, level);
  if (notTracked !== null) return notTracked;
  const child = page.child[idx]!;
  const merge = is_sept_page_valid_for_merge(td, child, level);
  if (merge !== TDX_SUCCESS) return sept_error(api_error_with_operand_id(merge, OPERAND_ID_RCX), page, idx, level);
  if (td.hostInterruptPending) return seamcallResult(TDX_INTERRUPTED_RESTARTABLE, rcx, td.config.tdrPfn * 4096);

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  const mergedState = child.state[0];
  const mergedPfn = child.target[0];
  sept_page_report_dropped(td, child);
  sept_entry_write(td, page, idx, mergedState, mergedPfn, null);
  pamt_promote(td.pamt, mergedPfn, level);
  pamt_free(td.pamt, child.pfn, PT_4KB);
  mark_cache_dirty(td, child.pfn, 1);
  td.chldcnt -= 1;
  return seamcallResult(TDX_SUCCESS, child.pfn * 4096);
}

/**
 * is_sept_page_valid_for_merge: lock each child in turn (sept_lock_acquire_host: TDHP cleared on
 * success, set on a child a guest holds), and check it against child 0. Returns the bare code
 * (OPERAND_BUSY or EPT_INVALID_PROMOTE_CONDITIONS; the caller adds RCX and the parent's
 * details), or TDX_SUCCESS when all 512 qualify. The child locks are released on return.
 */
function is_sept_page_valid_for_merge(td: Td, child: SeptPage, mergedLevel: number): TdxStatus {
  const childLocks = newLeafLocks();
  const state0 = child.state[0];
  const pfn0 = child.target[0];
  const stride = POW512[mergedLevel - 1];
  for (let i = 0; i < 512; i++) {
    if (sept_lock_acquire_host(td, child, i, childLocks) !== null) return TDX_OPERAND_BUSY;
    if (i === 0) {
      if (rem_pow2(pfn0, POW512[mergedLevel]) !== 0) return TDX_EPT_INVALID_PROMOTE_CONDITIONS;
      if (state0 !== SEPT_STATE_MAPPED && state0 !== SEPT_STATE_PENDING) return TDX_EPT_INVALID_PROMOTE_CONDITIONS;
      continue;
    }
    if (child.state[i] !== state0 || child.target[i] !== pfn0 + i * stride) return TDX_EPT_INVALID_PROMOTE_CONDITIONS;
  }
  return TDX_SUCCESS;
}
