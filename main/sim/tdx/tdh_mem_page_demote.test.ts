import { describe, expect, it } from 'vitest';
import { SEPT_STATE_MAPPED, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING } from './test_values.ts';
import { sept_lookup } from './sept_walk.ts';
import { PA, accept, aug, blockTracked, fixture, finalize, mapped, rcx, runLeafCase, type LeafCase } from './tdx_test_support.ts';
import { tdh_mem_page_demote } from './tdh_mem_page_demote.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';

const G = 1024;
const NEW = PA(0x9000);

function expectChildren(f: ReturnType<typeof fixture>, state: number, basePfn: number): void {
  for (let i = 0; i < 512; i++) {
    const e = sept_lookup(f.td, G + i, 1)!;
    expect(e.state).toBe(state);
    expect(e.pfn).toBe(basePfn + i);
  }
}

const CASES: LeafCase[] = [
  {
    name: 'BLOCKED 2M, tracked: NL_MAPPED parent, 512 unblocked MAPPED children, split PAMT',
    setup: (f) => { mapped(f, G, 1); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_page_demote(f.td, rcx(G, 1), NEW), want: 'TDX_SUCCESS',
    check: (f) => {
      const parent = sept_lookup(f.td, G, 2)!;
      expect(parent.state).toBe(SEPT_STATE_NL_MAPPED);
      expect(parent.pfn).toBe(0x9000);
      expectChildren(f, SEPT_STATE_MAPPED, 0x10000);
      expect(f.td.pamt.bySize[1].has(0x10000)).toBe(false);
      expect(f.td.pamt.bySize[0].get(0x10000 + 511)?.pt).toBe(3);
      expect(f.td.pamt.bySize[0].get(0x9000)?.pt).toBe(8);
      expect(f.writes).toBeGreaterThan(512);
    },
  },
  {
    name: 'PENDING_BLOCKED 2M: 512 PENDING children',
    setup: (f) => { finalize(f); aug(f, G, 1); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_page_demote(f.td, rcx(G, 1), NEW), want: 'TDX_SUCCESS',
    check: (f) => expectChildren(f, SEPT_STATE_PENDING, 0x10000),
  },
  {
    name: 'before finalize: an unblocked PENDING 2M demotes directly',
    setup: (f) => { aug(f, G, 1); },
    call: (f) => tdh_mem_page_demote(f.td, rcx(G, 1), NEW), want: 'TDX_SUCCESS',
  },
  {
    name: 'MAPPED 2M in a running TD',
    setup: (f) => { mapped(f, G, 1); },
    call: (f) => tdh_mem_page_demote(f.td, rcx(G, 1), NEW), want: 'TDX_GPA_RANGE_NOT_BLOCKED|RCX',
  },
  {
    name: 'blocked, not tracked',
    setup: (f) => { mapped(f, G, 1); tdh_mem_range_block(f.td, rcx(G, 1)); },
    call: (f) => tdh_mem_page_demote(f.td, rcx(G, 1), NEW), want: 'TDX_TLB_TRACKING_NOT_DONE|RCX',
  },
  {
    name: 'new S-EPT page not free (tracking is checked before the new page)',
    setup: (f) => { mapped(f, G, 1); blockTracked(f, G, 1); },
    call: (f) => tdh_mem_page_demote(f.td, rcx(G, 1), PA(0x10005)), want: 'TDX_PAGE_METADATA_INCORRECT|R8',
  },
  {
    name: 'a non-leaf at level 1',
    setup: (f) => { mapped(f, G, 0); },
    call: (f) => tdh_mem_page_demote(f.td, rcx(G, 1), NEW), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
  {
    name: 'level 0 is not a huge page',
    setup: (f) => { mapped(f, G, 0); },
    call: (f) => tdh_mem_page_demote(f.td, rcx(G, 0), NEW), want: 'TDX_OPERAND_INVALID|RCX',
  },
];

describe('TDH.MEM.PAGE.DEMOTE', () => {
  for (const c of CASES) it(`${c.name} -> ${c.want}`, () => runLeafCase(c));

  const interruptTable: ReadonlyArray<[boolean, boolean, string]> = [
    [false, false, 'TDX_SUCCESS'],
    [false, true, 'TDX_INTERRUPTED_RESTARTABLE'],
    [true, true, 'TDX_SUCCESS'],
  ];
  for (const [enhance, pending, want] of interruptTable) {
    it(`ENHANCE_DEMOTE_INTERRUPTIBILITY=${enhance}, interrupt pending=${pending} -> ${want}`, () => {
      runLeafCase({
        name: 'interrupt',
        setup: (f) => {
          (f.td.config as { enhanceDemoteInterruptibility: boolean }).enhanceDemoteInterruptibility = enhance;
          mapped(f, G, 1); blockTracked(f, G, 1); f.td.hostInterruptPending = pending;
        },
        call: (f) => tdh_mem_page_demote(f.td, rcx(G, 1), NEW), want,
        check: (_f, r) => { if (want !== 'TDX_SUCCESS') expect(r.rcx).toBe(rcx(G, 1)); },
      });
    });
  }

  it('the guest can accept a 4K page after a PENDING 2M was demoted', () => {
    const f = fixture();
    finalize(f); aug(f, G, 1); blockTracked(f, G, 1);
    expect(tdh_mem_page_demote(f.td, rcx(G, 1), NEW).status).toBe(0);
    accept(f, 0, G + 7, 0);
    expect(sept_lookup(f.td, G + 7, 1)!.state).toBe(SEPT_STATE_MAPPED);
  });
});
