import { describe, expect, it } from 'vitest';
import { SEPT_LOCK_TDEL, SEPT_LOCK_TDHP, SEPT_STATE_MAPPED, SEPT_STATE_NL_BLOCKED, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING } from './test_values.ts';
import { sept_arch_view, sept_level_state } from '../../../shared/sept.ts';
import { sept_lookup, sept_lookup_page } from './sept_walk.ts';
import { sept_entry_set_lock } from './td.ts';
import { PA, accept, aug, blockTracked, finalize, rcx, runLeafCase, type Fixture, type LeafCase } from './tdx_test_support.ts';
import { tdh_mem_page_demote } from './tdh_mem_page_demote.ts';
import { tdh_mem_page_promote } from './tdh_mem_page_promote.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';

const G = 1024;

/** A 2M PENDING page demoted into 512 PENDING 4K children (finalized TD). */
function split(f: Fixture): void {
  finalize(f); aug(f, G, 1); blockTracked(f, G, 1);
  expect(tdh_mem_page_demote(f.td, rcx(G, 1), PA(0x9000)).status).toBe(0);
}

const CASES: LeafCase[] = [
  {
    name: '512 PENDING children, parent blocked and tracked: PENDING 2M leaf, RCX = freed page',
    setup: (f) => { split(f); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_SUCCESS',
    check: (f, r) => {
      expect(r.rcx).toBe(PA(0x9000));
      const e = sept_lookup(f.td, G, 2)!;
      expect(e.state).toBe(SEPT_STATE_PENDING);
      expect(e.pfn).toBe(0x10000);
      expect(f.td.pamt.bySize[1].get(0x10000)?.pt).toBe(3);
      expect(f.td.pamt.bySize[0].has(0x9000)).toBe(false);
    },
  },
  {
    name: 'mixed PENDING and MAPPED children',
    setup: (f) => { split(f); accept(f, 0, G + 3, 0); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_EPT_INVALID_PROMOTE_CONDITIONS|RCX',
    check: (_f, r) => {
      expect(r.status).toBe(0xc0000b09 * 65536 + 1);
      // RCX/RDX: the parent (NL_BLOCKED, level 1), not child 3 (MAPPED, level 0).
      expect(r.rcx).toBe(sept_arch_view(SEPT_STATE_NL_BLOCKED, 0x9000));
      expect(r.rdx).toBe(sept_level_state(1, SEPT_STATE_NL_BLOCKED));
    },
  },
  {
    name: 'before finalize, children not contiguous: RCX/RDX report the NL_MAPPED parent',
    setup: (f) => { for (let i = 0; i < 512; i++) aug(f, G + i, 0); },
    call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_EPT_INVALID_PROMOTE_CONDITIONS|RCX',
    check: (f, r) => {
      expect(r.rcx).toBe(sept_arch_view(SEPT_STATE_NL_MAPPED, sept_lookup(f.td, G, 2)!.pfn));
      expect(r.rcx).not.toBe(0);
      expect(r.rdx).toBe(sept_level_state(1, SEPT_STATE_NL_MAPPED));
    },
  },
  {
    name: 'children not contiguous (4K pages AUGed one by one)',
    setup: (f) => { finalize(f); for (let i = 0; i < 512; i++) aug(f, G + i, 0); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_EPT_INVALID_PROMOTE_CONDITIONS|RCX',
  },
  {
    name: 'parent NL_MAPPED in a running TD',
    setup: (f) => { split(f); },
    call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_GPA_RANGE_NOT_BLOCKED|RCX',
  },
  {
    name: 'parent blocked, not tracked',
    setup: (f) => { split(f); tdh_mem_range_block(f.td, rcx(G, 1)); },
    call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_TLB_TRACKING_NOT_DONE|RCX',
  },
  {
    name: 'a leaf at the level',
    setup: (f) => { finalize(f); aug(f, G, 1); },
    call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
  {
    name: 'interrupt pending',
    setup: (f) => { split(f); blockTracked(f, G, 1); f.td.hostInterruptPending = true; },
    call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_INTERRUPTED_RESTARTABLE',
  },
  {
    name: 'before finalize: promote an NL_MAPPED parent directly',
    setup: (f) => { aug(f, G, 1); expect(tdh_mem_page_demote(f.td, rcx(G, 1), PA(0x9000)).status).toBe(0); },
    call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_SUCCESS',
  },
];

describe('TDH.MEM.PAGE.PROMOTE', () => {
  for (const c of CASES) it(`${c.name} -> ${c.want}`, () => runLeafCase(c));

  // A child held by a guest ACCEPT (OPERAND_BUSY|RCX in the scan) cannot be set up through the
  // leaves: once the parent is NL_BLOCKED the guest's walk cannot reach the children, the kick that
  // completes tracking also completes any ACCEPT, and before finalize no vCPU runs. The test below
  // plants one by hand (TDEL on child 5 and a vCPU recorded as accepting it) before finalize.
  it('a child held by a guest: BUSY|RCX with the parent in RCX/RDX, TDHP set on that child', () => {
    runLeafCase({
      name: 'busy child',
      setup: (f) => {
        aug(f, G, 1); expect(tdh_mem_page_demote(f.td, rcx(G, 1), PA(0x9000)).status).toBe(0);
        const child = sept_lookup_page(f.td, G, 1)!;
        sept_entry_set_lock(f.td, child, 5, SEPT_LOCK_TDEL);
        f.td.vcpus[0].accepting = { page: child, idx: 5 };
      },
      call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_OPERAND_BUSY|RCX', setsTdhp: true,
      check: (f, r) => {
        expect(r.rcx).toBe(sept_arch_view(SEPT_STATE_NL_MAPPED, 0x9000));
        expect(r.rdx).toBe(sept_level_state(1, SEPT_STATE_NL_MAPPED));
        const child = sept_lookup_page(f.td, G, 1)!;
        expect(child.lock[5]).toBe(SEPT_LOCK_TDEL | SEPT_LOCK_TDHP);
        expect(child.lock[4]).toBe(0);
        expect(sept_lookup(f.td, G, 2)!.state).toBe(SEPT_STATE_NL_MAPPED);
      },
    });
  });

  it('all MAPPED children promote to a MAPPED 2M leaf', () => {
    runLeafCase({
      name: 'mapped',
      setup: (f) => { split(f); for (let i = 0; i < 512; i++) accept(f, 0, G + i, 0); blockTracked(f, G, 1); },
      call: (f) => tdh_mem_page_promote(f.td, rcx(G, 1)), want: 'TDX_SUCCESS',
      check: (f) => expect(sept_lookup(f.td, G, 2)!.state).toBe(SEPT_STATE_MAPPED),
    });
  });
});
