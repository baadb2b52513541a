import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimEvent } from '../../shared/event.ts';
import type { InspectorRow, InspectorState } from '../../shared/api/runs.ts';
import type { EntryState } from '../../shared/store_types.ts';
import { SEPT_STATE_MAPPED, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING, sept_entry_value, sept_state_is_leaf, sept_state_of } from '../../shared/sept.ts';
import { FROZEN_SPTE, KVM_PAGES_PER_HPAGE, SPTE_MMU_PRESENT_MASK, VMX_EPT_RWX_MASK, is_frozen_spte, is_large_pte, is_last_spte, is_shadow_present_pte } from '../../shared/spte.ts';
import { TWO_40 } from '../../shared/u64.ts';
import {
  CHECKPOINT_EVENTS, InspectorIndex, applyWrites, findDisagreements, inspectorState, isBusyStatus, newRanges, nextWrite, openSpansAt, rangeKindCounts,
  rangesOfColumns, runMarkers, treeRows, writesOf, type EntryRanges,
} from './run_view_queries.ts';
import { eventsRange } from './events_read.ts';
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

const leafSpte = (pfn: number): number => pfn * 4096 + SPTE_MMU_PRESENT_MASK + VMX_EPT_RWX_MASK + 0x30;
const nonLeafSpte = (pfn: number): number => pfn * 4096 + SPTE_MMU_PRESENT_MASK + VMX_EPT_RWX_MASK;

/** Ranges of a tree given as [level, gfn, value] entries sorted by (level desc, gfn). */
function rangesOf(tree: 'mirror' | 'sept', entries: [number, number, number][]): EntryRanges {
  return rangesOfColumns(tree, { level: entries.map((e) => e[0]), gfn: entries.map((e) => e[1]), value: entries.map((e) => e[2]) });
}

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

describe('ranges', () => {
  const base = 0x80000;
  const table: { name: string; leaves: number[]; changed: number | null; wantRows: number[] }[] = [
    { name: 'contiguous pfns merge into one row', leaves: [10, 11, 12, 13], changed: null, wantRows: [4] },
    { name: 'a pfn gap splits the range', leaves: [10, 11, 20, 21], changed: null, wantRows: [2, 2] },
    { name: 'the changed entry gets its own row', leaves: [10, 11, 12, 13], changed: 2, wantRows: [2, 1, 1] },
    { name: 'a single entry is one row', leaves: [10], changed: null, wantRows: [1] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const ranges = rangesOf('mirror', [[2, base, nonLeafSpte(0x999)], ...c.leaves.map((pfn, i): [number, number, number] => [1, base + i, leafSpte(pfn)])]);
      const changed = c.changed === null ? null : { level: 1, gfn: base + c.changed, removedValue: null };
      const { rows, truncated } = treeRows('mirror', ranges, changed, findDisagreements(newRanges(0), newRanges(0)), 100);
      expect(truncated).toBe(false);
      expect(rows[0]).toMatchObject({ depth: 0, level: 2, leaf: false, kind: 'non-leaf' });
      expect(rows.slice(1).map((r) => r.count)).toEqual(c.wantRows);
      expect(rows.slice(1).every((r) => r.depth === 1 && r.leaf)).toBe(true);
      expect(rows[1].label).toMatch(/^4K gfn 0x80000/);
    });
  }

  it('a write into a range cuts it, and a write that continues it joins it', () => {
    const r = rangesOf('mirror', [10, 11, 12, 13].map((pfn, i): [number, number, number] => [1, base + i, leafSpte(pfn)]));
    expect(r.n).toBe(1);
    const cut = applyWrites('mirror', r, writesOf([[1, 1, base + 1, leafSpte(99)], [1, 1, base + 4, leafSpte(14)]]).mirror);
    expect(Array.from(cut.count.subarray(0, cut.n))).toEqual([1, 1, 3]);
    const healed = applyWrites('mirror', cut, writesOf([[1, 1, base + 1, leafSpte(11)]]).mirror);
    expect(Array.from(healed.count.subarray(0, healed.n))).toEqual([5]);
    const emptied = applyWrites('mirror', healed, writesOf([[1, 1, base + 2, null], [1, 1, base + 3, leafSpte(5)], [1, 1, base + 3, 0]]).mirror);
    expect(Array.from(emptied.gfn.subarray(0, emptied.n))).toEqual([base, base + 4]);
  });

  it('a range stops at its parent table', () => {
    const r = rangesOf('mirror', [0, 1].map((i): [number, number, number] => [1, base + 511 + i, leafSpte(10 + i)]));
    expect(r.n).toBe(2);
  });

  it('stops at rowsMax and says so', () => {
    const r = rangesOf('mirror', Array.from({ length: 10 }, (_, i): [number, number, number] => [1, 0x1000 + 2 * i, leafSpte(5 + i)]));
    const { rows, truncated } = treeRows('mirror', r, null, findDisagreements(newRanges(0), newRanges(0)), 4);
    expect(rows.length).toBe(4);
    expect(truncated).toBe(true);
  });
});

describe('findDisagreements', () => {
  const table: { name: string; mirror: [number, number, number][]; sept: [number, number, number][]; want: [number, number, number][] }[] = [
    { name: 'leaf with MAPPED same pfn agrees', mirror: [[1, 5, leafSpte(7)]], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 7, 0)]], want: [] },
    { name: 'leaf with a different pfn disagrees', mirror: [[1, 5, leafSpte(7)]], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 8, 0)]], want: [[1, 5, 6]] },
    { name: 'S-EPT entry without a mirror entry disagrees', mirror: [], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 7, 0)]], want: [[1, 5, 6]] },
    { name: 'mirror non-leaf needs NL_MAPPED', mirror: [[2, 0, nonLeafSpte(9)]], sept: [[2, 0, sept_entry_value(SEPT_STATE_NL_MAPPED, 3, 0)]], want: [] },
    { name: 'mirror leaf without S-EPT entry disagrees', mirror: [[1, 5, leafSpte(7)]], sept: [], want: [[1, 5, 6]] },
    { name: 'a frozen mirror entry is never marked', mirror: [[1, 5, FROZEN_SPTE]], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 7, 0)]], want: [] },
    {
      name: 'ranges with pfns off by one disagree over their overlap only',
      mirror: [0, 1, 2, 3].map((i) => [1, 8 + i, leafSpte(100 + i)]),
      sept: [2, 3, 4, 5].map((i) => [1, 8 + i, sept_entry_value(SEPT_STATE_MAPPED, 101 + i, 0)]),
      want: [[1, 8, 14]],
    },
    {
      name: 'ranges that agree where they overlap',
      mirror: [0, 1, 2, 3].map((i) => [1, 8 + i, leafSpte(100 + i)]),
      sept: [1, 2, 3].map((i) => [1, 8 + i, sept_entry_value(SEPT_STATE_PENDING, 100 + i, 0)]),
      want: [[1, 8, 9]],
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const d = findDisagreements(rangesOf('mirror', c.mirror), rangesOf('sept', c.sept));
      expect(d.level.map((l, i) => [l, d.gfnStart[i], d.gfnEnd[i]])).toEqual(c.want);
      expect(d.entries).toBe(c.want.reduce((n, [, s, e]) => n + e - s, 0));
    });
  }
});

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

describe('range counts, markers, next write, open spans', () => {
  it('range counts add up to the range and match a brute count', () => {
    const [from, to] = [1234, 9876];
    const got = rangeKindCounts(store.readable, run.runId, from, to);
    expect(got.events).toBe(to - from);
    const busy = run.events.slice(from, to).filter((e) => e.layer === 'tdx' && e.status === 'TDX_OPERAND_BUSY').length;
    expect(got.rows.find((r) => r.layer === 'tdx' && r.status === 'TDX_OPERAND_BUSY')?.count ?? 0).toBe(busy);
  });

  it('markers are exactly the contention retries (the generator emits no checks)', () => {
    const got = runMarkers(store.readable, run.runId);
    const want = run.events.filter((e) => e.layer === 'check' || isBusyStatus(e.status)).map((e) => e.seq);
    expect(want.length).toBeGreaterThan(0);
    expect(got.markers.map((m) => m.seq)).toEqual(want);
    expect(got.truncated).toBe(false);
  });

  it('nextWrite finds the following write to the same entry, or -1', () => {
    const first = findEvent((e) => e.tree === 'mirror' && e.name === 'tdp_mmu_set_spte_atomic');
    const want = run.events.find((e) => e.seq > first.seq && e.tree === 'mirror' && e.level === first.level && e.gfn === first.gfn);
    expect(nextWrite(store.readable, run.runId, first.seq, 'mirror', first.level, first.gfn, 1 << 20)).toBe(want?.seq ?? -1);
    expect(nextWrite(store.readable, run.runId, first.seq, 'mirror', 1, 0x7fffffff, 1 << 20)).toBe(-1);
  });

  it('open spans at a window edge include the enclosing op', () => {
    const op = findEvent((e) => e.layer === 'op' && e.end - e.seq > 4);
    const from = op.seq + 2;
    const events = eventsRange(store.readable, run.runId, from, from + 50);
    const spans = openSpansAt(store.readable, run.runId, from, events);
    expect(spans.some((s) => s.seq === op.seq)).toBe(true);
    expect(spans.every((s) => s.seq < from)).toBe(true);
  });
});

describe('unlinked tables', () => {
  it('a filled but unlinked child page is labelled and not compared', () => {
    // A 2M huge leaf still in place while its replacement 4K page is filled (a split in progress).
    const huge = 0x200 * 4096 + SPTE_MMU_PRESENT_MASK + VMX_EPT_RWX_MASK + 0x30 + 0x80;
    const mirror = rangesOf('mirror', [[3, 0, nonLeafSpte(0x500)], [2, 0x200, huge], [1, 0x200, leafSpte(0x200)], [1, 0x201, leafSpte(0x201)]]);
    const sept = rangesOf('sept', [[3, 0, sept_entry_value(SEPT_STATE_NL_MAPPED, 0x500, 0)], [2, 0x200, sept_entry_value(SEPT_STATE_MAPPED, 0x200, 0)]]);
    const dis = findDisagreements(mirror, sept);
    expect(dis.entries).toBe(0); // the huge leaf agrees (MAPPED, same pfn); the unlinked 4K page is not compared
    const { rows } = treeRows('mirror', mirror, null, dis, 100);
    expect(rows.map((r) => r.label.startsWith('(unlinked)'))).toEqual([false, false, true]);
    expect(rows[2].count).toBe(2);
    expect(rows[2].mismatch).toBe(false);
  });
});
