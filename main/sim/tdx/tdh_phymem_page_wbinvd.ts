// TDH.PHYMEM.PAGE.WBINVD (leaf 41): write back and invalidate one 4K page's cache lines for a key.
// Models intel/tdx-module src/vmm_dispatcher/api_calls/tdh_phymem_page_wbinvd.c (tdx-module.md 2.13).
//
// In:  RCX = page PA with the HKID in its upper bits; the model takes them apart as `hpa` and
//      `hkid` (the TD's HKID for TD pages, the global TDX KeyID for the TDR).
// Out: TDX_SUCCESS; the page is no longer cache-dirty (see tdh_mem_page_remove).
// Fails, in order: OPERAND_INVALID|RCX (unaligned), OPERAND_ADDR_RANGE_ERROR|RCX,
//      PAGE_METADATA_INCORRECT|RCX (the page is not PT_NDA: still assigned to a TD).
import {
  OPERAND_ID_RCX, TDX_OPERAND_ADDR_RANGE_ERROR, TDX_OPERAND_INVALID, TDX_PAGE_METADATA_INCORRECT, TDX_SUCCESS,
  api_error_with_operand_id,
} from '../../../shared/tdx_status.ts';
import { pamt_walk } from './pamt.ts';
import { seamcallResult, type SeamcallResult, type Td } from './td.ts';
import { rem_pow2 } from '../int_rem.ts';

export function tdh_phymem_page_wbinvd(td: Td, hpa: number, hkid: number): SeamcallResult {
  if (!Number.isSafeInteger(hpa) || hpa < 0 || rem_pow2(hpa, 4096) !== 0 || hpa >= 2 ** 40 || hkid < 0) {
    return seamcallResult(api_error_with_operand_id(TDX_OPERAND_INVALID, OPERAND_ID_RCX));
  }
  const pfn = hpa / 4096;
  if (pfn >= td.config.tdmrPfnEnd) return seamcallResult(api_error_with_operand_id(TDX_OPERAND_ADDR_RANGE_ERROR, OPERAND_ID_RCX));
  if (pamt_walk(td.pamt, pfn) !== null) return seamcallResult(api_error_with_operand_id(TDX_PAGE_METADATA_INCORRECT, OPERAND_ID_RCX));

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  td.cacheDirty.delete(pfn);
  return seamcallResult(TDX_SUCCESS);
}
