import { describe, expect, it } from 'vitest';
import { tdx_status_name } from '../../../shared/tdx_status.ts';
import { checkModelInvariants } from './invariants.ts';
import { hashState } from './td_state.ts';
import { PA, aug, blockTracked, fixture, finalize, mapped, ok, rcx, reclaimAll, teardown } from './tdx_test_support.ts';
import { tdh_mem_page_remove } from './tdh_mem_page_remove.ts';
import { tdh_phymem_page_reclaim } from './tdh_phymem_page_reclaim.ts';
import { tdh_phymem_page_wbinvd } from './tdh_phymem_page_wbinvd.ts';

const G = 1024;

describe('TDH.PHYMEM.PAGE.RECLAIM', () => {
  const table: ReadonlyArray<[string, (f: ReturnType<typeof fixture>) => number, string]> = [
    ['before teardown', (f) => { mapped(f, G, 0); return PA(0x1003); }, 'TDX_LIFECYCLE_STATE_INCORRECT'],
    ['a free page', (f) => { teardown(f); return PA(0x4444); }, 'TDX_PAGE_METADATA_INCORRECT|RCX'],
    ['unaligned', (f) => { teardown(f); return PA(0x11) + 1; }, 'TDX_OPERAND_INVALID|RCX'],
    ['inside a 2M page, not its start', (f) => { finalize(f); aug(f, G, 1); teardown(f); return PA(0x10001); }, 'TDX_OPERAND_INVALID|RCX'],
    ['the TDR while pages remain', (f) => { teardown(f); return PA(f.td.config.tdrPfn); }, 'TDX_TD_ASSOCIATED_PAGES_EXIST'],
  ];
  for (const [name, setup, want] of table) {
    it(`${name} -> ${want}`, () => {
      const f = fixture();
      const pa = setup(f);
      const before = hashState(f.td);
      expect(tdx_status_name(tdh_phymem_page_reclaim(f.td, pa).status)).toBe(want);
      expect(hashState(f.td)).toBe(before);
    });
  }

  it('at TD_TEARDOWN: any order, TDR last, CHLDCNT reaches 0; outputs type/owner/size', () => {
    const f = fixture();
    finalize(f); aug(f, G, 1); mapped(f, 0, 0);
    teardown(f);
    const r = tdh_phymem_page_reclaim(f.td, PA(0x10000));
    ok(r);
    expect([r.rcx, r.rdx, r.r8]).toEqual([3, PA(f.td.config.tdrPfn), 1]);
    reclaimAll(f);
    expect(f.td.chldcnt).toBe(0);
    expect(f.td.pamt.bySize.every((m) => m.size === 0)).toBe(true);
    expect(checkModelInvariants(f.td)).toEqual([]);
  });
});

describe('TDH.PHYMEM.PAGE.WBINVD', () => {
  it('a removed page: cache-dirty until WBINVD; an owned page is refused', () => {
    const f = fixture();
    mapped(f, G, 0);
    expect(tdx_status_name(tdh_phymem_page_wbinvd(f.td, PA(0x1003), 5).status)).toBe('TDX_PAGE_METADATA_INCORRECT|RCX');
    blockTracked(f, G, 0);
    ok(tdh_mem_page_remove(f.td, rcx(G, 0)));
    expect(f.td.cacheDirty.has(0x1003)).toBe(true);
    ok(tdh_phymem_page_wbinvd(f.td, PA(0x1003), 5));
    expect(f.td.cacheDirty.has(0x1003)).toBe(false);
    expect(tdx_status_name(tdh_phymem_page_wbinvd(f.td, PA(0x1003) + 64, 5).status)).toBe('TDX_OPERAND_INVALID|RCX');
  });
});
