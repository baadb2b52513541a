import { describe, expect, it } from 'vitest';
import { SEPT_LOCK_TDHP, SEPT_STATE_NL_MAPPED, SVE_ONLY } from './test_values.ts';
import { sept_lookup } from './sept_walk.ts';
import { PA, accept, aug, buildPath, finalize, page4k, rcx, runLeafCase, type LeafCase } from './tdx_test_support.ts';
import { tdg_mem_page_accept_begin } from './tdg_mem_page_accept.ts';
import { tdh_mem_sept_add } from './tdh_mem_sept_add.ts';
import { tdh_vp_enter_begin } from './tdh_vp_enter.ts';

const G = 1024;

const CASES: LeafCase[] = [
  {
    name: 'links a PDPT page below a FREE root entry',
    setup: () => {}, call: (f) => tdh_mem_sept_add(f.td, rcx(0, 3), PA(0x1000)), want: 'TDX_SUCCESS',
    check: (f) => {
      const e = sept_lookup(f.td, 0, 4)!;
      expect(e.state).toBe(SEPT_STATE_NL_MAPPED);
      expect(e.pfn).toBe(0x1000);
      expect(f.td.pamt.bySize[0].get(0x1000)?.pt).toBe(8);
      expect(f.td.chldcnt).toBe(7);
    },
  },
  {
    name: 'adding below a FREE level-2 entry fails the walk (top-down only)',
    setup: (f) => { tdh_mem_sept_add(f.td, rcx(0, 3), PA(page4k(f))); },
    call: (f) => tdh_mem_sept_add(f.td, rcx(0, 1), PA(0x2000)), want: 'TDX_EPT_WALK_FAILED|RCX',
    check: (_f, r) => { expect(r.rdx).toBe(2); expect(r.rcx).toBe(SVE_ONLY); },
  },
  {
    name: 'entry held by a guest ACCEPT: busy, TDHP set',
    setup: (f) => { finalize(f); aug(f, G, 1); tdh_vp_enter_begin(f.td, 0); tdg_mem_page_accept_begin(f.td, 0, rcx(G, 1)); },
    call: (f) => tdh_mem_sept_add(f.td, rcx(G, 1), PA(0x3000)), want: 'TDX_OPERAND_BUSY|RCX', setsTdhp: true,
    check: (f) => {
      const e = sept_lookup(f.td, G, 2)!;
      expect(f.td.root.child[0]!.child[0]!.lock[e.gfn / 512 % 512] & SEPT_LOCK_TDHP).toBe(SEPT_LOCK_TDHP);
    },
  },
  {
    name: 'entry already NL_MAPPED (version 0 with a real page)',
    setup: (f) => { buildPath(f, 0, 0); },
    call: (f) => tdh_mem_sept_add(f.td, rcx(0, 1), PA(0x3000)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
    check: (_f, r) => expect(r.rdx).toBe(1 | (0x84 << 8)),
  },
  {
    name: 'entry is a MAPPED 2M leaf',
    setup: (f) => { finalize(f); aug(f, G, 1); accept(f, 0, G, 1); },
    call: (f) => tdh_mem_sept_add(f.td, rcx(G, 1), PA(0x3000)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
  { name: 'R8 unaligned', setup: () => {}, call: (f) => tdh_mem_sept_add(f.td, rcx(0, 3), PA(0x1000) + 8), want: 'TDX_OPERAND_INVALID|R8' },
  { name: 'R8 outside the TDMR', setup: () => {}, call: (f) => tdh_mem_sept_add(f.td, rcx(0, 3), PA(2 ** 27)), want: 'TDX_OPERAND_ADDR_RANGE_ERROR|R8' },
  { name: 'R8 is a TDCS page', setup: () => {}, call: (f) => tdh_mem_sept_add(f.td, rcx(0, 3), PA(0x11)), want: 'TDX_PAGE_METADATA_INCORRECT|R8' },
  {
    name: 'R8 inside a 2M guest page, fresh PD entry',
    setup: (f) => { finalize(f); aug(f, G, 1); },
    call: (f) => tdh_mem_sept_add(f.td, rcx(512, 1), PA(0x10000 + 7)), want: 'TDX_PAGE_METADATA_INCORRECT|R8',
  },
];

describe('TDH.MEM.SEPT.ADD', () => {
  for (const c of CASES) it(`${c.name} -> ${c.want}`, () => runLeafCase(c));
});
