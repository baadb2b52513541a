import { describe, expect, it } from 'vitest';
import { SEPT_STATE_BLOCKED, SEPT_STATE_NL_BLOCKED, SEPT_STATE_PENDING_BLOCKED } from './test_values.ts';
import { sept_lookup } from './sept_walk.ts';
import { accept, aug, buildPath, finalize, mapped, rcx, runLeafCase, type LeafCase } from './tdx_test_support.ts';
import { tdg_mem_page_accept_begin } from './tdg_mem_page_accept.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';
import { tdh_mem_track } from './tdh_mem_track.ts';
import { tdh_vp_enter_begin } from './tdh_vp_enter.ts';

const G = 1024;

const CASES: LeafCase[] = [
  {
    name: 'MAPPED 4K -> BLOCKED; BEPOCH stamped with TD_EPOCH',
    setup: (f) => { const pfn = mapped(f, G, 0); tdh_mem_track(f.td); void pfn; },
    call: (f) => tdh_mem_range_block(f.td, rcx(G, 0)), want: 'TDX_SUCCESS',
    check: (f) => {
      const e = sept_lookup(f.td, G, 1)!;
      expect(e.state).toBe(SEPT_STATE_BLOCKED);
      expect(f.td.pamt.bySize[0].get(e.pfn)?.bepoch).toBe(2);
    },
  },
  {
    // Entries with the same contents are one object (pamt.ts): the stamp must replace it, not change it.
    name: 'BEPOCH stamped on the blocked page only, not on its neighbour of the same type and owner',
    setup: (f) => { mapped(f, G, 0); mapped(f, G + 1, 0); tdh_mem_track(f.td); },
    call: (f) => tdh_mem_range_block(f.td, rcx(G, 0)), want: 'TDX_SUCCESS',
    check: (f) => {
      expect(f.td.pamt.bySize[0].get(sept_lookup(f.td, G, 1)!.pfn)?.bepoch).toBe(2);
      expect(f.td.pamt.bySize[0].get(sept_lookup(f.td, G + 1, 1)!.pfn)?.bepoch).toBe(0);
    },
  },
  {
    name: 'PENDING 2M -> PENDING_BLOCKED; BEPOCH on the 2M PAMT entry',
    setup: (f) => { finalize(f); aug(f, G, 1); },
    call: (f) => tdh_mem_range_block(f.td, rcx(G, 1)), want: 'TDX_SUCCESS',
    check: (f) => {
      const e = sept_lookup(f.td, G, 2)!;
      expect(e.state).toBe(SEPT_STATE_PENDING_BLOCKED);
      expect(f.td.pamt.bySize[1].get(e.pfn)?.bepoch).toBe(1);
    },
  },
  {
    name: 'NL_MAPPED PD entry -> NL_BLOCKED; BEPOCH on the child S-EPT page',
    setup: (f) => { finalize(f); buildPath(f, G, 0); },
    call: (f) => tdh_mem_range_block(f.td, rcx(G, 1)), want: 'TDX_SUCCESS',
    check: (f) => {
      const e = sept_lookup(f.td, G, 2)!;
      expect(e.state).toBe(SEPT_STATE_NL_BLOCKED);
      expect(f.td.pamt.bySize[0].get(e.pfn)?.bepoch).toBe(1);
    },
  },
  {
    name: 'BLOCK twice: the already-blocked warning (bit 63 clear)',
    setup: (f) => { mapped(f, G, 0); tdh_mem_range_block(f.td, rcx(G, 0)); },
    call: (f) => tdh_mem_range_block(f.td, rcx(G, 0)), want: 'TDX_GPA_RANGE_ALREADY_BLOCKED|RCX',
    check: (_f, r) => { expect(r.status).toBe(0x00000b07 * 65536 + 1); expect(r.rdx).toBe(1 << 8); },
  },
  {
    name: 'FREE entry',
    setup: (f) => { finalize(f); buildPath(f, G, 0); },
    call: (f) => tdh_mem_range_block(f.td, rcx(G, 0)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
  {
    name: 'a child below an NL_BLOCKED entry is unreachable',
    setup: (f) => { mapped(f, G, 0); tdh_mem_range_block(f.td, rcx(G, 1)); },
    call: (f) => tdh_mem_range_block(f.td, rcx(G, 0)), want: 'TDX_EPT_WALK_FAILED|RCX',
    check: (_f, r) => expect(r.rdx).toBe(1 | (0x81 << 8)),
  },
  {
    name: 'PENDING entry held by a guest ACCEPT',
    setup: (f) => { finalize(f); aug(f, G, 0); tdh_vp_enter_begin(f.td, 0); tdg_mem_page_accept_begin(f.td, 0, rcx(G, 0)); },
    call: (f) => tdh_mem_range_block(f.td, rcx(G, 0)), want: 'TDX_OPERAND_BUSY|RCX', setsTdhp: true,
  },
  {
    name: '4K inside a MAPPED 2M leaf',
    setup: (f) => { finalize(f); aug(f, G, 1); accept(f, 0, G, 1); },
    call: (f) => tdh_mem_range_block(f.td, rcx(G + 1, 0)), want: 'TDX_EPT_WALK_FAILED|RCX',
  },
];

describe('TDH.MEM.RANGE.BLOCK', () => {
  for (const c of CASES) it(`${c.name} -> ${c.want}`, () => runLeafCase(c));
});
