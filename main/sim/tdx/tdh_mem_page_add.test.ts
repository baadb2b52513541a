import { describe, expect, it } from 'vitest';
import { SEPT_STATE_MAPPED } from './test_values.ts';
import { sept_lookup } from './sept_walk.ts';
import { PA, buildPath, finalize, rcx, runLeafCase, type LeafCase } from './tdx_test_support.ts';
import { tdh_mem_page_add } from './tdh_mem_page_add.ts';

const G = 1024;
const SRC = PA(0x7777);

const CASES: LeafCase[] = [
  {
    name: 'before finalize: FREE -> MAPPED',
    setup: (f) => buildPath(f, G, 0), call: (f) => tdh_mem_page_add(f.td, rcx(G, 0), PA(0x5000), SRC), want: 'TDX_SUCCESS',
    check: (f) => { expect(sept_lookup(f.td, G, 1)!.state).toBe(SEPT_STATE_MAPPED); expect(f.td.chldcnt).toBe(6 + 3 + 1); },
  },
  {
    name: 'after finalize',
    setup: (f) => { buildPath(f, G, 0); finalize(f); },
    call: (f) => tdh_mem_page_add(f.td, rcx(G, 0), PA(0x5000), SRC), want: 'TDX_OP_STATE_INCORRECT',
  },
  { name: '2M level', setup: (f) => buildPath(f, G, 1), call: (f) => tdh_mem_page_add(f.td, rcx(G, 1), PA(0x10000), SRC), want: 'TDX_OPERAND_INVALID|RCX' },
  { name: 'missing PT page', setup: (f) => buildPath(f, G, 1), call: (f) => tdh_mem_page_add(f.td, rcx(G, 0), PA(0x5000), SRC), want: 'TDX_EPT_WALK_FAILED|RCX' },
  {
    name: 'entry already MAPPED',
    setup: (f) => { buildPath(f, G, 0); tdh_mem_page_add(f.td, rcx(G, 0), PA(0x5000), SRC); },
    call: (f) => tdh_mem_page_add(f.td, rcx(G, 0), PA(0x5001), SRC), want: 'TDX_EPT_ENTRY_STATE_INCORRECT|RCX',
  },
  { name: 'target owned', setup: (f) => buildPath(f, G, 0), call: (f) => tdh_mem_page_add(f.td, rcx(G, 0), PA(0x12), SRC), want: 'TDX_PAGE_METADATA_INCORRECT|R8' },
  { name: 'source unaligned', setup: (f) => buildPath(f, G, 0), call: (f) => tdh_mem_page_add(f.td, rcx(G, 0), PA(0x5000), SRC + 1), want: 'TDX_OPERAND_INVALID|R9' },
  // The module checks the source (R9) before the target (R8).
  { name: 'source unaligned and target owned', setup: (f) => buildPath(f, G, 0), call: (f) => tdh_mem_page_add(f.td, rcx(G, 0), PA(0x12), SRC + 1), want: 'TDX_OPERAND_INVALID|R9' },
  { name: 'source unaligned and target unaligned', setup: (f) => buildPath(f, G, 0), call: (f) => tdh_mem_page_add(f.td, rcx(G, 0), PA(0x5000) + 8, SRC + 1), want: 'TDX_OPERAND_INVALID|R9' },
];

describe('TDH.MEM.PAGE.ADD', () => {
  for (const c of CASES) it(`${c.name} -> ${c.want}`, () => runLeafCase(c));
});
