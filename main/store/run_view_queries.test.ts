import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimEvent } from '../../shared/event.ts';
import type { InspectorRow } from '../../shared/api/runs.ts';
import { SEPT_STATE_MAPPED, SEPT_STATE_NL_MAPPED, sept_entry_value } from '../../shared/sept.ts';
import { SPTE_MMU_PRESENT_MASK, VMX_EPT_RWX_MASK } from '../../shared/spte.ts';
import { buildTreeRows, findMismatches, inspectorState, isBusyStatus, nextWrite, openSpansAt, rangeKindCounts, runMarkers } from './run_view_queries.ts';
import { eventsRange } from './events_read.ts';
import { Store } from './store.ts';
import { recordGenerated, replayState, tmpDbFile, type Recorded } from './testing/helpers.ts';

let store: Store;
let run: Recorded;

beforeAll(() => {
  store = Store.open(tmpDbFile());
  run = recordGenerated(store, { seed: 21, threads: 2, faults: 3000, chunkSize: 1000 });
});
afterAll(() => store.close());

const leafSpte = (pfn: number): number => pfn * 4096 + SPTE_MMU_PRESENT_MASK + VMX_EPT_RWX_MASK + 0x30;
const entry = (level: number, gfn: number, value: number) => ({ level, gfn, value, removed: false });

/** Entries a tree's rows stand for (a merged row counts each entry it covers). */
function entriesCovered(rows: InspectorRow[]): number {
  return rows.filter((r) => !r.removed).reduce((n, r) => n + r.count, 0);
}

function findEvent(pred: (e: SimEvent) => boolean): SimEvent {
  const e = run.events.find(pred);
  if (e === undefined) throw new Error('generator produced no such event');
  return e;
}

describe('buildTreeRows', () => {
  const table: { name: string; leaves: number[]; changed: number[]; wantRows: number[] }[] = [
    { name: 'contiguous pfns merge into one row', leaves: [10, 11, 12, 13], changed: [], wantRows: [4] },
    { name: 'a pfn gap splits the range', leaves: [10, 11, 20, 21], changed: [], wantRows: [2, 2] },
    { name: 'the changed entry gets its own row', leaves: [10, 11, 12, 13], changed: [2], wantRows: [2, 1, 1] },
    { name: 'a single entry is one row', leaves: [10], changed: [], wantRows: [1] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const base = 0x80000;
      const entries = [entry(2, base, leafSpte(0x999)), ...c.leaves.map((pfn, i) => entry(1, base + i, leafSpte(pfn)))];
      const changed = new Set(c.changed.map((i) => (base + i) * 8 + 1));
      const { rows, truncated } = buildTreeRows('mirror', entries, changed, new Set(), 100);
      expect(truncated).toBe(false);
      expect(rows[0]).toMatchObject({ depth: 0, level: 2, leaf: false, kind: 'non-leaf' });
      expect(rows.slice(1).map((r) => r.count)).toEqual(c.wantRows);
      expect(rows.slice(1).every((r) => r.depth === 1 && r.leaf)).toBe(true);
      expect(rows[1].label).toMatch(/^4K gfn 0x80000/);
    });
  }

  it('stops at rowsMax and says so', () => {
    const entries = Array.from({ length: 10 }, (_, i) => entry(1, 0x1000 + 2 * i, leafSpte(5 + i)));
    const { rows, truncated } = buildTreeRows('mirror', entries, new Set(), new Set(), 4);
    expect(rows.length).toBe(4);
    expect(truncated).toBe(true);
  });
});

describe('findMismatches', () => {
  const k = (level: number, gfn: number) => gfn * 8 + level;
  const table: { name: string; mirror: [number, number, number][]; sept: [number, number, number][]; want: number[] }[] = [
    { name: 'leaf with MAPPED same pfn agrees', mirror: [[1, 5, leafSpte(7)]], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 7, 0)]], want: [] },
    { name: 'leaf with a different pfn disagrees', mirror: [[1, 5, leafSpte(7)]], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 8, 0)]], want: [k(1, 5)] },
    { name: 'S-EPT entry without a mirror entry disagrees', mirror: [], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 7, 0)]], want: [k(1, 5)] },
    { name: 'mirror non-leaf needs NL_MAPPED', mirror: [[2, 0, leafSpte(9) - 0x30]], sept: [[2, 0, sept_entry_value(SEPT_STATE_NL_MAPPED, 3, 0)]], want: [] },
    { name: 'mirror leaf without S-EPT entry disagrees', mirror: [[1, 5, leafSpte(7)]], sept: [], want: [k(1, 5)] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const m = new Map(c.mirror.map(([l, g, v]) => [k(l, g), v]));
      const s = new Map(c.sept.map(([l, g, v]) => [k(l, g), v]));
      expect([...findMismatches(m, s)].sort()).toEqual(c.want);
    });
  }
});

describe('inspectorState on a recorded run', () => {
  it('rows cover exactly the entries of the replayed state, at several points', () => {
    for (const seq of [0, 100, 5000, run.events.length - 1]) {
      const want = replayState(run.events, seq);
      const got = inspectorState(store.readable, run.runId, seq);
      expect(entriesCovered(got.mirror), `mirror at ${seq}`).toBe(want.mirror.length);
      expect(entriesCovered(got.sept), `sept at ${seq}`).toBe(want.sept.length);
      expect(got.truncated).toBe(false);
    }
  });

  it('merges a faulted-in region into a few rows under its 2M table', () => {
    const got = inspectorState(store.readable, run.runId, run.events.length - 1);
    const want = replayState(run.events, run.events.length - 1);
    expect(got.mirror.length).toBeLessThan(want.mirror.length / 4);
    expect(got.sept.some((r) => r.kind === 'NL_MAPPED' && r.depth === 0)).toBe(true);
    // The generator's leaf values are not exact module encodings (they decode as INVALID), so only the shape is checked.
    expect(got.sept.some((r) => r.leaf && r.depth === 1 && r.count > 1)).toBe(true);
  });

  it('marks the entry the cursor event wrote', () => {
    const aug = findEvent((e) => e.name === 'TDH.MEM.PAGE.AUG' && e.tree === 'sept');
    const got = inspectorState(store.readable, run.runId, aug.seq);
    const changed = got.sept.filter((r) => r.changed);
    expect(changed.length).toBe(1);
    expect(changed[0].gfnStart).toBe(aug.gfn);
    expect(got.mirror.some((r) => r.changed)).toBe(false);
  });

  it('after a zap of the mirror leaf the S-EPT leaf disagrees; after REMOVE it shows as removed', () => {
    const zap = findEvent((e) => e.name === 'tdp_mmu_set_spte' && e.tree === 'mirror');
    const atZap = inspectorState(store.readable, run.runId, zap.seq);
    expect(atZap.mirror.some((r) => r.removed && r.gfnStart === zap.gfn)).toBe(true);
    expect(atZap.sept.some((r) => r.mismatch && r.gfnStart <= zap.gfn && zap.gfn < r.gfnEnd)).toBe(true);
    const remove = findEvent((e) => e.name === 'TDH.MEM.PAGE.REMOVE' && e.seq > zap.seq);
    const atRemove = inspectorState(store.readable, run.runId, remove.seq);
    expect(atRemove.sept.some((r) => r.removed && r.gfnStart === remove.gfn)).toBe(true);
  });

  it('answers a gfn window with only the entries in it', () => {
    const gfn = run.events.find((e) => e.tree === 'mirror' && e.level === 1)!.gfn;
    const got = inspectorState(store.readable, run.runId, run.events.length - 1, { gfnStart: gfn, gfnEnd: gfn + 1 });
    expect(got.mirror.filter((r) => r.level === 1).every((r) => r.gfnStart === gfn && r.count === 1)).toBe(true);
  });

  it('is empty before the first event', () => {
    expect(inspectorState(store.readable, run.runId, -1)).toMatchObject({ mirror: [], sept: [], mismatchCount: 0 });
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
    const entries = [entry(3, 0, leafSpte(0x500) - 0x30), entry(2, 0x200, huge), entry(1, 0x200, leafSpte(0x200)), entry(1, 0x201, leafSpte(0x201))];
    const { rows } = buildTreeRows('mirror', entries, new Set(), new Set(), 100);
    expect(rows.map((r) => r.label.startsWith('(unlinked)'))).toEqual([false, false, true]);
    expect(rows[2].count).toBe(2);
  });
});
