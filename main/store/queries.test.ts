import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYERS, type SimEvent } from '../../shared/event.ts';
import { KEYFRAME_WRITES } from './page_state.ts';
import { eventWithParents, eventsWindow, lastWriter, nextEvent, prevEvent, rangeCounts, searchEvents, stateAt, stateRange } from './queries.ts';
import { eventsRange } from './events_read.ts';
import { Recorder } from './recorder.ts';
import { Store } from './store.ts';
import { generateRun } from './testing/gen_events.ts';
import { recordGenerated, replayState, tmpDbFile, type Recorded } from './testing/helpers.ts';

let store: Store;
let run: Recorded;
let randomRun: Recorded;

beforeAll(() => {
  store = Store.open(tmpDbFile());
  // Small chunks so spans cross chunks (end and status patches); enough writes for many keyframes.
  run = recordGenerated(store, { seed: 11, threads: 3, faults: 6000, chunkSize: 1000 });
  randomRun = recordGenerated(store, { seed: 12, threads: 2, faults: 4000, chunkSize: 777, sequential: false, gfnRange: 5000 });
});
afterAll(() => store.close());

describe('recorded events', () => {
  it('read back exactly as the sink emitted them (end and status patches applied)', () => {
    const back = eventsRange(store.readable, run.runId, 0, run.events.length);
    expect(back.length).toBe(run.events.length);
    expect(back).toEqual(run.events);
    expect(run.events.some((e) => e.end > e.seq && e.status !== '')).toBe(true);
  });

  it('records the counts, and enough writes for several keyframes', () => {
    const r = store.getRun(run.runId)!;
    expect(r.eventCount).toBe(run.events.length);
    const writes = run.events.filter((e) => e.tree !== 'none').length;
    expect(writes).toBeGreaterThan(3 * KEYFRAME_WRITES);
    expect(r.contentHash).toMatch(/^[0-9a-f]{48}$/);
  });
});

describe('eventsWindow', () => {
  const cases: { name: string; from: number; to: number; buckets: number }[] = [
    { name: 'whole run, pyramid', from: 0, to: Infinity, buckets: 100 },
    { name: 'unaligned middle, pyramid', from: 1234, to: 20001, buckets: 300 },
    { name: 'narrow buckets, direct scan', from: 500, to: 2900, buckets: 400 },
    { name: 'tiny window with events', from: 77, to: 90, buckets: 13 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const to = Math.min(c.to, run.events.length);
      const w = eventsWindow(store.readable, run.runId, c.from, to, c.buckets);
      expect(w.bucketSize & (w.bucketSize - 1)).toBe(0);
      expect(w.seqStart % w.bucketSize).toBe(0);
      expect(w.seqStart).toBeLessThanOrEqual(c.from);
      expect(w.seqStart + w.bucketCount * w.bucketSize).toBeGreaterThanOrEqual(to);
      // Reference: count every event of the covered range per lane and bucket.
      const want = new Map<string, number[]>();
      const names = new Map<string, Map<string, number>[]>();
      for (const e of run.events) {
        if (e.seq < w.seqStart || e.seq >= w.seqStart + w.bucketCount * w.bucketSize) continue;
        const key = `${e.thread}/${e.layer}`;
        if (!want.has(key)) want.set(key, new Array(w.bucketCount).fill(0)), names.set(key, Array.from({ length: w.bucketCount }, () => new Map()));
        const b = Math.floor((e.seq - w.seqStart) / w.bucketSize);
        want.get(key)![b]++;
        names.get(key)![b].set(e.name, (names.get(key)![b].get(e.name) ?? 0) + 1);
      }
      expect(new Map(w.lanes.map((l) => [`${l.thread}/${l.layer}`, l.counts]))).toEqual(want);
      if (w.topNamesExact) {
        for (const l of w.lanes) {
          l.topNames.forEach((n, b) => {
            const m = names.get(`${l.thread}/${l.layer}`)![b];
            if (m.size === 0) return expect(n).toBe('');
            expect(m.get(n)).toBe(Math.max(...m.values()));
          });
        }
      }
      expect(w.events === null).toBe(to - c.from > 2000);
      if (w.events) expect(w.events).toEqual(run.events.slice(c.from, to));
    });
  }
});

describe('event and navigation', () => {
  it('returns an event with its parent chain', () => {
    const e = run.events.find((x) => x.layer === 'tdx' && x.parent >= 0)!;
    const got = eventWithParents(store.readable, run.runId, e.seq)!;
    expect(got.event).toEqual(e);
    const chain: SimEvent[] = [];
    for (let p = e.parent; p >= 0; p = run.events[p].parent) chain.push(run.events[p]);
    expect(got.parents).toEqual(chain);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(eventWithParents(store.readable, run.runId, run.events.length)).toBeNull();
    expect(eventWithParents(store.readable, run.runId, -1)).toBeNull();
  });

  it('finds next/prev on a lane as a linear scan would', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: run.events.length - 1 }), fc.integer({ min: 0, max: 2 }), fc.constantFrom(...LAYERS), (seq, thread, layer) => {
        const onLane = (e: SimEvent): boolean => e.thread === thread && e.layer === layer;
        const wantNext = run.events.find((e) => e.seq > seq && onLane(e)) ?? null;
        const wantPrev = [...run.events].reverse().find((e) => e.seq < seq && onLane(e)) ?? null;
        expect(nextEvent(store.readable, run.runId, seq, thread, layer)).toEqual(wantNext);
        expect(prevEvent(store.readable, run.runId, seq, thread, layer)).toEqual(wantPrev);
      }),
      { numRuns: 150, seed: 42 },
    );
  });

  it('search filters by name, status, gfn, layer, thread, from, limit', () => {
    const q = [
      { name: 'TDH.MEM.PAGE.AUG', status: 'TDX_OPERAND_BUSY', limit: 1000 },
      { gfn: run.events[500].gfn, limit: 50 },
      { layer: 'hook' as const, thread: 1, fromSeq: 3000, limit: 7 },
      { name: 'no such name', limit: 10 },
    ];
    for (const s of q) {
      const want = run.events
        .filter((e) => (s.name === undefined || e.name === s.name) && (!('status' in s) || e.status === s.status) && (!('gfn' in s) || e.gfn === s.gfn))
        .filter((e) => (!('layer' in s) || e.layer === s.layer) && (!('thread' in s) || e.thread === s.thread) && e.seq >= (('fromSeq' in s && s.fromSeq) || 0))
        .slice(0, s.limit);
      expect(searchEvents(store.readable, run.runId, s), JSON.stringify(s)).toEqual(want);
    }
  });

  it('counts by name and status over a range exactly', () => {
    for (const [a, b] of [[0, run.events.length], [100, 9000], [4095, 4097], [5000, 5000]]) {
      const got = rangeCounts(store.readable, run.runId, a, b);
      const names = new Map<string, number>();
      const statuses = new Map<string, number>();
      for (const e of run.events.slice(a, b)) {
        names.set(e.name, (names.get(e.name) ?? 0) + 1);
        if (e.status !== '') statuses.set(e.status, (statuses.get(e.status) ?? 0) + 1);
      }
      expect(new Map(got.byName.map((x) => [x.name, x.count]))).toEqual(names);
      expect(new Map(got.byStatus.map((x) => [x.name, x.count]))).toEqual(statuses);
    }
  });
});

describe('state at event N', () => {
  for (const which of ['sequential', 'random'] as const) {
    it(`equals replaying every write <= N (${which} gfns)`, () => {
      const r = which === 'sequential' ? run : randomRun;
      fc.assert(
        fc.property(fc.integer({ min: -1, max: r.events.length - 1 }), (n) => {
          expect(stateAt(store.readable, r.runId, n)).toEqual(replayState(r.events, n));
        }),
        { numRuns: 60, seed: 7 },
      );
    });
  }

  it('ranged: gfn window and row limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: randomRun.events.length - 1 }), fc.integer({ min: 0x80000 - 600, max: 0x80000 + 5000 }), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 400 }), (n, gfnStart, width, rowsMax) => {
        const full = replayState(randomRun.events, n);
        const got = stateRange(store.readable, randomRun.runId, { seq: n, gfnStart, gfnEnd: gfnStart + width, rowsMax });
        let truncated = false;
        for (const t of ['mirror', 'direct', 'sept'] as const) {
          const inWindow = full[t].filter((e) => e.gfn >= gfnStart && e.gfn < gfnStart + width);
          expect(got[t]).toEqual(inWindow.slice(0, rowsMax));
          truncated ||= inWindow.length > rowsMax;
        }
        expect(got.truncated).toBe(truncated);
      }),
      { numRuns: 60, seed: 8 },
    );
  });

  it('lastWriter finds the last write to an entry at or before N', () => {
    const writes = randomRun.events.filter((e) => e.tree !== 'none');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: writes.length - 1 }), fc.integer({ min: 0, max: randomRun.events.length - 1 }), (wi, n) => {
        const w = writes[wi];
        const want = [...writes].reverse().find((e) => e.seq <= n && e.tree === w.tree && e.level === w.level && e.gfn === w.gfn)?.seq ?? -1;
        expect(lastWriter(store.readable, randomRun.runId, n, w.tree, w.level, w.gfn)).toBe(want);
      }),
      { numRuns: 150, seed: 9 },
    );
    expect(lastWriter(store.readable, randomRun.runId, randomRun.events.length, 'mirror', 1, 1)).toBe(-1);
  });
});

describe('state at event N from snapshots', () => {
  // Snapshots every time the rule allows (snapshotEntriesMin 1), on random gfns (zaps and
  // re-faults all over the state): the read merges a snapshot, later page versions and events.
  let snapStore: Store;
  let runId: number;
  let events: SimEvent[];
  beforeAll(() => {
    snapStore = Store.open(tmpDbFile());
    const recorder = new Recorder(snapStore.writable, { snapshotEntriesMin: 1 });
    runId = recorder.beginRun({ scenarioId: null, scenarioJson: '{}', design: 'unified', seed: 13, schedule: null, appVersion: 'test', threadNames: ['vcpu0', 'vcpu1'] });
    const { sink } = generateRun({ seed: 13, threads: 2, faults: 8000, chunkSize: 999, sequential: false, gfnRange: 3000, keep: true, onChunk: (c) => recorder.writeChunk(c) });
    recorder.finishRun(runId, { status: 'completed', outcome: null, metrics: null, hash: sink.hash() });
    events = sink.events();
  });
  afterAll(() => snapStore.close());

  const snapshots = (): number => (snapStore.readable.prepare('SELECT count(DISTINCT kf) AS n FROM state_snapshots WHERE run_id = ?').get(runId) as { n: number }).n;

  it('takes several snapshots, each complete (one row per tree)', () => {
    expect(snapshots()).toBeGreaterThanOrEqual(3);
    const perKf = snapStore.readable.prepare('SELECT count(*) AS n FROM state_snapshots WHERE run_id = ? GROUP BY kf').pluck().all(runId);
    expect(new Set(perKf)).toEqual(new Set([3]));
  });

  it('equals replaying every write <= N, with snapshots and without (pages only)', () => {
    const check = (): void =>
      fc.assert(
        fc.property(fc.integer({ min: -1, max: events.length - 1 }), (n) => {
          expect(stateAt(snapStore.readable, runId, n)).toEqual(replayState(events, n));
        }),
        { numRuns: 40, seed: 10 },
      );
    check();
    // A run stored before snapshots existed reads its whole state from pages: same answers.
    snapStore.writable.prepare('DELETE FROM state_snapshots WHERE run_id = ?').run(runId);
    expect(snapshots()).toBe(0);
    check();
  });
});
