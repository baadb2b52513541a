// SEAMCALL leaf numbers (RAX bits 15:0) and display names, from tdx-module.md section 5.1
// ([M] include/tdx_api_defs.h; DPAMT leaves 58/59 from [L7]). The guest's TDG.MEM.PAGE.ACCEPT is a
// TDCALL (leaf 6 of the TDCALL space), listed separately.

export const TDH_VP_ENTER_LEAF = 0;
export const TDH_MNG_ADDCX_LEAF = 1;
export const TDH_MEM_PAGE_ADD_LEAF = 2;
export const TDH_MEM_SEPT_ADD_LEAF = 3;
export const TDH_VP_ADDCX_LEAF = 4;
export const TDH_MEM_PAGE_RELOCATE_LEAF = 5;
export const TDH_MEM_PAGE_AUG_LEAF = 6;
export const TDH_MEM_RANGE_BLOCK_LEAF = 7;
export const TDH_MNG_KEY_CONFIG_LEAF = 8;
export const TDH_MNG_CREATE_LEAF = 9;
export const TDH_VP_CREATE_LEAF = 10;
export const TDH_MNG_RD_LEAF = 11;
export const TDH_MEM_RD_LEAF = 12;
export const TDH_MEM_WR_LEAF = 14;
export const TDH_MEM_PAGE_DEMOTE_LEAF = 15;
export const TDH_MR_EXTEND_LEAF = 16;
export const TDH_MR_FINALIZE_LEAF = 17;
export const TDH_VP_FLUSH_LEAF = 18;
export const TDH_MNG_VPFLUSHDONE_LEAF = 19;
export const TDH_MNG_KEY_FREEID_LEAF = 20;
export const TDH_MNG_INIT_LEAF = 21;
export const TDH_VP_INIT_LEAF = 22;
export const TDH_MEM_PAGE_PROMOTE_LEAF = 23;
export const TDH_PHYMEM_PAGE_RDMD_LEAF = 24;
export const TDH_MEM_SEPT_RD_LEAF = 25;
export const TDH_VP_RD_LEAF = 26;
export const TDH_MNG_KEY_RECLAIMID_LEAF = 27;
export const TDH_PHYMEM_PAGE_RECLAIM_LEAF = 28;
export const TDH_MEM_PAGE_REMOVE_LEAF = 29;
export const TDH_MEM_SEPT_REMOVE_LEAF = 30;
export const TDH_MEM_TRACK_LEAF = 38;
export const TDH_MEM_RANGE_UNBLOCK_LEAF = 39;
export const TDH_PHYMEM_CACHE_WB_LEAF = 40;
export const TDH_PHYMEM_PAGE_WBINVD_LEAF = 41;
export const TDH_VP_WR_LEAF = 43;
export const TDH_PHYMEM_PAMT_ADD_LEAF = 58;
export const TDH_PHYMEM_PAMT_REMOVE_LEAF = 59;
/** TDCALL leaf number of TDG.MEM.PAGE.ACCEPT (guest side). */
export const TDG_MEM_PAGE_ACCEPT_LEAF = 6;

export interface SeamcallLeafInfo {
  /** Display name as events carry it, e.g. "TDH.MEM.PAGE.AUG". */
  readonly name: string;
  readonly leaf: number;
  /** 'seamcall' (host, VMM side) or 'tdcall' (guest side). */
  readonly kind: 'seamcall' | 'tdcall';
  /** Whether main/sim/tdx models it. */
  readonly modeled: boolean;
}

/** Every leaf with its number; `modeled` marks the ones this model implements. */
export const SEAMCALL_LEAVES: readonly SeamcallLeafInfo[] = [
  { name: 'TDH.VP.ENTER', leaf: TDH_VP_ENTER_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MNG.ADDCX', leaf: TDH_MNG_ADDCX_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MEM.PAGE.ADD', leaf: TDH_MEM_PAGE_ADD_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MEM.SEPT.ADD', leaf: TDH_MEM_SEPT_ADD_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.VP.ADDCX', leaf: TDH_VP_ADDCX_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MEM.PAGE.RELOCATE', leaf: TDH_MEM_PAGE_RELOCATE_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MEM.PAGE.AUG', leaf: TDH_MEM_PAGE_AUG_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MEM.RANGE.BLOCK', leaf: TDH_MEM_RANGE_BLOCK_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MNG.KEY.CONFIG', leaf: TDH_MNG_KEY_CONFIG_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MNG.CREATE', leaf: TDH_MNG_CREATE_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.VP.CREATE', leaf: TDH_VP_CREATE_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MNG.RD', leaf: TDH_MNG_RD_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MEM.RD', leaf: TDH_MEM_RD_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MEM.WR', leaf: TDH_MEM_WR_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MEM.PAGE.DEMOTE', leaf: TDH_MEM_PAGE_DEMOTE_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MR.EXTEND', leaf: TDH_MR_EXTEND_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MR.FINALIZE', leaf: TDH_MR_FINALIZE_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.VP.FLUSH', leaf: TDH_VP_FLUSH_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MNG.VPFLUSHDONE', leaf: TDH_MNG_VPFLUSHDONE_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MNG.KEY.FREEID', leaf: TDH_MNG_KEY_FREEID_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MNG.INIT', leaf: TDH_MNG_INIT_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.VP.INIT', leaf: TDH_VP_INIT_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MEM.PAGE.PROMOTE', leaf: TDH_MEM_PAGE_PROMOTE_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.PHYMEM.PAGE.RDMD', leaf: TDH_PHYMEM_PAGE_RDMD_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MEM.SEPT.RD', leaf: TDH_MEM_SEPT_RD_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.VP.RD', leaf: TDH_VP_RD_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.MNG.KEY.RECLAIMID', leaf: TDH_MNG_KEY_RECLAIMID_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.PHYMEM.PAGE.RECLAIM', leaf: TDH_PHYMEM_PAGE_RECLAIM_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MEM.PAGE.REMOVE', leaf: TDH_MEM_PAGE_REMOVE_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MEM.SEPT.REMOVE', leaf: TDH_MEM_SEPT_REMOVE_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MEM.TRACK', leaf: TDH_MEM_TRACK_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.MEM.RANGE.UNBLOCK', leaf: TDH_MEM_RANGE_UNBLOCK_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.PHYMEM.CACHE.WB', leaf: TDH_PHYMEM_CACHE_WB_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.PHYMEM.PAGE.WBINVD', leaf: TDH_PHYMEM_PAGE_WBINVD_LEAF, kind: 'seamcall', modeled: true },
  { name: 'TDH.VP.WR', leaf: TDH_VP_WR_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.PHYMEM.PAMT.ADD', leaf: TDH_PHYMEM_PAMT_ADD_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDH.PHYMEM.PAMT.REMOVE', leaf: TDH_PHYMEM_PAMT_REMOVE_LEAF, kind: 'seamcall', modeled: false },
  { name: 'TDG.MEM.PAGE.ACCEPT', leaf: TDG_MEM_PAGE_ACCEPT_LEAF, kind: 'tdcall', modeled: true },
];
