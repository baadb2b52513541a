// The common prologue, checked across every GPA leaf in the module's order: TDR, TD state,
// OP_STATE, operand, tree lock. Table: leaf x failure.
import { describe, expect, it } from 'vitest';
import { page_info, verify_page_info_input } from './helpers.ts';
import { PA, fixture, finalize, page4k, rcx, reclaimAll, runLeafCase, teardown, type Fixture, type LeafCase } from './tdx_test_support.ts';
import type { SeamcallResult } from './td.ts';
import { tdh_mem_page_aug } from './tdh_mem_page_aug.ts';
import { tdh_mem_page_demote } from './tdh_mem_page_demote.ts';
import { tdh_mem_page_promote } from './tdh_mem_page_promote.ts';
import { tdh_mem_page_remove } from './tdh_mem_page_remove.ts';
import { tdh_mem_range_block } from './tdh_mem_range_block.ts';
import { tdh_mem_range_unblock } from './tdh_mem_range_unblock.ts';
import { tdh_mem_sept_add } from './tdh_mem_sept_add.ts';
import { tdh_mem_sept_remove } from './tdh_mem_sept_remove.ts';
import { tdh_mng_vpflushdone } from './tdh_mng_vpflushdone.ts';
import { tdh_vp_enter_begin } from './tdh_vp_enter.ts';

/** Each GPA leaf at a level it accepts (1 = 2M, valid for all of them). */
const LEAVES: ReadonlyArray<readonly [string, (f: Fixture, r: number) => SeamcallResult]> = [
  ['SEPT.ADD', (f, r) => tdh_mem_sept_add(f.td, r, PA(page4k(f)))],
  ['PAGE.AUG', (f, r) => tdh_mem_page_aug(f.td, r, PA(0x10000))],
  ['RANGE.BLOCK', (f, r) => tdh_mem_range_block(f.td, r)],
  ['RANGE.UNBLOCK', (f, r) => tdh_mem_range_unblock(f.td, r)],
  ['PAGE.REMOVE', (f, r) => tdh_mem_page_remove(f.td, r)],
  ['SEPT.REMOVE', (f, r) => tdh_mem_sept_remove(f.td, r)],
  ['PAGE.DEMOTE', (f, r) => tdh_mem_page_demote(f.td, r, PA(page4k(f)))],
  ['PAGE.PROMOTE', (f, r) => tdh_mem_page_promote(f.td, r)],
];

const PROLOGUE: ReadonlyArray<{ name: string; setup: (f: Fixture) => void; r: number; want: string }> = [
  { name: 'TDR reclaimed', setup: (f) => { teardown(f); reclaimAll(f); }, r: rcx(512, 1), want: 'TDX_PAGE_METADATA_INCORRECT|RDX' },
  { name: 'after VPFLUSHDONE', setup: (f) => { tdh_mng_vpflushdone(f.td); }, r: rcx(512, 1), want: 'TDX_TD_KEYS_NOT_CONFIGURED' },
  { name: 'TD fatal', setup: (f) => { f.td.fatal = true; }, r: rcx(512, 1), want: 'TDX_TD_FATAL' },
  { name: 'reserved bits 11:3', setup: () => {}, r: rcx(512, 1) + 8, want: 'TDX_OPERAND_INVALID|RCX' },
  { name: 'unaligned GPA for the level', setup: () => {}, r: rcx(513, 1), want: 'TDX_OPERAND_INVALID|RCX' },
  { name: 'level above the leaf maximum', setup: () => {}, r: rcx(0, 4), want: 'TDX_OPERAND_INVALID|RCX' },
  { name: 'shared GPA (bit 47)', setup: () => {}, r: rcx(2 ** 35, 1), want: 'TDX_OPERAND_INVALID|RCX' },
  {
    name: 'tree lock held by VP.ENTER under zero-step',
    setup: (f) => { finalize(f); f.td.vcpus[0].zeroStepActive = true; tdh_vp_enter_begin(f.td, 0); },
    r: rcx(512, 1), want: 'TDX_OPERAND_BUSY|SEPT_TREE',
  },
  { name: 'walk stops at a FREE ancestor', setup: () => {}, r: rcx(512, 1), want: 'TDX_EPT_WALK_FAILED|RCX' },
];

describe('common prologue, in check order', () => {
  for (const [leaf, call] of LEAVES) {
    for (const p of PROLOGUE) {
      const c: LeafCase = { name: p.name, setup: p.setup, call: (f) => call(f, p.r), want: p.want };
      it(`${leaf}: ${p.name} -> ${p.want}`, () => runLeafCase(c));
    }
  }
});

describe('verify_page_info_input', () => {
  const table: ReadonlyArray<[string, number, number, number, boolean]> = [
    ['4K at level 0', page_info(1, 0), 0, 0, true],
    ['2M aligned', page_info(512, 1), 0, 1, true],
    ['2M unaligned', page_info(511, 1), 0, 1, false],
    ['level above max', page_info(0, 2), 0, 1, false],
    ['level below min', page_info(0, 0), 1, 3, false],
    ['bit 52 set', 2 ** 52, 0, 3, false],
    ['reserved bit 3', 8, 0, 3, false],
    ['1G aligned at level 2', page_info(262144, 2), 0, 2, true],
  ];
  for (const [name, r, min, max, want] of table) it(name, () => expect(verify_page_info_input(r, min, max)).toBe(want));
});

describe('PAGE.ADD and MR.FINALIZE op_state', () => {
  it('SEPT.ADD works both before and after finalize (module allows AUG before finalize too)', () => {
    const f = fixture();
    expect(tdh_mem_sept_add(f.td, rcx(0, 3), PA(page4k(f))).status).toBe(0);
    finalize(f);
    expect(tdh_mem_sept_add(f.td, rcx(0, 2), PA(page4k(f))).status).toBe(0);
  });
});
