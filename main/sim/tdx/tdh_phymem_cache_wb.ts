// TDH.PHYMEM.CACHE.WB (leaf 40): write back the caches of the HKIDs being freed. Models
// intel/tdx-module src/vmm_dispatcher/api_calls/tdh_phymem_cache_wb.c, simplified to one
// package and one uninterrupted call (no TDX_INTERRUPTED_RESUMABLE loop).
//
// Out: TDX_SUCCESS when the TD is TD_BLOCKED (KEY.FREEID may now succeed, and no removed page
//      is cache-dirty any more); TDX_NO_HKID_READY_TO_WBCACHE otherwise (the kernel treats it as
//      success). It never fails.
import { TDX_NO_HKID_READY_TO_WBCACHE, TDX_SUCCESS } from '../../../shared/tdx_status.ts';
import { TD_BLOCKED, seamcallResult, type SeamcallResult, type Td } from './td.ts';

export function tdh_phymem_cache_wb(td: Td): SeamcallResult {
  if (td.lifecycle !== TD_BLOCKED) return seamcallResult(TDX_NO_HKID_READY_TO_WBCACHE);

  // ALL_CHECKS_PASSED: the function is guaranteed to succeed
  td.wbcacheDone = true;
  td.cacheDirty.clear();
  return seamcallResult(TDX_SUCCESS);
}
