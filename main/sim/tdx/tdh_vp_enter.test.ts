import { describe, expect, it } from 'vitest';
import { tdx_status_name } from '../../../shared/tdx_status.ts';
import { checkModelInvariants } from './invariants.ts';
import { hashState } from './td_state.ts';
import { aug, buildPath, finalize, fixture, ok, rcx, PA } from './tdx_test_support.ts';
import { kick_all_vcpus } from './kick_all_vcpus.ts';
import { tdh_mem_page_aug } from './tdh_mem_page_aug.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';
import { tdh_mem_track } from './tdh_mem_track.ts';
import { tdh_vp_enter_begin, tdh_vp_enter_end, tdh_vp_enter_guest } from './tdh_vp_enter.ts';

const G = 1024;

describe('TDH.VP.ENTER', () => {
  const failures: ReadonlyArray<[string, (f: ReturnType<typeof fixture>) => void, string]> = [
    ['before finalize', () => {}, 'TDX_OP_STATE_INCORRECT'],
    ['already in guest', (f) => { finalize(f); ok(tdh_vp_enter_begin(f.td, 0)); }, 'TDX_OPERAND_BUSY|RCX'],
    ['TD fatal', (f) => { finalize(f); f.td.fatal = true; }, 'TDX_TD_FATAL'],
  ];
  for (const [name, setup, want] of failures) {
    it(`${name} -> ${want}, nothing changes`, () => {
      const f = fixture();
      setup(f);
      const before = hashState(f.td);
      expect(tdx_status_name(tdh_vp_enter_begin(f.td, 0).status)).toBe(want);
      expect(hashState(f.td)).toBe(before);
    });
  }

  it('entry counts the vCPU in refcount[epoch & 1]; exit uncounts; a moved epoch flushes', () => {
    const f = fixture();
    finalize(f);
    ok(tdh_vp_enter_begin(f.td, 0));
    expect(f.td.refcount).toEqual([0, 1]);
    tdh_vp_enter_end(f.td, 0);
    expect(f.td.refcount).toEqual([0, 0]);
    ok(tdh_mem_track(f.td));
    ok(tdh_vp_enter_begin(f.td, 0));
    expect(f.td.refcount).toEqual([1, 0]);
    expect(f.td.vcpus[0].vcpuEpoch).toBe(2);
    expect(f.td.stats.tlbFlushes).toBe(1);
  });

  it('zero-step mitigation holds the tree lock only until VP.ENTER enters the guest: BUSY|SEPT_TREE in between, not after', () => {
    const f = fixture();
    finalize(f); aug(f, G, 0); buildPath(f, G + 1, 0);
    f.td.vcpus[1].zeroStepActive = true;
    ok(tdh_vp_enter_begin(f.td, 1));
    expect(tdx_status_name(tdh_mem_page_aug(f.td, rcx(G + 1, 0), PA(0x5000)).status)).toBe('TDX_OPERAND_BUSY|SEPT_TREE');
    const busy = tdh_mem_range_block(f.td, rcx(G, 0)).status;
    expect(busy).toBe(0x80000200 * 65536 + 0x92); // 0x8000020000000092
    expect(checkModelInvariants(f.td)).toEqual([]);
    // tdh_vp_enter.c: "If the SEPT lock was acquired by the TDENTER stepping filter, release it now".
    tdh_vp_enter_guest(f.td, 1);
    expect(f.td.vcpus[1].inGuest).toBe(true);
    ok(tdh_mem_page_aug(f.td, rcx(G + 1, 0), PA(0x5000)));
    ok(tdh_mem_range_block(f.td, rcx(G, 0)));
    expect(checkModelInvariants(f.td)).toEqual([]);
  });

  it('a kick while a zero-step VP.ENTER holds the tree lock completes the entry first, then exits the vCPU', () => {
    const f = fixture();
    finalize(f); aug(f, G, 0);
    f.td.vcpus[0].zeroStepActive = true;
    ok(tdh_vp_enter_begin(f.td, 0));
    expect(kick_all_vcpus(f.td)).toBe(1);
    expect(f.td.vcpus[0]).toMatchObject({ inGuest: false, holdsSeptLock: false });
    ok(tdh_mem_range_block(f.td, rcx(G, 0)));
    expect(checkModelInvariants(f.td)).toEqual([]);
  });

  it('zero-step entry while the tree lock is held fails BUSY|SEPT_TREE with the refcount untouched', () => {
    const f = fixture();
    finalize(f);
    f.td.vcpus[0].zeroStepActive = true;
    f.td.septLock.counter = 1; // as if a shared holder were mid-leaf
    expect(tdx_status_name(tdh_vp_enter_begin(f.td, 0).status)).toBe('TDX_OPERAND_BUSY|SEPT_TREE');
    expect(f.td.refcount).toEqual([0, 0]);
    f.td.septLock.counter = 0;
    ok(tdh_vp_enter_begin(f.td, 0));
  });

  it('kick_all_vcpus exits everyone in guest and counts them', () => {
    const f = fixture();
    finalize(f);
    ok(tdh_vp_enter_begin(f.td, 0));
    ok(tdh_vp_enter_begin(f.td, 1));
    expect(kick_all_vcpus(f.td)).toBe(2);
    expect(kick_all_vcpus(f.td)).toBe(0);
    expect(f.td.stats).toMatchObject({ kicks: 2, vcpusKicked: 2 });
    expect(f.td.refcount).toEqual([0, 0]);
  });
});
