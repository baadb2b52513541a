// Property: any sequence of SEAMCALLs (and guest/vCPU steps) keeps the model consistent
// (checkModelInvariants), a failing leaf changes nothing (except TDHP after an entry-lock BUSY),
// and onEntryWrite replayed onto an empty map equals the module's populated entries.
// Seeded: fast-check prints the seed and the shrunk command list on failure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TDX_SUCCESS, tdx_status_name } from '../../../shared/tdx_status.ts';
import { checkModelInvariants } from './invariants.ts';
import { kick_all_vcpus } from './kick_all_vcpus.ts';
import { sept_populated_entries } from './sept_walk.ts';
import { cloneTd, hashState } from './td_state.ts';
import type { SeamcallResult } from './td.ts';
import { tdg_mem_page_accept_begin, tdg_mem_page_accept_end } from './tdg_mem_page_accept.ts';
import { tdh_mem_page_add } from './tdh_mem_page_add.ts';
import { tdh_mem_page_aug } from './tdh_mem_page_aug.ts';
import { tdh_mem_page_demote } from './tdh_mem_page_demote.ts';
import { tdh_mem_page_promote } from './tdh_mem_page_promote.ts';
import { tdh_mem_page_remove } from './tdh_mem_page_remove.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';
import { tdh_mem_range_unblock } from './tdh_mem_range_unblock.ts';
import { tdh_mem_sept_add } from './tdh_mem_sept_add.ts';
import { tdh_mem_sept_remove } from './tdh_mem_sept_remove.ts';
import { tdh_mem_track } from './tdh_mem_track.ts';
import { tdh_mng_key_freeid } from './tdh_mng_key_freeid.ts';
import { tdh_mng_vpflushdone } from './tdh_mng_vpflushdone.ts';
import { tdh_mr_finalize } from './tdh_mr_finalize.ts';
import { tdh_phymem_cache_wb } from './tdh_phymem_cache_wb.ts';
import { tdh_phymem_page_reclaim } from './tdh_phymem_page_reclaim.ts';
import { tdh_phymem_page_wbinvd } from './tdh_phymem_page_wbinvd.ts';
import { tdh_vp_enter_begin, tdh_vp_enter_end, tdh_vp_enter_guest } from './tdh_vp_enter.ts';
import { tdh_vp_flush } from './tdh_vp_flush.ts';
import { PA, buildPath, fixture, rcx, type Fixture } from './tdx_test_support.ts';

/** GFNs inside the first 1G (where prebuilt tables exist), plus one in the next 1G. */
const GFNS = [0, 1, 2, 511, 1024, 1025, 1536, 1537, 262144];
/** Small host-page pool: 4K pages, two 2M-aligned blocks, and the TD's own control pages. */
const PFNS = [0x1000, 0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x10000, 0x10200, 0x10400, 0x10001, 0x11, 0x10];

type Cmd =
  | { op: 'septAdd' | 'aug' | 'demote' | 'pageAdd'; g: number; level: number; p: number }
  | { op: 'block' | 'unblock' | 'remove' | 'septRemove' | 'promote'; g: number; level: number }
  | { op: 'acceptBegin'; v: number; g: number; level: number }
  | { op: 'enter' | 'enterGuest' | 'exit' | 'acceptEnd' | 'flush' | 'zeroStep'; v: number }
  | { op: 'track' | 'kick' | 'finalize' | 'flushDone' | 'cacheWb' | 'freeId' | 'interrupt' }
  | { op: 'reclaim' | 'wbinvd'; p: number }
  /** Macros expanded into the commands above (each step still checked): BLOCK+TRACK+kick, teardown. */
  | { op: 'blockTracked'; g: number; level: number }
  | { op: 'teardown' };

/** Expands a macro into its plain commands. */
function expand(c: Cmd): Cmd[] {
  if (c.op === 'blockTracked') return [{ op: 'block', g: c.g, level: c.level }, { op: 'track' }, { op: 'kick' }];
  if (c.op === 'teardown') {
    return [{ op: 'kick' }, { op: 'flush', v: 0 }, { op: 'flush', v: 1 }, { op: 'flushDone' }, { op: 'cacheWb' }, { op: 'freeId' }];
  }
  return [c];
}

const gi = fc.nat(GFNS.length - 1);
const pi = fc.nat(PFNS.length - 1);
/** Levels biased to 0 and 1, where leaves live. */
const lv = fc.oneof({ weight: 3, arbitrary: fc.nat(1) }, { weight: 1, arbitrary: fc.nat(3) });
const vi = fc.nat(1);
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constantFrom('septAdd' as const, 'aug' as const, 'demote' as const, 'pageAdd' as const), g: gi, level: lv, p: pi }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constantFrom('aug' as const, 'demote' as const), g: gi, level: fc.nat(1), p: pi }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constantFrom('remove' as const, 'promote' as const), g: gi, level: fc.nat(1) }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constantFrom('block' as const, 'unblock' as const, 'remove' as const, 'septRemove' as const, 'promote' as const), g: gi, level: lv }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('acceptBegin' as const), v: vi, g: gi, level: lv }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('enter' as const, 'enterGuest' as const, 'exit' as const, 'acceptEnd' as const, 'zeroStep' as const), v: vi }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('track' as const, 'kick' as const, 'finalize' as const, 'interrupt' as const) }) },
  // Teardown (VPFLUSHDONE ends every S-EPT leaf) runs at the end of half the runs instead.
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('flush' as const), v: vi }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('cacheWb' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('reclaim' as const, 'wbinvd' as const), p: pi }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('blockTracked' as const), g: gi, level: lv }) },
);

function aligned(g: number, level: number): number {
  const gfn = GFNS[g];
  return gfn - (gfn % 512 ** level);
}

/** Runs one command; returns the result when it was a leaf that may fail, else null. */
function apply(f: Fixture, c: Cmd): SeamcallResult | null {
  const td = f.td;
  switch (c.op) {
    case 'septAdd': return tdh_mem_sept_add(td, rcx(aligned(c.g, c.level), c.level), PA(PFNS[c.p]));
    case 'aug': return tdh_mem_page_aug(td, rcx(aligned(c.g, c.level), c.level), PA(PFNS[c.p]));
    case 'demote': return tdh_mem_page_demote(td, rcx(aligned(c.g, c.level), c.level), PA(PFNS[c.p]));
    case 'pageAdd': return tdh_mem_page_add(td, rcx(aligned(c.g, 0), 0), PA(PFNS[c.p]), 0);
    case 'block': return tdh_mem_range_block(td, rcx(aligned(c.g, c.level), c.level));
    case 'unblock': return tdh_mem_range_unblock(td, rcx(aligned(c.g, c.level), c.level));
    case 'remove': return tdh_mem_page_remove(td, rcx(aligned(c.g, c.level), c.level));
    case 'septRemove': return tdh_mem_sept_remove(td, rcx(aligned(c.g, c.level), c.level));
    case 'promote': return tdh_mem_page_promote(td, rcx(aligned(c.g, c.level), c.level));
    case 'track': return tdh_mem_track(td);
    case 'finalize': return tdh_mr_finalize(td);
    case 'flushDone': return tdh_mng_vpflushdone(td);
    case 'cacheWb': return tdh_phymem_cache_wb(td);
    case 'freeId': return tdh_mng_key_freeid(td);
    case 'reclaim': return tdh_phymem_page_reclaim(td, PA(PFNS[c.p]));
    case 'wbinvd': return tdh_phymem_page_wbinvd(td, PA(PFNS[c.p]), td.config.hkid);
    case 'enter': return tdh_vp_enter_begin(td, c.v);
    // The end of VP.ENTER: a zero-step entry's tree lock is held until here.
    case 'enterGuest': if (td.vcpus[c.v].inGuest) tdh_vp_enter_guest(td, c.v); return null;
    case 'flush': return tdh_vp_flush(td, c.v);
    case 'kick': kick_all_vcpus(td); return null;
    case 'interrupt': td.hostInterruptPending = !td.hostInterruptPending; return null;
    case 'zeroStep': if (!td.vcpus[c.v].inGuest) td.vcpus[c.v].zeroStepActive = !td.vcpus[c.v].zeroStepActive; return null;
    case 'exit': {
      const v = td.vcpus[c.v];
      if (v.accepting !== null) tdg_mem_page_accept_end(td, c.v);
      // A vCPU still inside VP.ENTER enters the guest before anything can make it exit.
      if (v.inGuest) tdh_vp_enter_guest(td, c.v);
      if (v.inGuest) tdh_vp_enter_end(td, c.v);
      return null;
    }
    case 'blockTracked':
    case 'teardown':
      throw new Error('macros are expanded before apply');
    case 'acceptEnd': if (td.vcpus[c.v].accepting !== null) tdg_mem_page_accept_end(td, c.v); return null;
    case 'acceptBegin': {
      const v = td.vcpus[c.v];
      // A TDCALL runs in the guest: not while the vCPU is still inside VP.ENTER.
      if (!v.inGuest || v.holdsSeptLock || v.accepting !== null) return null;
      const level = Math.min(c.level, 1);
      const r = tdg_mem_page_accept_begin(td, c.v, rcx(aligned(c.g, level), level));
      return r.tdExit !== null || r.inProgress ? null : { status: r.status, rcx: 0, rdx: 0, r8: 0 };
    }
  }
}

describe('TDX model property', () => {
  it('no sequence corrupts the model; failures change nothing; onEntryWrite replays the S-EPT', () => {
    const successes = new Map<string, number>();
    fc.assert(
      fc.property(fc.boolean(), fc.nat(3), fc.boolean(), fc.array(cmd, { minLength: 10, maxLength: 80 }), (enhance, prebuilt, tearDown, cmds) => {
        const f = fixture({ enhanceDemoteInterruptibility: enhance });
        // Half the runs start with page tables down to the PT for GFN 0 and the PD for 1024, so
        // random commands reach leaves often; the other half must build them.
        if (prebuilt !== 0) { f.next4k = 0x1010; buildPath(f, 0, 0); buildPath(f, 1024, 1); }
        const tail: Cmd[] = tearDown ? [{ op: 'teardown' }, ...PFNS.map((_, p) => ({ op: 'reclaim' as const, p })), ...PFNS.map((_, p) => ({ op: 'wbinvd' as const, p }))] : [];
        for (const c of [...cmds, ...tail].flatMap(expand)) {
          const before = hashState(f.td);
          const r = apply(f, c);
          if (r !== null && r.status !== TDX_SUCCESS && tdx_status_name(r.status) !== 'TDX_OPERAND_BUSY|RCX') {
            expect(hashState(f.td), `${c.op} -> ${tdx_status_name(r.status)} changed state`).toBe(before);
          }
          if (r !== null && r.status === TDX_SUCCESS) successes.set(c.op, (successes.get(c.op) ?? 0) + 1);
          expect(checkModelInvariants(f.td), JSON.stringify(c)).toEqual([]);
        }
        expect(f.replay).toEqual(sept_populated_entries(f.td));
        const copy = cloneTd(f.td);
        expect(hashState(copy)).toBe(hashState(f.td));
        expect(checkModelInvariants(copy)).toEqual([]);
      }),
      // Fixed seed: the run is reproducible and the coverage floor below is stable.
      { numRuns: 500, seed: 20260128 },
    );
    // The random walk must reach real transitions of every main leaf, not only their failures.
    for (const op of ['septAdd', 'aug', 'pageAdd', 'block', 'unblock', 'remove', 'septRemove', 'demote', 'track', 'enter', 'finalize', 'flushDone', 'reclaim']) {
      expect(successes.get(op) ?? 0, `successful ${op}`).toBeGreaterThan(0);
    }
  });
});
