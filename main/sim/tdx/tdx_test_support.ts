// Test support for the TDX model's tests (not itself a test): a TD with a replay log of
// onEntryWrite, a page allocator, short builders for common states, and a table runner that
// checks status, "nothing changed on failure", the model invariants and the replayed S-EPT.
import { expect } from 'vitest';
import { SEPTE_INIT_VALUE } from '../../../shared/sept.ts';
import { TDX_SUCCESS, tdx_status_is_error, tdx_status_name, type TdxStatus } from '../../../shared/tdx_status.ts';
import type { U64 } from '../../../shared/u64.ts';
import { page_info } from './helpers.ts';
import { checkModelInvariants } from './invariants.ts';
import { kick_all_vcpus } from './kick_all_vcpus.ts';
import { sept_entry_key, sept_populated_entries } from './sept_walk.ts';
import { createTd, defaultTdConfig, td_max_level, type SeamcallResult, type Td, type TdConfig } from './td.ts';
import { hashState } from './td_state.ts';
import { tdg_mem_page_accept_begin, tdg_mem_page_accept_end } from './tdg_mem_page_accept.ts';
import { tdh_mem_page_aug } from './tdh_mem_page_aug.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';
import { tdh_mem_sept_add } from './tdh_mem_sept_add.ts';
import { tdh_mem_track } from './tdh_mem_track.ts';
import { tdh_mr_finalize } from './tdh_mr_finalize.ts';
import { tdh_vp_enter_begin } from './tdh_vp_enter.ts';
import { tdh_vp_flush } from './tdh_vp_flush.ts';
import { tdh_mng_vpflushdone } from './tdh_mng_vpflushdone.ts';
import { tdh_phymem_cache_wb } from './tdh_phymem_cache_wb.ts';
import { tdh_mng_key_freeid } from './tdh_mng_key_freeid.ts';
import { tdh_phymem_page_reclaim } from './tdh_phymem_page_reclaim.ts';

export interface Fixture {
  td: Td;
  /** onEntryWrite replayed onto an empty map: key -> value, INIT values deleted. */
  replay: Map<number, U64>;
  writes: number;
  /** Next free 4K pfn / next free 2M-aligned pfn. */
  next4k: number;
  next2m: number;
}

export function fixture(config: Partial<TdConfig> = {}): Fixture {
  const td = createTd({ ...defaultTdConfig(), ...config });
  const f: Fixture = { td, replay: new Map(), writes: 0, next4k: 0x1000, next2m: 0x10000 };
  td.onEntryWrite = (gfn, pgLevel, oldValue, newValue) => {
    const key = sept_entry_key(gfn, pgLevel);
    expect(f.replay.get(key) ?? SEPTE_INIT_VALUE).toBe(oldValue);
    if (newValue === SEPTE_INIT_VALUE) f.replay.delete(key);
    else f.replay.set(key, newValue);
    f.writes++;
  };
  return f;
}

export const rcx = page_info;
export const PA = (pfn: number): number => pfn * 4096;
export function page4k(f: Fixture): number {
  return f.next4k++;
}
export function page2m(f: Fixture): number {
  const p = f.next2m;
  f.next2m += 512;
  return p;
}

export function ok(r: SeamcallResult | { status: TdxStatus }): void {
  expect(tdx_status_name(r.status)).toBe('TDX_SUCCESS');
}

/** SEPT.ADD every missing non-leaf entry from the root down to `level + 1` for `gfn`. */
export function buildPath(f: Fixture, gfn: number, level: number): void {
  for (let l = td_max_level(f.td); l > level; l--) {
    const r = tdh_mem_sept_add(f.td, rcx(gfn - (gfn % 512 ** l), l), PA(page4k(f)));
    if (r.status !== TDX_SUCCESS && tdx_status_name(r.status) !== 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX') ok(r);
  }
}

/** A PENDING leaf at `level` (0 or 1) for `gfn`; returns its pfn. */
export function aug(f: Fixture, gfn: number, level: number): number {
  buildPath(f, gfn, level);
  const pfn = level === 0 ? page4k(f) : page2m(f);
  ok(tdh_mem_page_aug(f.td, rcx(gfn, level), PA(pfn)));
  return pfn;
}

export function finalize(f: Fixture): void {
  ok(tdh_mr_finalize(f.td));
}

/** vCPU `v` enters, accepts (gfn, level) and stays in the guest. */
export function accept(f: Fixture, v: number, gfn: number, level: number): void {
  if (!f.td.vcpus[v].inGuest) ok(tdh_vp_enter_begin(f.td, v));
  const r = tdg_mem_page_accept_begin(f.td, v, rcx(gfn, level));
  ok(r);
  expect(r.inProgress).toBe(true);
  ok(tdg_mem_page_accept_end(f.td, v));
}

/** A MAPPED leaf via AUG + ACCEPT (finalizes first); vCPU 0 is left in the guest. */
export function mapped(f: Fixture, gfn: number, level: number): number {
  if (f.td.opState !== 2) finalize(f);
  const pfn = aug(f, gfn, level);
  accept(f, 0, gfn, level);
  return pfn;
}

/** BLOCK, TRACK and kick: the entry is blocked and tracked. */
export function blockTracked(f: Fixture, gfn: number, level: number): void {
  ok(tdh_mem_range_block(f.td, rcx(gfn, level)));
  ok(tdh_mem_track(f.td));
  kick_all_vcpus(f.td);
}

export interface LeafCase {
  name: string;
  /** Brings the fixture to the state under test. */
  setup: (f: Fixture) => void;
  call: (f: Fixture) => SeamcallResult;
  /** Expected status by name, e.g. 'TDX_OPERAND_BUSY|RCX'. */
  want: string;
  /** The failure sets TDHP on an entry (a documented side effect of a failed host entry lock). */
  setsTdhp?: boolean;
  /** Extra assertions on the result and the fixture. */
  check?: (f: Fixture, r: SeamcallResult) => void;
}

/**
 * Runs one case: checks the status; on an error or warning, that nothing changed (hashState);
 * always, the model invariants and that the replayed onEntryWrite log equals the S-EPT.
 */
export function runLeafCase(c: LeafCase): void {
  const f = fixture();
  c.setup(f);
  expect(checkModelInvariants(f.td)).toEqual([]);
  const before = hashState(f.td);
  const r = c.call(f);
  expect(tdx_status_name(r.status)).toBe(c.want);
  if (r.status !== TDX_SUCCESS && !c.setsTdhp) expect(hashState(f.td)).toBe(before);
  if (r.status === TDX_SUCCESS) expect(hashState(f.td)).not.toBe(before);
  if (tdx_status_is_error(r.status) === false && r.status !== TDX_SUCCESS) expect(hashState(f.td)).toBe(before);
  expect(checkModelInvariants(f.td)).toEqual([]);
  expect(f.replay).toEqual(sept_populated_entries(f.td));
  c.check?.(f, r);
}

/** TDH.VP.FLUSH every vCPU (kicking first), VPFLUSHDONE, CACHE.WB, KEY.FREEID: TD_TEARDOWN. */
export function teardown(f: Fixture): void {
  kick_all_vcpus(f.td);
  for (const v of f.td.vcpus) ok(tdh_vp_flush(f.td, v.index));
  ok(tdh_mng_vpflushdone(f.td));
  ok(tdh_phymem_cache_wb(f.td));
  ok(tdh_mng_key_freeid(f.td));
}

/** RECLAIM every page the TD owns, the TDR last. */
export function reclaimAll(f: Fixture): void {
  for (let size = 2; size >= 0; size--) {
    for (const [pfn, e] of [...f.td.pamt.bySize[size]]) {
      if (e.pt !== 4) ok(tdh_phymem_page_reclaim(f.td, PA(pfn)));
    }
  }
  ok(tdh_phymem_page_reclaim(f.td, PA(f.td.config.tdrPfn)));
}
