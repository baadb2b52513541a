// Test input generator (not a mock): plausible page-table traffic emitted through the real
// EventSink, so the store is tested on the chunks, strings and end patches the engine produces.
// Shape per fault, modeled loosely on the TDX private fault path: op `fault` > MMU
// `kvm_tdp_mmu_map` > (first fault in a 2M region: link a mirror page table and TDH.MEM.SEPT.ADD)
// > freeze the mirror leaf > hook `set_external_spte` > TDH.MEM.PAGE.AUG (sometimes BUSY first)
// > set the mirror leaf. Now and then a `zap-range` empties a few entries (BLOCK, TRACK, REMOVE)
// and a shared fault writes the direct tree. Deterministic in the seed.
import { EventSink } from '../../sim/event_sink.ts';
import type { EventChunk } from '../../../shared/event.ts';
import { FROZEN_SPTE, SHADOW_NONPRESENT_VALUE, SPTE_MMU_PRESENT_MASK, VMX_EPT_RWX_MASK } from '../../../shared/spte.ts';
import { TWO_40 } from '../../../shared/u64.ts';
import { SEPTE_INIT_VALUE } from '../page_state.ts';

/** xorshift32: a test PRNG, integer only. */
export class TestPrng {
  #s: number;
  constructor(seed: number) {
    this.#s = (seed >>> 0) || 0x9e3779b9;
  }
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s;
  }
  /** Uniform in [0, n) for small n (bias negligible for a test generator). */
  below(n: number): number {
    return this.next() % n;
  }
}

export interface GenOptions {
  seed: number;
  threads: number;
  /** Faults to emit; events are about 10 per fault. */
  faults: number;
  /** Fault gfns are sequential from gfnBase (true) or random in [gfnBase, gfnBase + gfnRange). */
  sequential?: boolean;
  gfnBase?: number;
  gfnRange?: number;
  chunkSize?: number;
  onChunk?: (chunk: EventChunk) => void;
  keep?: boolean;
}

const SEPT_NL_MAPPED = VMX_EPT_RWX_MASK + 2 ** 11 * TWO_40;
const SEPT_PENDING = 0x70 + (2 ** 11 + 2 ** 4) * TWO_40;

function leafSpte(pfn: number): number {
  return pfn * 4096 + SPTE_MMU_PRESENT_MASK + VMX_EPT_RWX_MASK + 0x30;
}

export function generateRun(o: GenOptions): { sink: EventSink; threadNames: string[] } {
  const prng = new TestPrng(o.seed);
  const sink = new EventSink({ chunkSize: o.chunkSize ?? 4096, onChunk: o.onChunk, keep: o.keep });
  const threadNames = Array.from({ length: o.threads }, (_, i) => `vcpu${i}`);
  const linked = new Set<number>();
  const mapped: number[] = [];
  const gfnBase = o.gfnBase ?? 0x80000;
  const gfnRange = o.gfnRange ?? 1 << 18;
  for (let i = 0; i < o.faults; i++) {
    const t = prng.below(o.threads);
    sink.step++;
    sink.setOp(t, i);
    if (i > 0 && prng.below(64) === 0) zapSome(sink, t, mapped, prng);
    else if (prng.below(32) === 0) sharedFault(sink, t, gfnBase + prng.below(gfnRange), i);
    const gfn = o.sequential === false ? gfnBase + prng.below(gfnRange) : gfnBase + i;
    privateFault(sink, t, gfn, i, linked, prng);
    mapped.push(gfn);
  }
  sink.finish();
  return { sink, threadNames };
}

function privateFault(sink: EventSink, t: number, gfn: number, i: number, linked: Set<number>, prng: TestPrng): void {
  sink.begin(t, 'op', 'fault', gfn, 1);
  sink.begin(t, 'mmu', 'kvm_tdp_mmu_map', gfn, 1);
  const region = Math.floor(gfn / 512) * 512;
  if (!linked.has(region)) {
    linked.add(region);
    sink.instant(t, 'mmu', 'tdp_mmu_link_sp', region, 2, 'mirror', SHADOW_NONPRESENT_VALUE, leafSpte(0x100000 + region / 512) - 0x30);
    sink.begin(t, 'hook', 'link_external_spt', region, 2);
    sink.instant(t, 'tdx', 'TDH.MEM.SEPT.ADD', region, 2, 'sept', SEPTE_INIT_VALUE, SEPT_NL_MAPPED, 'TDX_SUCCESS');
    sink.end(t);
  }
  sink.instant(t, 'mmu', 'tdp_mmu_set_spte_atomic', gfn, 1, 'mirror', SHADOW_NONPRESENT_VALUE, FROZEN_SPTE);
  sink.begin(t, 'hook', 'set_external_spte', gfn, 1);
  if (prng.below(16) === 0) sink.instant(t, 'tdx', 'TDH.MEM.PAGE.AUG', gfn, 1, 'none', null, null, 'TDX_OPERAND_BUSY', `rcx=0x${(0x8000020000000000 + 0).toString(16)}`);
  sink.instant(t, 'tdx', 'TDH.MEM.PAGE.AUG', gfn, 1, 'sept', SEPTE_INIT_VALUE, SEPT_PENDING + (0x200000 + i) * 4096, 'TDX_SUCCESS');
  sink.end(t, 'ok');
  sink.instant(t, 'mmu', '__tdp_mmu_set_spte', gfn, 1, 'mirror', FROZEN_SPTE, leafSpte(0x200000 + i));
  sink.end(t);
  sink.end(t, prng.below(8) === 0 ? 'RET_PF_RETRY' : 'RET_PF_FIXED');
}

function sharedFault(sink: EventSink, t: number, gfn: number, i: number): void {
  sink.begin(t, 'op', 'fault', gfn, 1, 'shared');
  sink.instant(t, 'mmu', 'tdp_mmu_set_spte_atomic', gfn, 1, 'direct', SHADOW_NONPRESENT_VALUE, leafSpte(0x300000 + i));
  sink.end(t, 'RET_PF_FIXED');
}

function zapSome(sink: EventSink, t: number, mapped: number[], prng: TestPrng): void {
  const n = 1 + prng.below(4);
  sink.begin(t, 'op', 'zap-range');
  for (let k = 0; k < n && mapped.length > 0; k++) {
    const gfn = mapped.splice(prng.below(mapped.length), 1)[0];
    sink.begin(t, 'mmu', 'tdp_mmu_zap_leafs', gfn, 1);
    sink.instant(t, 'mmu', 'tdp_mmu_set_spte', gfn, 1, 'mirror', leafSpte(1), SHADOW_NONPRESENT_VALUE);
    sink.begin(t, 'hook', 'remove_external_spte', gfn, 1);
    sink.instant(t, 'tdx', 'TDH.MEM.RANGE.BLOCK', gfn, 1, 'sept', SEPT_PENDING, SEPT_PENDING + 8 * TWO_40, 'TDX_SUCCESS');
    sink.instant(t, 'tdx', 'TDH.MEM.TRACK', -1, 0, 'none', null, null, 'TDX_SUCCESS');
    sink.instant(t, 'tdx', 'TDH.MEM.PAGE.REMOVE', gfn, 1, 'sept', SEPT_PENDING + 8 * TWO_40, SEPTE_INIT_VALUE, 'TDX_SUCCESS');
    sink.end(t);
    sink.end(t);
  }
  sink.end(t, 'ok');
}
