import { describe, expect, it } from 'vitest';
import { SEPT_STATE_FREE } from './test_values.ts';
import { sept_lookup } from './sept_walk.ts';
import { PA, aug, blockTracked, buildPath, finalize, mapped, rcx, runLeafCase, type LeafCase } from './tdx_test_support.ts';
import { tdg_mem_page_accept_begin } from './tdg_mem_page_accept.ts';
import { tdh_mem_page_remove } from './tdh_mem_page_remove.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';
import { tdh_mem_track } from './tdh_mem_track.ts';
import { tdh_vp_enter_begin } from './tdh_vp_enter.ts';

const G = 1024;

const CASES: LeafCase[] = [
  {
    name: 'BLOCK, TRACK, kick, REMOVE: FREE, RCX = HPA, page cache-dirty',
    setup: (f) => { mapped(f, G, 0); blockTracked(f, G, 0); },
    call: (f) => tdh_mem_page_remove(f.td, rcx(G, 0)), want: 'TDX_SUCCESS',
    check: (f, r) => {
      expect(r.rcx).toBe(PA(0x1003));
      expect(sept_lookup(f.td, G, 1)!.state).toBe(SEPT_STATE_FREE);
      expect(f.td.pamt.bySize[0].has(0x1003)).toBe(false);
      expect(f.td.cacheDirty.has(0x1003)).toBe(true);
    },
  },
  {
    name: '2M PENDING_BLOCKED, tracked: 512 pages back',
    setup: (f) => { finalize(f); aug(f, G, 1); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_page_remove(f.td, rcx(G, 1)), want: 'TDX_SUCCESS',
    check: (f, r) => { expect(r.rcx).toBe(PA(0x10000)); expect(f.td.chldcnt).toBe(6 + 2); expect(f.td.cacheDirty.size).toBe(512); },
  },
  {
    name: 'MAPPED in a running TD',
    setup: (f) => { mapped(f, G, 0); },
    call: (f) => tdh_mem_page_remove(f.td, rcx(G, 0)), want: 'TDX_GPA_RANGE_NOT_BLOCKED|RCX',
    check: (_f, r) => { expect(r.status).toBe(0xc0000b06 * 65536 + 1); expect(r.rdx).toBe(4 << 8); },
  },
  {
    name: 'BLOCK without TRACK',
    setup: (f) => { mapped(f, G, 0); tdh_mem_range_block(f.td, rcx(G, 0)); },
    call: (f) => tdh_mem_page_remove(f.td, rcx(G, 0)), want: 'TDX_TLB_TRACKING_NOT_DONE|RCX',
    check: (_f, r) => expect(r.status).toBe(0xc0000b08 * 65536 + 1),
  },
  {
    name: 'BLOCK and TRACK without the kick (vCPU 0 still in guest from the block epoch)',
    setup: (f) => { mapped(f, G, 0); tdh_mem_range_block(f.td, rcx(G, 0)); tdh_mem_track(f.td); },
    call: (f) => tdh_mem_page_remove(f.td, rcx(G, 0)), want: 'TDX_TLB_TRACKING_NOT_DONE|RCX',
  },
  {
    name: 'before finalize: MAPPED/PENDING removed without BLOCK',
    setup: (f) => { aug(f, G, 0); },
    call: (f) => tdh_mem_page_remove(f.td, rcx(G, 0)), want: 'TDX_SUCCESS',
  },
  {
    name: 'a non-leaf at the level',
    setup: (f) => { finalize(f); buildPath(f, G, 0); },
    call: (f) => tdh_mem_page_remove(f.td, rcx(G, 1)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
  {
    name: 'FREE entry',
    setup: (f) => { finalize(f); buildPath(f, G, 0); },
    call: (f) => tdh_mem_page_remove(f.td, rcx(G, 0)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
  {
    name: 'entry held by a guest ACCEPT',
    setup: (f) => { finalize(f); aug(f, G, 0); tdh_vp_enter_begin(f.td, 0); tdg_mem_page_accept_begin(f.td, 0, rcx(G, 0)); },
    call: (f) => tdh_mem_page_remove(f.td, rcx(G, 0)), want: 'TDX_OPERAND_BUSY|RCX', setsTdhp: true,
  },
];

describe('TDH.MEM.PAGE.REMOVE', () => {
  for (const c of CASES) it(`${c.name} -> ${c.want}`, () => runLeafCase(c));
});
