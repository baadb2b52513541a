// Teardown leaves: VP.FLUSH, VPFLUSHDONE, CACHE.WB, KEY.FREEID, and MR.FINALIZE.
import { describe, expect, it } from 'vitest';
import { tdx_status_name } from '../../../shared/tdx_status.ts';
import { hashState } from './td_state.ts';
import { TD_BLOCKED, TD_TEARDOWN, td_hkid_assigned } from './td.ts';
import { PA, aug, finalize, fixture, ok, rcx } from './tdx_test_support.ts';
import { tdh_mem_page_aug } from './tdh_mem_page_aug.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';
import { tdh_mng_key_freeid } from './tdh_mng_key_freeid.ts';
import { tdh_mng_vpflushdone } from './tdh_mng_vpflushdone.ts';
import { tdh_mr_finalize } from './tdh_mr_finalize.ts';
import { tdh_phymem_cache_wb } from './tdh_phymem_cache_wb.ts';
import { tdh_vp_enter_begin, tdh_vp_enter_end } from './tdh_vp_enter.ts';
import { tdh_vp_flush } from './tdh_vp_flush.ts';

describe('TD lifecycle leaves', () => {
  it('VPFLUSHDONE needs every entered vCPU flushed', () => {
    const f = fixture();
    finalize(f);
    ok(tdh_vp_enter_begin(f.td, 0));
    expect(tdx_status_name(tdh_vp_flush(f.td, 0).status)).toBe('TDX_OPERAND_BUSY|RCX');
    let before = hashState(f.td);
    expect(tdx_status_name(tdh_mng_vpflushdone(f.td).status)).toBe('TDX_FLUSHVP_NOT_DONE');
    expect(hashState(f.td)).toBe(before);
    tdh_vp_enter_end(f.td, 0);
    ok(tdh_vp_flush(f.td, 0));
    ok(tdh_mng_vpflushdone(f.td));
    expect(f.td.lifecycle).toBe(TD_BLOCKED);
    before = hashState(f.td);
    expect(tdx_status_name(tdh_mng_vpflushdone(f.td).status)).toBe('TDX_LIFECYCLE_STATE_INCORRECT');
    expect(hashState(f.td)).toBe(before);
  });

  it('after VPFLUSHDONE every S-EPT leaf fails TDX_TD_KEYS_NOT_CONFIGURED', () => {
    const f = fixture();
    finalize(f); aug(f, 1024, 0);
    ok(tdh_mng_vpflushdone(f.td));
    expect(tdx_status_name(tdh_mem_range_block(f.td, rcx(1024, 0)).status)).toBe('TDX_TD_KEYS_NOT_CONFIGURED');
    expect(tdx_status_name(tdh_mem_page_aug(f.td, rcx(1025, 0), PA(0x5000)).status)).toBe('TDX_TD_KEYS_NOT_CONFIGURED');
    expect(tdx_status_name(tdh_vp_enter_begin(f.td, 0).status)).toBe('TDX_TD_KEYS_NOT_CONFIGURED');
  });

  it('KEY.FREEID needs TD_BLOCKED and a CACHE.WB after it', () => {
    const f = fixture();
    expect(tdx_status_name(tdh_mng_key_freeid(f.td).status)).toBe('TDX_LIFECYCLE_STATE_INCORRECT');
    expect(tdx_status_name(tdh_phymem_cache_wb(f.td).status)).toBe('TDX_NO_HKID_READY_TO_WBCACHE');
    ok(tdh_mng_vpflushdone(f.td));
    expect(tdx_status_name(tdh_mng_key_freeid(f.td).status)).toBe('TDX_WBCACHE_NOT_COMPLETE');
    ok(tdh_phymem_cache_wb(f.td));
    ok(tdh_mng_key_freeid(f.td));
    expect(f.td.lifecycle).toBe(TD_TEARDOWN);
    expect(td_hkid_assigned(f.td)).toBe(false);
  });

  it('MR.FINALIZE once: INITIALIZED -> RUNNABLE, then OP_STATE_INCORRECT', () => {
    const f = fixture();
    ok(tdh_mr_finalize(f.td));
    expect(f.td.opState).toBe(2);
    expect(tdx_status_name(tdh_mr_finalize(f.td).status)).toBe('TDX_OP_STATE_INCORRECT');
  });
});
