import { describe, expect, it } from 'vitest';
import { SEPT_STATE_PENDING } from './test_values.ts';
import { sept_lookup } from './sept_walk.ts';
import { PA, accept, aug, buildPath, finalize, rcx, runLeafCase, type LeafCase } from './tdx_test_support.ts';
import { tdg_mem_page_accept_begin } from './tdg_mem_page_accept.ts';
import { tdh_mem_page_aug } from './tdh_mem_page_aug.ts';
import { tdh_vp_enter_begin } from './tdh_vp_enter.ts';

const G = 1024;

const CASES: LeafCase[] = [
  {
    name: '4K: FREE -> PENDING, CHLDCNT += 1, PAMT REG',
    setup: (f) => { finalize(f); buildPath(f, G + 3, 0); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G + 3, 0), PA(0x5000)), want: 'TDX_SUCCESS',
    check: (f) => {
      const e = sept_lookup(f.td, G + 3, 1)!;
      expect(e.state).toBe(SEPT_STATE_PENDING);
      expect(e.pfn).toBe(0x5000);
      expect(f.td.pamt.bySize[0].get(0x5000)?.pt).toBe(3);
      expect(f.td.chldcnt).toBe(6 + 3 + 1);
    },
  },
  {
    name: '2M: FREE PD entry -> PENDING 2M, CHLDCNT += 512',
    setup: (f) => { finalize(f); buildPath(f, G, 1); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G, 1), PA(0x10000)), want: 'TDX_SUCCESS',
    check: (f) => {
      expect(sept_lookup(f.td, G, 2)!.state).toBe(SEPT_STATE_PENDING);
      expect(f.td.pamt.bySize[1].get(0x10000)?.pt).toBe(3);
      expect(f.td.chldcnt).toBe(6 + 2 + 512);
    },
  },
  {
    name: 'allowed before finalize too (the module permits it; KVM uses PAGE.ADD then)',
    setup: (f) => { buildPath(f, G, 0); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G, 0), PA(0x5000)), want: 'TDX_SUCCESS',
  },
  {
    name: '4K under a 2M leaf: the walk stops at the leaf',
    setup: (f) => { finalize(f); aug(f, G, 1); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G + 5, 0), PA(0x5000)), want: 'TDX_EPT_WALK_FAILED|RCX',
    check: (_f, r) => expect(r.rdx).toBe(1 | (2 << 8)),
  },
  {
    name: '2M where the PD entry is NL_MAPPED',
    setup: (f) => { finalize(f); buildPath(f, G, 0); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G, 1), PA(0x10000)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
  {
    name: 'already PENDING',
    setup: (f) => { finalize(f); aug(f, G, 0); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G, 0), PA(0x5000)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
    check: (_f, r) => expect(r.rdx).toBe(0 | (2 << 8)),
  },
  {
    name: 'PENDING entry held by a guest ACCEPT: busy, TDHP set',
    setup: (f) => { finalize(f); aug(f, G, 0); tdh_vp_enter_begin(f.td, 0); tdg_mem_page_accept_begin(f.td, 0, rcx(G, 0)); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G, 0), PA(0x5000)), want: 'TDX_OPERAND_BUSY|RCX', setsTdhp: true,
  },
  {
    name: 'already MAPPED',
    setup: (f) => { finalize(f); aug(f, G, 0); accept(f, 0, G, 0); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G, 0), PA(0x5000)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
  {
    name: '1G level is above AUG maximum',
    setup: (f) => { finalize(f); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(0, 2), PA(0)), want: 'TDX_OPERAND_INVALID|RCX',
  },
  {
    name: '2M with an HPA not 2M-aligned',
    setup: (f) => { finalize(f); buildPath(f, G, 1); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G, 1), PA(0x10001)), want: 'TDX_OPERAND_INVALID|R8',
  },
  {
    name: '2M over a range with one 4K page in use',
    setup: (f) => { finalize(f); buildPath(f, G, 1); buildPath(f, 0, 0); tdh_mem_page_aug(f.td, rcx(0, 0), PA(0x10000 + 17)); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G, 1), PA(0x10000)), want: 'TDX_PAGE_METADATA_INCORRECT|R8',
  },
  {
    name: '4K page already owned',
    setup: (f) => { finalize(f); buildPath(f, G, 0); tdh_mem_page_aug(f.td, rcx(G, 0), PA(0x5000)); },
    call: (f) => tdh_mem_page_aug(f.td, rcx(G + 1, 0), PA(0x5000)), want: 'TDX_PAGE_METADATA_INCORRECT|R8',
  },
];

describe('TDH.MEM.PAGE.AUG', () => {
  for (const c of CASES) it(`${c.name} -> ${c.want}`, () => runLeafCase(c));
});
