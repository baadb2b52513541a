import { describe, expect, it } from 'vitest';
import { is_tlb_tracked } from './tlb_tracking.ts';
import { finalize, fixture, ok, runLeafCase, type LeafCase } from './tdx_test_support.ts';
import { kick_all_vcpus } from './kick_all_vcpus.ts';
import { tdh_mem_track } from './tdh_mem_track.ts';
import { tdh_vp_enter_begin, tdh_vp_enter_end } from './tdh_vp_enter.ts';

const CASES: LeafCase[] = [
  { name: 'TD_EPOCH 1 -> 2', setup: () => {}, call: (f) => tdh_mem_track(f.td), want: 'TDX_SUCCESS', check: (f) => expect(f.td.tdEpoch).toBe(2) },
  {
    name: 'two TRACKs with a vCPU still in guest from epoch 1',
    setup: (f) => { finalize(f); ok(tdh_vp_enter_begin(f.td, 0)); ok(tdh_mem_track(f.td)); },
    call: (f) => tdh_mem_track(f.td), want: 'TDX_PREVIOUS_TLB_EPOCH_BUSY',
  },
  {
    name: 'two TRACKs with a kick between',
    setup: (f) => { finalize(f); ok(tdh_vp_enter_begin(f.td, 0)); ok(tdh_mem_track(f.td)); kick_all_vcpus(f.td); },
    call: (f) => tdh_mem_track(f.td), want: 'TDX_SUCCESS', check: (f) => expect(f.td.tdEpoch).toBe(3),
  },
  { name: 'TD fatal', setup: (f) => { f.td.fatal = true; }, call: (f) => tdh_mem_track(f.td), want: 'TDX_TD_FATAL' },
];

describe('TDH.MEM.TRACK', () => {
  for (const c of CASES) it(`${c.name} -> ${c.want}`, () => runLeafCase(c));
});

describe('TDH.MEM.TRACK epoch lock', () => {
  it('epoch lock held exclusive by another holder -> TDX_OPERAND_BUSY|TD_EPOCH, epoch unchanged', () => {
    const f = fixture();
    f.td.epochLock.exclusive = true; // no leaf of the model holds it across steps: set by hand
    const r = tdh_mem_track(f.td);
    expect(r.status).toBe(0x80000200 * 65536 + 0xa9);
    expect(f.td.tdEpoch).toBe(1);
    expect(f.td.epochLock.exclusive).toBe(true);
  });
});

describe('is_tlb_tracked', () => {
  it('follows the epoch rule of tdx-module.md 3.2', () => {
    const f = fixture();
    finalize(f);
    ok(tdh_vp_enter_begin(f.td, 0)); // counted in epoch 1
    expect(is_tlb_tracked(f.td, 1)).toBe(false); // bepoch == TD_EPOCH
    ok(tdh_mem_track(f.td)); // epoch 2
    expect(is_tlb_tracked(f.td, 1)).toBe(false); // vCPU 0 still counted in epoch 1
    tdh_vp_enter_end(f.td, 0);
    expect(is_tlb_tracked(f.td, 1)).toBe(true);
    expect(is_tlb_tracked(f.td, 2)).toBe(false);
    ok(tdh_vp_enter_begin(f.td, 1)); // counted in epoch 2
    ok(tdh_mem_track(f.td)); // epoch 3: refcount[(3-1)&1] must be 0 -> epoch 1's parity is free
    expect(is_tlb_tracked(f.td, 1)).toBe(true); // older than previous
    expect(is_tlb_tracked(f.td, 2)).toBe(false);
  });
});
