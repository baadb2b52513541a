import { describe, expect, it } from 'vitest';
import { sept_lookup } from './sept_walk.ts';
import { aug, blockTracked, buildPath, finalize, mapped, rcx, runLeafCase, type LeafCase } from './tdx_test_support.ts';
import { tdh_mem_page_remove } from './tdh_mem_page_remove.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';
import { tdh_mem_sept_remove } from './tdh_mem_sept_remove.ts';

const G = 1024;

const CASES: LeafCase[] = [
  {
    name: 'empty PT page, parent blocked and tracked: FREE, RCX = page HPA',
    setup: (f) => { finalize(f); buildPath(f, G, 0); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_sept_remove(f.td, rcx(G, 1)), want: 'TDX_SUCCESS',
    check: (f, r) => {
      expect(r.rcx).toBe(0x1002 * 4096);
      expect(sept_lookup(f.td, G, 2)!.state).toBe(0);
      expect(f.td.pamt.bySize[0].has(0x1002)).toBe(false);
    },
  },
  {
    name: 'a child still MAPPED (leaves must go first)',
    setup: (f) => { mapped(f, G, 0); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_sept_remove(f.td, rcx(G, 1)), want: 'TDX_EPT_PAGE_NOT_FREE|RCX',
    check: (_f, r) => expect(r.status).toBe(0xc0000b0e * 65536 + 1),
  },
  {
    name: 'a child MAPPED, before finalize',
    setup: (f) => { aug(f, G, 0); },
    call: (f) => tdh_mem_sept_remove(f.td, rcx(G, 1)), want: 'TDX_EPT_PAGE_NOT_FREE|RCX',
  },
  {
    name: 'NL_MAPPED in a running TD',
    setup: (f) => { finalize(f); buildPath(f, G, 0); },
    call: (f) => tdh_mem_sept_remove(f.td, rcx(G, 1)), want: 'TDX_GPA_RANGE_NOT_BLOCKED|RCX',
  },
  {
    name: 'NL_BLOCKED, not tracked',
    setup: (f) => { finalize(f); buildPath(f, G, 0); tdh_mem_range_block(f.td, rcx(G, 1)); },
    call: (f) => tdh_mem_sept_remove(f.td, rcx(G, 1)), want: 'TDX_TLB_TRACKING_NOT_DONE|RCX',
  },
  {
    name: 'a leaf at the level',
    setup: (f) => { finalize(f); aug(f, G, 1); },
    call: (f) => tdh_mem_sept_remove(f.td, rcx(G, 1)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
  {
    name: 'the leaf was removed first, then the table',
    setup: (f) => {
      mapped(f, G, 0); blockTracked(f, G, 0); tdh_mem_page_remove(f.td, rcx(G, 0)); blockTracked(f, G, 1);
    },
    call: (f) => tdh_mem_sept_remove(f.td, rcx(G, 1)), want: 'TDX_SUCCESS',
  },
];

describe('TDH.MEM.SEPT.REMOVE', () => {
  for (const c of CASES) it(`${c.name} -> ${c.want}`, () => runLeafCase(c));
});
