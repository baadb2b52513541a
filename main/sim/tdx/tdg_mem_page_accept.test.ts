import { describe, expect, it } from 'vitest';
import { SEPT_STATE_MAPPED } from './test_values.ts';
import { sept_decode } from '../../../shared/sept.ts';
import { sept_lookup } from './sept_walk.ts';
import { EXIT_REASON_EPT_VIOLATION, tdg_mem_page_accept_begin, tdg_mem_page_accept_end } from './tdg_mem_page_accept.ts';
import { checkModelInvariants } from './invariants.ts';
import { hashState } from './td_state.ts';
import { accept, aug, buildPath, finalize, fixture, ok, rcx, type Fixture } from './tdx_test_support.ts';
import { kick_all_vcpus } from './kick_all_vcpus.ts';
import { tdh_mem_page_aug } from './tdh_mem_page_aug.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';
import { tdh_vp_enter_begin } from './tdh_vp_enter.ts';
import { tdx_status_hex, tdx_status_name } from '../../../shared/tdx_status.ts';

const G = 1024;

interface AcceptCase {
  name: string;
  setup: (f: Fixture) => void;
  level: number;
  gfn: number;
  want: string;
  /** Expected TD exit: [errLevel, errState public code], or null. */
  exit: [number, number] | null;
  inProgress?: boolean;
}

const CASES: AcceptCase[] = [
  { name: 'PENDING 4K at 4K: in progress', setup: (f) => { aug(f, G, 0); }, gfn: G, level: 0, want: 'TDX_SUCCESS', exit: null, inProgress: true },
  { name: 'PENDING 2M at 2M: in progress', setup: (f) => { aug(f, G, 1); }, gfn: G, level: 1, want: 'TDX_SUCCESS', exit: null, inProgress: true },
  // ALREADY_ACCEPTED / SIZE_MISMATCH carry a level, not an operand ID: level 1 prints as "|RCX".
  { name: 'MAPPED 4K', setup: (f) => { aug(f, G, 0); accept(f, 0, G, 0); }, gfn: G, level: 0, want: 'TDX_PAGE_ALREADY_ACCEPTED', exit: null },
  { name: 'MAPPED 2M', setup: (f) => { aug(f, G, 1); accept(f, 0, G, 1); }, gfn: G, level: 1, want: 'TDX_PAGE_ALREADY_ACCEPTED|RCX', exit: null },
  { name: '4K inside a MAPPED 2M', setup: (f) => { aug(f, G, 1); accept(f, 0, G, 1); }, gfn: G + 3, level: 0, want: 'TDX_PAGE_ALREADY_ACCEPTED|RCX', exit: null },
  { name: '2M over 4K mappings: size mismatch', setup: (f) => { aug(f, G, 0); }, gfn: G, level: 1, want: 'TDX_PAGE_SIZE_MISMATCH|RCX', exit: null },
  { name: '2M over a blocked PT (NL_BLOCKED): size mismatch', setup: (f) => { aug(f, G, 0); ok(tdh_mem_range_block(f.td, rcx(G, 1))); }, gfn: G, level: 1, want: 'TDX_PAGE_SIZE_MISMATCH|RCX', exit: null },
  { name: '4K inside a PENDING 2M: EPT violation exit', setup: (f) => { aug(f, G, 1); }, gfn: G + 3, level: 0, want: 'TDX_SUCCESS', exit: [1, 2] },
  { name: 'FREE 4K: EPT violation exit', setup: (f) => { buildPath(f, G, 0); }, gfn: G, level: 0, want: 'TDX_SUCCESS', exit: [0, 0] },
  { name: 'missing path: EPT violation exit at the root', setup: () => {}, gfn: G, level: 0, want: 'TDX_SUCCESS', exit: [3, 0] },
  { name: 'blocked PENDING: EPT violation exit', setup: (f) => { aug(f, G, 0); tdh_mem_range_block(f.td, rcx(G, 0)); }, gfn: G, level: 0, want: 'TDX_SUCCESS', exit: [0, 3] },
  { name: 'level 2 is invalid', setup: () => {}, gfn: 0, level: 2, want: 'TDX_OPERAND_INVALID|RCX', exit: null },
];

describe('TDG.MEM.PAGE.ACCEPT', () => {
  for (const c of CASES) {
    it(`${c.name} -> ${c.want}`, () => {
      const f = fixture();
      finalize(f);
      c.setup(f);
      if (!f.td.vcpus[0].inGuest) ok(tdh_vp_enter_begin(f.td, 0));
      const before = hashState(f.td);
      const r = tdg_mem_page_accept_begin(f.td, 0, rcx(c.gfn, c.level));
      expect(tdx_status_name(r.status)).toBe(c.want);
      expect(r.inProgress).toBe(c.inProgress ?? false);
      if (c.exit === null) expect(r.tdExit).toBeNull();
      else {
        expect(r.tdExit).toEqual({ exitReason: EXIT_REASON_EPT_VIOLATION, eeqType: 1, reqLevel: c.level, errLevel: c.exit[0], errState: c.exit[1] });
        expect(f.td.vcpus[0].inGuest).toBe(false);
      }
      if (!r.inProgress && c.exit === null) expect(hashState(f.td)).toBe(before);
      expect(checkModelInvariants(f.td)).toEqual([]);
    });
  }

  it('begin holds TDEL; end makes the entry MAPPED and releases it', () => {
    const f = fixture();
    finalize(f); aug(f, G, 0); ok(tdh_vp_enter_begin(f.td, 0)); ok(tdh_vp_enter_begin(f.td, 1));
    expect(tdg_mem_page_accept_begin(f.td, 0, rcx(G, 0)).inProgress).toBe(true);
    expect(sept_decode(sept_lookup(f.td, G, 1)!.value).tdel).toBe(true);
    expect(tdx_status_name(tdg_mem_page_accept_begin(f.td, 1, rcx(G, 0)).status)).toMatch(/^TDX_OPERAND_BUSY/);
    ok(tdg_mem_page_accept_end(f.td, 0));
    const e = sept_lookup(f.td, G, 1)!;
    expect(e.state).toBe(SEPT_STATE_MAPPED);
    expect(sept_decode(e.value).tdel).toBe(false);
  });

  it('after a host BUSY set TDHP, the guest yields until the host takes the lock', () => {
    const f = fixture();
    finalize(f); aug(f, G, 0); ok(tdh_vp_enter_begin(f.td, 0)); ok(tdh_vp_enter_begin(f.td, 1));
    expect(tdg_mem_page_accept_begin(f.td, 0, rcx(G, 0)).inProgress).toBe(true);
    expect(tdx_status_name(tdh_mem_range_block(f.td, rcx(G, 0)).status)).toBe('TDX_OPERAND_BUSY|RCX');
    ok(tdg_mem_page_accept_end(f.td, 0));
    // The entry is MAPPED now with TDHP; another accept fails the guest lock before it looks at
    // the state (sept_lock_acquire_guest: BUSY_HOST_PRIORITY, reported as OPERAND_BUSY).
    expect(tdx_status_name(tdg_mem_page_accept_begin(f.td, 1, rcx(G, 0)).status)).toBe('TDX_OPERAND_BUSY|RCX');
    expect(sept_decode(sept_lookup(f.td, G, 1)!.value).tdhp).toBe(true);
    ok(tdh_mem_range_block(f.td, rcx(G, 0)));
    expect(sept_decode(sept_lookup(f.td, G, 1)!.value).tdhp).toBe(false);
    expect(checkModelInvariants(f.td)).toEqual([]);
  });

  it('ALREADY_ACCEPTED and SIZE_MISMATCH carry the level where the walk stopped in the operand field', () => {
    const f = fixture();
    finalize(f); aug(f, G, 0); accept(f, 0, G, 0);
    aug(f, 4 * G, 1); accept(f, 0, 4 * G, 1);
    const status = (gfn: number, level: number): string => tdx_status_hex(tdg_mem_page_accept_begin(f.td, 0, rcx(gfn, level)).status);
    expect(status(G, 0)).toBe('0x00000b0a00000000');
    expect(status(4 * G, 1)).toBe('0x00000b0a00000001');
    expect(status(4 * G + 5, 0)).toBe('0x00000b0a00000001');
    expect(status(G, 1)).toBe('0xc0000b0b00000001');
  });

  it('the guest lock comes before the state: a MAPPED entry with TDHP gives BUSY, not ALREADY_ACCEPTED', () => {
    const f = fixture();
    finalize(f); aug(f, G, 0); ok(tdh_vp_enter_begin(f.td, 0)); ok(tdh_vp_enter_begin(f.td, 1));
    expect(tdg_mem_page_accept_begin(f.td, 0, rcx(G, 0)).inProgress).toBe(true);
    // A host BLOCK meets the guest's TDEL: BUSY, and TDHP is set on the entry.
    expect(tdx_status_name(tdh_mem_range_block(f.td, rcx(G, 0)).status)).toBe('TDX_OPERAND_BUSY|RCX');
    // While TDEL is held, another vCPU's accept is BUSY (not a violation, not ALREADY_ACCEPTED).
    expect(tdx_status_name(tdg_mem_page_accept_begin(f.td, 1, rcx(G, 0)).status)).toBe('TDX_OPERAND_BUSY|RCX');
    ok(tdg_mem_page_accept_end(f.td, 0));
    expect(sept_decode(sept_lookup(f.td, G, 1)!.value).tdhp).toBe(true);
    const before = hashState(f.td);
    const r = tdg_mem_page_accept_begin(f.td, 1, rcx(G, 0));
    expect(tdx_status_name(r.status)).toBe('TDX_OPERAND_BUSY|RCX');
    expect(r.tdExit).toBeNull();
    expect(f.td.vcpus[1].inGuest).toBe(true);
    expect(hashState(f.td)).toBe(before);
    expect(checkModelInvariants(f.td)).toEqual([]);
  });

  it('a kick completes an in-flight ACCEPT before the vCPU exits', () => {
    const f = fixture();
    finalize(f); aug(f, G, 0); ok(tdh_vp_enter_begin(f.td, 0));
    tdg_mem_page_accept_begin(f.td, 0, rcx(G, 0));
    expect(kick_all_vcpus(f.td)).toBe(1);
    expect(sept_lookup(f.td, G, 1)!.state).toBe(SEPT_STATE_MAPPED);
    expect(f.td.stats.vcpusKicked).toBe(1);
    expect(checkModelInvariants(f.td)).toEqual([]);
  });

  it('host AUG retry after the exit maps the page; the guest then accepts', () => {
    const f = fixture();
    finalize(f); buildPath(f, G, 0); ok(tdh_vp_enter_begin(f.td, 0));
    expect(tdg_mem_page_accept_begin(f.td, 0, rcx(G, 0)).tdExit).not.toBeNull();
    ok(tdh_mem_page_aug(f.td, rcx(G, 0), 0x5000 * 4096));
    accept(f, 0, G, 0);
    expect(sept_lookup(f.td, G, 1)!.state).toBe(SEPT_STATE_MAPPED);
  });
});
