// TDH.PHYMEM.PAGE.RECLAIM (leaf 28): take a page back from a TD being torn down.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_phymem_page_reclaim.c (tdx-module.md 2.12).
//
// In:  RCX = page HPA (4K-aligned; the start of the page's PAMT leaf for a 2M/1G page).
// Out: TDX_SUCCESS with RCX = PAMT page type, RDX = owner TDR HPA, R8 = size (0/1/2); the PAMT
//      entry becomes PT_NDA and CHLDCNT -= 512^size (not for the TDR itself). The S-EPT is not
//      touched: at TD_TEARDOWN pages can be reclaimed in any order, the TDR last.
// Fails, in order: OPERAND_INVALID|RCX (unaligned, or not the start of its PAMT leaf),
//      OPERAND_ADDR_RANGE_ERROR|RCX, PAGE_METADATA_INCORRECT|RCX (PT_NDA/PT_RSVD),
//      TDX_LIFECYCLE_STATE_INCORRECT (owner not in TD_TEARDOWN: "allowed only when destroying
//      the TD"), TDX_TD_ASSOCIATED_PAGES_EXIST (the TDR while CHLDCNT != 0).
// The page's PAMT lock never collides here (no holder spans steps), so OPERAND_BUSY|RCX is not produced.
import {
  OPERAND_ID_RCX, TDX_LIFECYCLE_STATE_INCORRECT, TDX_OPERAND_ADDR_RANGE_ERROR, TDX_OPERAND_INVALID,
  TDX_PAGE_METADATA_INCORRECT, TDX_SUCCESS, TDX_TD_ASSOCIATED_PAGES_EXIST, api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import { PAGES_PER_SIZE, PT_RSVD, PT_TDR, pamt_free, pamt_walk } from './pamt.ts';
import { TD_TEARDOWN, seamcallResult, type SeamcallResult, type Td } from './td.ts';
import { rem_pow2 } from '../int_rem.ts';

export function tdh_phymem_page_reclaim(td: Td, rcx: number): SeamcallResult {
  if (!Number.isSafeInteger(rcx) || rcx < 0 || rem_pow2(rcx, 4096) !== 0 || rcx >= 2 ** 40) {
    return seamcallResult(api_error_with_operand_id(TDX_OPERAND_INVALID, OPERAND_ID_RCX));
  }
  const pfn = rcx / 4096;
  if (pfn >= td.config.tdmrPfnEnd) return seamcallResult(api_error_with_operand_id(TDX_OPERAND_ADDR_RANGE_ERROR, OPERAND_ID_RCX));
  const leaf = pamt_walk(td.pamt, pfn);
  if (leaf === null || leaf.entry.pt === PT_RSVD) {
    return seamcallResult(api_error_with_operand_id(TDX_PAGE_METADATA_INCORRECT, OPERAND_ID_RCX));
  }
  if (leaf.pfnBase !== pfn) return seamcallResult(api_error_with_operand_id(TDX_OPERAND_INVALID, OPERAND_ID_RCX));
  // The owner is this TD (the model has one TD per run).
  if (td.lifecycle !== TD_TEARDOWN) return seamcallResult(TDX_LIFECYCLE_STATE_INCORRECT);
  const isTdr = leaf.entry.pt === PT_TDR;
  if (isTdr && td.chldcnt !== 0) return seamcallResult(TDX_TD_ASSOCIATED_PAGES_EXIST);

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  const { pt, owner } = leaf.entry;
  pamt_free(td.pamt, pfn, leaf.size);
  if (!isTdr) td.chldcnt -= PAGES_PER_SIZE[leaf.size];
  return seamcallResult(TDX_SUCCESS, pt, owner * 4096, leaf.size);
}
