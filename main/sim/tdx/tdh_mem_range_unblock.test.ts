import { describe, expect, it } from 'vitest';
import { SEPT_STATE_MAPPED, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING } from './test_values.ts';
import { sept_lookup } from './sept_walk.ts';
import { aug, blockTracked, buildPath, finalize, mapped, rcx, runLeafCase, type LeafCase } from './tdx_test_support.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';
import { tdh_mem_range_unblock } from './tdh_mem_range_unblock.ts';
import { tdh_mem_track } from './tdh_mem_track.ts';

const G = 1024;

const CASES: LeafCase[] = [
  {
    name: 'BLOCKED and tracked -> MAPPED',
    setup: (f) => { mapped(f, G, 0); blockTracked(f, G, 0); },
    call: (f) => tdh_mem_range_unblock(f.td, rcx(G, 0)), want: 'TDX_SUCCESS',
    check: (f) => expect(sept_lookup(f.td, G, 1)!.state).toBe(SEPT_STATE_MAPPED),
  },
  {
    name: 'PENDING_BLOCKED and tracked -> PENDING',
    setup: (f) => { finalize(f); aug(f, G, 1); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_range_unblock(f.td, rcx(G, 1)), want: 'TDX_SUCCESS',
    check: (f) => expect(sept_lookup(f.td, G, 2)!.state).toBe(SEPT_STATE_PENDING),
  },
  {
    name: 'NL_BLOCKED and tracked -> NL_MAPPED (a failed PROMOTE is undone this way)',
    setup: (f) => { finalize(f); buildPath(f, G, 0); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_range_unblock(f.td, rcx(G, 1)), want: 'TDX_SUCCESS',
    check: (f) => expect(sept_lookup(f.td, G, 2)!.state).toBe(SEPT_STATE_NL_MAPPED),
  },
  {
    name: 'BLOCKED, not tracked: operand is the S-EPT tree',
    setup: (f) => { mapped(f, G, 0); tdh_mem_range_block(f.td, rcx(G, 0)); },
    call: (f) => tdh_mem_range_unblock(f.td, rcx(G, 0)), want: 'TDX_TLB_TRACKING_NOT_DONE|SEPT_TREE',
    check: (_f, r) => expect(r.status).toBe(0xc0000b08 * 65536 + 0x92),
  },
  {
    name: 'BLOCKED, TRACK done but vCPU 0 still in guest since the block epoch',
    setup: (f) => { mapped(f, G, 0); tdh_mem_range_block(f.td, rcx(G, 0)); tdh_mem_track(f.td); },
    call: (f) => tdh_mem_range_unblock(f.td, rcx(G, 0)), want: 'TDX_TLB_TRACKING_NOT_DONE|SEPT_TREE',
  },
  {
    name: 'before finalize no tracking is needed',
    setup: (f) => { aug(f, G, 0); tdh_mem_range_block(f.td, rcx(G, 0)); },
    call: (f) => tdh_mem_range_unblock(f.td, rcx(G, 0)), want: 'TDX_SUCCESS',
  },
  {
    name: 'not blocked',
    setup: (f) => { mapped(f, G, 0); },
    call: (f) => tdh_mem_range_unblock(f.td, rcx(G, 0)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
];

describe('TDH.MEM.RANGE.UNBLOCK', () => {
  for (const c of CASES) it(`${c.name} -> ${c.want}`, () => runLeafCase(c));
});
