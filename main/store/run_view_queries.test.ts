import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimEvent } from '../../shared/event.ts';
import { causedEvents, isBusyStatus, nextWrite, openSpansAt, rangeKindCounts, runMarkers } from './run_view_queries.ts';
import { eventsRange } from './events_read.ts';
import { Store } from './store.ts';
import { recordGenerated, tmpDbFile, type Recorded } from './testing/helpers.ts';

let store: Store;
let run: Recorded;

beforeAll(() => {
  store = Store.open(tmpDbFile());
  run = recordGenerated(store, { seed: 21, threads: 2, faults: 3000, chunkSize: 1000 });
});
afterAll(() => store.close());

function findEvent(pred: (e: SimEvent) => boolean): SimEvent {
  const e = run.events.find(pred);
  if (e === undefined) throw new Error('generator produced no such event');
  return e;
}

/** True when `e`'s parent chain reaches `ancestor`: the definition of "caused by", walked. */
function descendsFrom(e: SimEvent, ancestor: number): boolean {
  for (let p = e.parent; p >= 0; p = run.events[p].parent) if (p === ancestor) return true;
  return false;
}

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

  it("causedEvents are a span's descendant writes and SEAMCALLs, by the parent chain", () => {
    const effect = (e: SimEvent): boolean => e.tree !== 'none' || e.layer === 'tdx';
    const ops = run.events.filter((e) => e.layer === 'op' && e.end > e.seq).slice(0, 40);
    let nonEmpty = 0;
    for (const op of ops) {
      const want = run.events.filter((e) => e.seq > op.seq && effect(e) && descendsFrom(e, op.seq)).map((e) => e.seq);
      const got = causedEvents(store.readable, run.runId, op, 1000, 1 << 20);
      expect(got.events.map((e) => e.seq)).toEqual(want);
      expect(got.truncated).toBe(false);
      if (want.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(10);
  });

  it('causedEvents keeps max / 2 of each kind and says it cut; an instant causes nothing', () => {
    const seamcall = (c: SimEvent): boolean => c.layer === 'tdx' && c.tree === 'none';
    const op = findEvent((e) => e.layer === 'op' && run.events.filter((c) => c.tree !== 'none' && descendsFrom(c, e.seq)).length >= 3 && run.events.some((c) => seamcall(c) && descendsFrom(c, e.seq)));
    const got = causedEvents(store.readable, run.runId, op, 2, 1 << 20);
    const firstWrite = run.events.find((c) => c.tree !== 'none' && descendsFrom(c, op.seq))!;
    const firstSeamcall = run.events.find((c) => seamcall(c) && descendsFrom(c, op.seq))!;
    expect(got.events.map((e) => e.seq)).toEqual([firstWrite.seq, firstSeamcall.seq].sort((a, b) => a - b));
    expect(got.truncated).toBe(true);
    const instant = findEvent((e) => e.end === e.seq);
    expect(causedEvents(store.readable, run.runId, instant, 10, 1 << 20)).toEqual({ events: [], truncated: false });
  });
});
