// The queries the views need, all on a ReadableDB. Each is bounded: it reads a number of rows
// proportional to its answer (buckets, a keyframe's pages plus at most KEYFRAME_EVENTS events,
// a limit), never a whole run, except where a doc comment says otherwise.
import { LAYERS, LAYER_ID, TREE_ID, type Layer, type SimEvent, type Tree } from '../../shared/event.ts';
import type { EventSearch, EventWithParents, EventsWindow, LaneBins, RangeCounts, NameCount } from '../../shared/store_types.ts';
import { BIN_LOG2_MAX, BIN_LOG2_MIN, BIN_ROW_BLOCKS, HIST_LOG2, LAYER_COUNT, blockQuads } from './bins.ts';
import { eventKey, prepared, type ReadableDB } from './db.ts';
import { EVENT_SELECT, eventAt, eventsRange, rowToEvent, runStrings, type EventRow } from './events_read.ts';

export { stateAt, stateAtColumns, stateRange, lastWriter } from './state_query.ts';

/** At most this many events are returned with a window; also the nesting depth followed. */
export const WINDOW_EVENTS_MAX = 2000;
export const PARENTS_MAX = 256;
export const SEARCH_LIMIT_MAX = 10000;

function int32View(blob: Uint8Array): Int32Array {
  if (blob.byteOffset % 4 === 0) return new Int32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return new Int32Array(blob.slice().buffer);
}

/** Smallest power of two >= n (n >= 1). */
function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Per-bucket accumulation of one lane: counts and, per bucket, name -> weight. */
class LaneAcc {
  readonly counts: number[];
  readonly names: (Map<number, number> | null)[];
  constructor(buckets: number) {
    this.counts = new Array(buckets).fill(0);
    this.names = new Array(buckets).fill(null);
  }
  add(bucket: number, count: number, name: number, weight: number): void {
    this.counts[bucket] += count;
    let m = this.names[bucket];
    if (m === null) {
      m = new Map();
      this.names[bucket] = m;
    }
    m.set(name, (m.get(name) ?? 0) + weight);
  }
  topNames(strings: readonly string[]): string[] {
    return this.names.map((m) => {
      if (m === null) return '';
      let best = -1;
      let bestWeight = -1;
      for (const [name, w] of m) if (w > bestWeight || (w === bestWeight && name < best)) [best, bestWeight] = [name, w];
      return strings[best];
    });
  }
}

/**
 * The timeline's window [seqFrom, seqTo) cut into about `buckets` buckets (see EventsWindow for
 * the alignment). Reads the bin pyramid, or the events themselves when buckets are narrower
 * than the finest block (then at most 2^BIN_LOG2_MIN * buckets events).
 */
export function eventsWindow(db: ReadableDB, runId: number, seqFrom: number, seqTo: number, buckets: number): EventsWindow {
  const from = Math.max(0, Math.floor(seqFrom));
  const to = Math.max(from + 1, Math.floor(seqTo));
  const bucketsWanted = Math.max(1, Math.min(Math.floor(buckets), 100000));
  const bucketSize = pow2AtLeast(Math.ceil((to - from) / bucketsWanted));
  const seqStart = Math.floor(from / bucketSize) * bucketSize;
  const bucketCount = Math.ceil((to - seqStart) / bucketSize);
  const strings = runStrings(db, runId);
  const lanes = new Map<number, LaneAcc>();
  const lane = (id: number): LaneAcc => {
    let acc = lanes.get(id);
    if (acc === undefined) {
      acc = new LaneAcc(bucketCount);
      lanes.set(id, acc);
    }
    return acc;
  };
  let exact = true;
  if (bucketSize < 2 ** BIN_LOG2_MIN) {
    const rows = prepared(db, 'SELECT key, thread, layer, name FROM events WHERE key >= ? AND key < ?').raw(true).all(eventKey(runId, seqStart), eventKey(runId, seqStart + bucketCount * bucketSize)) as number[][];
    const base = eventKey(runId, seqStart);
    for (const [key, thread, layer, name] of rows) lane(thread * LAYER_COUNT + layer).add(Math.floor((key - base) / bucketSize), 1, name, 1);
  } else {
    const sizeLog2 = Math.min(Math.log2(bucketSize), BIN_LOG2_MAX);
    const blockSize = 2 ** sizeLog2;
    exact = blockSize === bucketSize;
    const blockFirst = seqStart / blockSize;
    const blockLast = (seqStart + bucketCount * bucketSize) / blockSize - 1;
    const rows = prepared(db, 'SELECT row, blocks FROM event_bin_rows WHERE run_id = ? AND size_log2 = ? AND row BETWEEN ? AND ?')
      .raw(true)
      .all(runId, sizeLog2, Math.floor(blockFirst / BIN_ROW_BLOCKS), Math.floor(blockLast / BIN_ROW_BLOCKS)) as [number, Uint8Array][];
    for (const [row, blob] of rows) {
      const q = int32View(blob);
      for (let block = Math.max(blockFirst, row * BIN_ROW_BLOCKS); block <= Math.min(blockLast, row * BIN_ROW_BLOCKS + BIN_ROW_BLOCKS - 1); block++) {
        const bucket = Math.floor((block * blockSize - seqStart) / bucketSize);
        const [start, end] = blockQuads(q, block);
        for (let i = start; i < end; i += 4) lane(q[i]).add(bucket, q[i + 1], q[i + 2], q[i + 3]);
      }
    }
  }
  const out: LaneBins[] = [...lanes.keys()]
    .sort((a, b) => a - b)
    .map((id) => {
      const acc = lanes.get(id)!;
      return { thread: Math.floor(id / LAYER_COUNT), layer: LAYERS[id % LAYER_COUNT], counts: acc.counts, topNames: acc.topNames(strings) };
    });
  const events = to - from <= WINDOW_EVENTS_MAX ? eventsRange(db, runId, from, to) : null;
  return { seqStart, bucketSize, bucketCount, lanes: out, topNamesExact: exact, events };
}

/** One event and its enclosing spans (innermost first), or null when there is no such event. */
export function eventWithParents(db: ReadableDB, runId: number, seq: number): EventWithParents | null {
  const event = eventAt(db, runId, seq);
  if (event === null) return null;
  const parents: SimEvent[] = [];
  let parent = event.parent;
  for (let depth = 0; depth < PARENTS_MAX && parent >= 0; depth++) {
    const p = eventAt(db, runId, parent);
    if (p === null) break;
    parents.push(p);
    parent = p.parent;
  }
  return { event, parents };
}

function stringId(db: ReadableDB, runId: number, text: string): number | null {
  const r = prepared(db, 'SELECT id FROM run_strings WHERE run_id = ? AND text = ?').get(runId, text) as { id: number } | undefined;
  return r?.id ?? null;
}

/**
 * Events matching every given field, from `fromSeq` on, at most `limit`: a scan of the run in
 * seq order that stops at `limit` (events have no secondary index, see the schema; a rare match
 * in a million-event run reads the whole run, ~0.1-0.3 s).
 */
export function searchEvents(db: ReadableDB, runId: number, q: EventSearch): SimEvent[] {
  const limit = Math.max(0, Math.min(Math.floor(q.limit), SEARCH_LIMIT_MAX));
  const where: string[] = ['key >= ?', 'key < ?'];
  const args: number[] = [eventKey(runId, Math.max(0, q.fromSeq ?? 0)), eventKey(runId + 1, 0)];
  if (q.name !== undefined) {
    const id = stringId(db, runId, q.name);
    if (id === null) return [];
    where.push('name = ?');
    args.push(id);
  }
  if (q.status !== undefined) {
    const id = stringId(db, runId, q.status);
    if (id === null) return [];
    where.push('status = ?');
    args.push(id);
  }
  if (q.gfn !== undefined) where.push('gfn = ?'), args.push(q.gfn);
  if (q.thread !== undefined) where.push('thread = ?'), args.push(q.thread);
  if (q.layer !== undefined) where.push('layer = ?'), args.push(LAYER_ID[q.layer]);
  const rows = prepared(db, `${EVENT_SELECT} WHERE ${where.join(' AND ')} ORDER BY key LIMIT ?`).raw(true).all(...args, limit) as EventRow[];
  const strings = runStrings(db, runId);
  return rows.map((r) => rowToEvent(r, strings));
}

function laneInBlock(db: ReadableDB, runId: number, sizeLog2: number, block: number, lane: number): boolean {
  const r = prepared(db, 'SELECT blocks FROM event_bin_rows WHERE run_id = ? AND size_log2 = ? AND row = ?').raw(true).get(runId, sizeLog2, Math.floor(block / BIN_ROW_BLOCKS)) as [Uint8Array] | undefined;
  if (r === undefined) return false;
  const q = int32View(r[0]);
  const [start, end] = blockQuads(q, block);
  for (let i = start; i < end; i += 4) if (q[i] === lane) return q[i + 1] > 0;
  return false;
}

/**
 * The first finest block from `start` on in direction `dir` that holds an event of `lane`, or
 * -1. Walks the pyramid: a block without the lane is skipped whole, and after the far child of
 * a parent the walk moves up a level, so a sparse lane costs a few lookups per level.
 */
function findLaneBlock(db: ReadableDB, runId: number, lane: number, start: number, dir: 1 | -1, eventCount: number): number {
  let k = BIN_LOG2_MIN;
  let b = start;
  const stepsMax = 8 * (BIN_LOG2_MAX - BIN_LOG2_MIN + 2) + Math.ceil(eventCount / 2 ** BIN_LOG2_MAX);
  for (let steps = 0; steps < stepsMax; steps++) {
    if (b < 0 || b * 2 ** k >= eventCount) return -1;
    if (laneInBlock(db, runId, k, b, lane)) {
      if (k === BIN_LOG2_MIN) return b;
      k--;
      b = dir > 0 ? 2 * b : 2 * b + 1;
      continue;
    }
    const far = dir > 0 ? b % 2 === 1 : b % 2 === 0;
    if (far && k < BIN_LOG2_MAX) {
      k++;
      b = Math.floor(b / 2) + dir;
    } else b += dir;
  }
  return -1;
}

function laneEventIn(db: ReadableDB, runId: number, thread: number, layer: number, seqFrom: number, seqTo: number, dir: 1 | -1): EventRow | undefined {
  const order = dir > 0 ? 'ASC' : 'DESC';
  return prepared(db, `${EVENT_SELECT} WHERE key >= ? AND key < ? AND thread = ? AND layer = ? ORDER BY key ${order} LIMIT 1`).raw(true).get(eventKey(runId, seqFrom), eventKey(runId, seqTo), thread, layer) as EventRow | undefined;
}

/** The nearest event strictly after (dir 1) or before (dir -1) `seq` on the lane thread x layer. */
function laneNeighbour(db: ReadableDB, runId: number, seq: number, thread: number, layer: Layer, dir: 1 | -1): SimEvent | null {
  const run = prepared(db, 'SELECT event_count FROM runs WHERE id = ?').get(runId) as { event_count: number } | undefined;
  if (run === undefined) return null;
  const size = 2 ** BIN_LOG2_MIN;
  const l = LAYER_ID[layer];
  const block = Math.floor(seq / size);
  let r = dir > 0 ? laneEventIn(db, runId, thread, l, seq + 1, (block + 1) * size, 1) : laneEventIn(db, runId, thread, l, block * size, seq, -1);
  if (r === undefined) {
    const found = findLaneBlock(db, runId, thread * LAYER_COUNT + l, block + dir, dir, run.event_count);
    if (found >= 0) r = laneEventIn(db, runId, thread, l, found * size, (found + 1) * size, dir);
  }
  return r === undefined ? null : rowToEvent(r, runStrings(db, runId));
}

/** The first event after `seq` (exclusive) on the lane thread x layer, or null. */
export function nextEvent(db: ReadableDB, runId: number, seq: number, thread: number, layer: Layer): SimEvent | null {
  return laneNeighbour(db, runId, seq, thread, layer, 1);
}

/** The last event before `seq` (exclusive) on the lane thread x layer, or null. */
export function prevEvent(db: ReadableDB, runId: number, seq: number, thread: number, layer: Layer): SimEvent | null {
  return laneNeighbour(db, runId, seq, thread, layer, -1);
}

/** Exact counts by name and by status over [seqFrom, seqTo): histogram blocks inside, events at the edges. */
export function rangeCounts(db: ReadableDB, runId: number, seqFrom: number, seqTo: number): RangeCounts {
  const from = Math.max(0, Math.floor(seqFrom));
  const to = Math.max(from, Math.floor(seqTo));
  const size = 2 ** HIST_LOG2;
  const blockFirst = Math.ceil(from / size);
  const blockEnd = Math.floor(to / size);
  const names = new Map<number, number>();
  const statuses = new Map<number, number>();
  const bump = (m: Map<number, number>, id: number, n: number): void => void m.set(id, (m.get(id) ?? 0) + n);
  const scan = (a: number, b: number): void => {
    if (b <= a) return;
    const rows = prepared(db, 'SELECT name, status FROM events WHERE key >= ? AND key < ?').raw(true).all(eventKey(runId, a), eventKey(runId, b)) as [number, number][];
    for (const [name, status] of rows) {
      bump(names, name, 1);
      if (status !== 0) bump(statuses, status, 1);
    }
  };
  if (blockFirst >= blockEnd) scan(from, to);
  else {
    scan(from, blockFirst * size);
    const rows = prepared(db, 'SELECT names, statuses FROM event_hist WHERE run_id = ? AND block >= ? AND block < ?').raw(true).all(runId, blockFirst, blockEnd) as [Uint8Array, Uint8Array][];
    for (const [n, s] of rows) {
      const nv = int32View(n);
      for (let i = 0; i < nv.length; i += 2) bump(names, nv[i], nv[i + 1]);
      const sv = int32View(s);
      for (let i = 0; i < sv.length; i += 2) bump(statuses, sv[i], sv[i + 1]);
    }
    scan(blockEnd * size, to);
  }
  const strings = runStrings(db, runId);
  const list = (m: Map<number, number>): NameCount[] =>
    [...m].map(([id, count]) => ({ name: strings[id], count })).sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { seqFrom: from, seqTo: to, byName: list(names), byStatus: list(statuses) };
}

export function treeId(tree: Tree): number {
  return TREE_ID[tree];
}
