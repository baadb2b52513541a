import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimEvent } from '../../shared/event.ts';
import type { InspectorRow, InspectorState } from '../../shared/api/runs.ts';
import type { EntryState } from '../../shared/store_types.ts';
import { SEPT_STATE_MAPPED, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING, sept_state_is_leaf, sept_state_of } from '../../shared/sept.ts';
import { KVM_PAGES_PER_HPAGE, is_frozen_spte, is_large_pte, is_last_spte, is_shadow_present_pte } from '../../shared/spte.ts';
import { TWO_40 } from '../../shared/u64.ts';
import { CHECKPOINT_EVENTS, InspectorIndex } from './inspector_index.ts';
import { inspectorState } from './inspector_state.ts';
import { Store } from './store.ts';
import { recordGenerated, replayState, tmpDbFile, type Recorded } from './testing/helpers.ts';

let store: Store;
let run: Recorded;
/** Random gfns and zaps over more than four checkpoints: fragmented ranges, many writes per step. */
let scattered: Recorded;

beforeAll(() => {
  store = Store.open(tmpDbFile());
  run = recordGenerated(store, { seed: 21, threads: 2, faults: 3000, chunkSize: 1000 });
  scattered = recordGenerated(store, { seed: 22, threads: 3, faults: 14000, sequential: false, gfnRange: 1 << 14, chunkSize: 4096 });
});
afterAll(() => store.close());

/** Entries a tree's rows stand for (a merged row counts each entry it covers). */
function entriesCovered(rows: InspectorRow[]): number {
  return rows.filter((r) => !r.removed).reduce((n, r) => n + r.count, 0);
}

/** The entries behind the rows, one by one: what the rows claim, to compare with a replay. */
function expandRows(rows: InspectorRow[]): { level: number; gfn: number; value: number; mismatch: boolean; removed: boolean; changed: boolean }[] {
  const out = [];
  for (const r of rows) {
    const span = KVM_PAGES_PER_HPAGE(r.level);
    const stepped = Math.floor((r.value % TWO_40) / 4096) !== 0;
    for (let k = 0; k < r.count; k++) out.push({ level: r.level, gfn: r.gfnStart + k * span, value: stepped ? r.value + k * span * 4096 : r.value, mismatch: r.mismatch, removed: r.removed, changed: r.changed });
    expect(out[out.length - 1].value).toBe(r.valueLast);
  }
  return out;
}

/** The checker's rule, entry by entry, the slow and obvious way (keys "level:gfn"). */
function bruteDisagreements(mirror: EntryState[], sept: EntryState[]): Set<string> {
  const linked = (tree: 'mirror' | 'sept', entries: EntryState[]): Map<string, number> => {
    const nonLeaf = (e: EntryState) => e.level > 1 && (tree === 'mirror' ? is_shadow_present_pte(e.value) && !is_large_pte(e.value) : sept_state_of(e.value) >= 0 && !sept_state_is_leaf(sept_state_of(e.value)));
    const out = new Map<string, number>();
    const linkedNonLeaf = new Set<string>();
    const top = entries[0]?.level ?? 0;
    for (const e of entries) {
      const span = KVM_PAGES_PER_HPAGE(e.level + 1);
      if (e.level !== top && !linkedNonLeaf.has(`${e.level + 1}:${Math.floor(e.gfn / span) * span}`)) continue;
      out.set(`${e.level}:${e.gfn}`, e.value);
      if (nonLeaf(e)) linkedNonLeaf.add(`${e.level}:${e.gfn}`);
    }
    return out;
  };
  const m = linked('mirror', mirror);
  const s = linked('sept', sept);
  const bad = new Set<string>();
  for (const [k, v] of m) {
    if (is_frozen_spte(v) || !is_shadow_present_pte(v)) continue;
    const sv = s.get(k);
    const state = sv === undefined ? -1 : sept_state_of(sv);
    const pfn = (x: number) => Math.floor((x % TWO_40) / 4096);
    const ok = is_last_spte(v, Number(k.split(':')[0])) ? (state === SEPT_STATE_MAPPED || state === SEPT_STATE_PENDING) && pfn(sv!) === pfn(v) : state === SEPT_STATE_NL_MAPPED;
    if (!ok) bad.add(k);
  }
  for (const k of s.keys()) {
    const v = m.get(k);
    if (v !== undefined && is_frozen_spte(v)) continue;
    if (v === undefined || !is_shadow_present_pte(v)) bad.add(k);
  }
  return bad;
}

/** Checks an inspector answer entry by entry against a replay of the events up to seq. */
function checkAgainstReplay(events: readonly SimEvent[], seq: number, got: InspectorState): void {
  const want = replayState(events, seq);
  const bad = bruteDisagreements(want.mirror, want.sept);
  expect(got.mismatchCount, `mismatchCount at ${seq}`).toBe(bad.size);
  for (const tree of ['mirror', 'sept'] as const) {
    const entries = expandRows(got[tree]);
    const present = entries.filter((e) => !e.removed);
    expect(present.map((e) => [e.level, e.gfn, e.value]).sort(), `${tree} entries at ${seq}`).toEqual(want[tree].map((e) => [e.level, e.gfn, e.value]).sort());
    for (const e of entries) expect(e.mismatch, `${tree} ${e.level}:${e.gfn} at ${seq}`).toBe(bad.has(`${e.level}:${e.gfn}`));
    const cursor = seq >= 0 ? events[seq] : undefined;
    const marked = entries.filter((e) => e.changed);
    const wrote = cursor?.tree === tree && entries.some((e) => e.level === cursor.level && e.gfn === cursor.gfn);
    expect(marked.map((e) => [e.level, e.gfn]), `${tree} changed at ${seq}`).toEqual(wrote ? [[cursor.level, cursor.gfn]] : []);
  }
}

/** A row limit no test run reaches. */
const ROWS_ALL = 1_000_000;

function findEvent(pred: (e: SimEvent) => boolean): SimEvent {
  const e = run.events.find(pred);
  if (e === undefined) throw new Error('generator produced no such event');
  return e;
}

function sweptIndex(r: Recorded): InspectorIndex {
  const index = new InspectorIndex(r.runId, r.events.length);
  index.sweepAll(store.readable);
  return index;
}

describe('inspectorState on a recorded run', () => {
  it('matches a replay entry by entry (values, disagreements, changed), at several points', () => {
    const index = sweptIndex(run);
    for (const seq of [-1, 0, 7, 100, 5000, CHECKPOINT_EVENTS - 1, CHECKPOINT_EVENTS, run.events.length - 1]) {
      const got = inspectorState(store.readable, index, seq);
      checkAgainstReplay(run.events, seq, got);
      expect(got.truncated).toBe(false);
    }
  });

  it('matches a replay on scattered faults and zaps, from the sweep and from the store alike', () => {
    expect(scattered.events.length).toBeGreaterThan(5 * CHECKPOINT_EVENTS);
    const swept = sweptIndex(scattered);
    const seqs = [3, 12_345, 2 * CHECKPOINT_EVENTS - 1, 50_001, scattered.events.length - 2, scattered.events.length - 1];
    const all = (index: InspectorIndex, seq: number) => inspectorState(store.readable, index, seq, undefined, ROWS_ALL);
    for (const seq of seqs) checkAgainstReplay(scattered.events, seq, all(swept, seq));
    // A fresh index far ahead of its sweep reads the store's state at the cursor instead.
    const cold = new InspectorIndex(scattered.runId, scattered.events.length);
    for (const seq of seqs.slice().reverse()) expect(all(cold, seq), `cold at ${seq}`).toEqual(all(swept, seq));
    expect(cold.sweptTo).toBeLessThan(scattered.events.length - 1);
  });

  it('merges a faulted-in region into a few rows under its 2M table', () => {
    const got = inspectorState(store.readable, sweptIndex(run), run.events.length - 1);
    const want = replayState(run.events, run.events.length - 1);
    expect(entriesCovered(got.mirror)).toBe(want.mirror.length);
    expect(got.mirror.length).toBeLessThan(want.mirror.length / 4);
    expect(got.sept.some((r) => r.kind === 'NL_MAPPED' && r.depth === 0)).toBe(true);
    // The generator's leaf values are not exact module encodings (they decode as INVALID), so only the shape is checked.
    expect(got.sept.some((r) => r.leaf && r.depth === 1 && r.count > 1)).toBe(true);
  });

  it('marks the entry the cursor event wrote', () => {
    const aug = findEvent((e) => e.name === 'TDH.MEM.PAGE.AUG' && e.tree === 'sept');
    const got = inspectorState(store.readable, sweptIndex(run), aug.seq);
    const changed = got.sept.filter((r) => r.changed);
    expect(changed.length).toBe(1);
    expect(changed[0].gfnStart).toBe(aug.gfn);
    expect(got.mirror.some((r) => r.changed)).toBe(false);
  });

  it('after a zap of the mirror leaf the S-EPT leaf disagrees; after REMOVE it shows as removed', () => {
    const index = sweptIndex(run);
    const zap = findEvent((e) => e.name === 'tdp_mmu_set_spte' && e.tree === 'mirror');
    const atZap = inspectorState(store.readable, index, zap.seq);
    expect(atZap.mirror.some((r) => r.removed && r.gfnStart === zap.gfn)).toBe(true);
    expect(atZap.sept.some((r) => r.mismatch && r.gfnStart <= zap.gfn && zap.gfn < r.gfnEnd)).toBe(true);
    const remove = findEvent((e) => e.name === 'TDH.MEM.PAGE.REMOVE' && e.seq > zap.seq);
    const atRemove = inspectorState(store.readable, index, remove.seq);
    expect(atRemove.sept.some((r) => r.removed && r.gfnStart === remove.gfn)).toBe(true);
  });

  it('answers a gfn window with the entries in it and the tables above them', () => {
    const gfn = run.events.find((e) => e.tree === 'mirror' && e.level === 1)!.gfn;
    const index = sweptIndex(run);
    const got = inspectorState(store.readable, index, run.events.length - 1, { gfnStart: gfn, gfnEnd: gfn + 1 });
    expect(got.mirror.filter((r) => r.level === 1).every((r) => r.gfnStart === gfn && r.count === 1)).toBe(true);
    expect(got.mirror[0]).toMatchObject({ depth: 0, level: 2, leaf: false });
    expect(got.mismatchCount).toBe(inspectorState(store.readable, index, run.events.length - 1).mismatchCount);
  });

  it('is empty before the first event', () => {
    expect(inspectorState(store.readable, sweptIndex(run), -1)).toMatchObject({ mirror: [], sept: [], mismatchCount: 0 });
  });
});
