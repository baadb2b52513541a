// Queries of the Run view that the general ones (queries.ts) do not answer: counts by kind over
// a range, the timeline's markers, an entry's next write, the effects a span caused (its flows),
// and the spans still open at the left edge of a timeline window. Each is one bounded scan of the events table, so the renderer never
// holds a whole run. The inspector's queries (its two trees built, merged and compared in main)
// are in inspector_state.ts and the inspector_*.ts files it uses.
import { LAYERS, LAYER_ID, TREE_ID, type SimEvent, type Tree } from '../../shared/event.ts';
import { MARKERS_MAX, type RangeKindCounts, type RunMarker } from '../../shared/api/runs.ts';
import { eventKey, prepared, type ReadableDB } from './db.ts';
import { EVENT_SELECT, eventAt, rowToEvent, runStrings, type EventRow } from './events_read.ts';

/** Counts by (layer, name, status) over [seqFrom, seqTo): one grouped scan of the range. */
export function rangeKindCounts(db: ReadableDB, runId: number, seqFrom: number, seqTo: number): RangeKindCounts {
  const from = Math.max(0, seqFrom);
  const to = Math.max(from, seqTo);
  const rows = prepared(db, 'SELECT layer, name, status, count(*) FROM events WHERE key >= ? AND key < ? GROUP BY layer, name, status').raw(true).all(eventKey(runId, from), eventKey(runId, to)) as [number, number, number, number][];
  const strings = runStrings(db, runId);
  let events = 0;
  const out = rows.map(([layer, name, status, count]) => {
    events += count;
    return { layer: LAYERS[layer], name: strings[name], status: strings[status], count };
  });
  out.sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { seqFrom: from, seqTo: to, events, rows: out };
}

/** Status texts that mark a contention retry: -EBUSY and TDX_OPERAND_BUSY with any operand. */
export function isBusyStatus(status: string): boolean {
  return status === '-EBUSY' || status.startsWith('TDX_OPERAND_BUSY');
}

/** Checks (layer `check`) and contention retries, in seq order, at most MARKERS_MAX. */
export function runMarkers(db: ReadableDB, runId: number): { markers: RunMarker[]; truncated: boolean } {
  const strings = runStrings(db, runId);
  const busyIds: number[] = [];
  for (let i = 0; i < strings.length; i++) if (isBusyStatus(strings[i])) busyIds.push(i);
  const busyList = busyIds.length === 0 ? '-1' : busyIds.join(',');
  const rows = prepared(db, `SELECT key, thread, layer, name, status FROM events WHERE key >= ? AND key < ? AND (layer = ${LAYER_ID.check} OR status IN (${busyList})) ORDER BY key LIMIT ?`)
    .raw(true)
    .all(eventKey(runId, 0), eventKey(runId + 1, 0), MARKERS_MAX + 1) as [number, number, number, number, number][];
  const base = eventKey(runId, 0);
  const markers = rows.slice(0, MARKERS_MAX).map(([k, thread, layer, name, status]): RunMarker => ({
    seq: k - base,
    thread,
    layer: LAYERS[layer],
    kind: layer === LAYER_ID.check ? 'check' : 'busy',
    name: strings[name],
    status: strings[status],
  }));
  return { markers, truncated: rows.length > MARKERS_MAX };
}

/** seq of the first write to (tree, level, gfn) after `seq`, within `scanMax` events, else -1. */
export function nextWrite(db: ReadableDB, runId: number, seq: number, tree: Tree, level: number, gfn: number, scanMax: number): number {
  const r = prepared(db, 'SELECT min(key) AS key FROM events WHERE key > ? AND key <= ? AND tree = ? AND level = ? AND gfn = ?')
    .get(eventKey(runId, seq), eventKey(runId, seq + scanMax), TREE_ID[tree], level, gfn) as { key: number | null };
  return r.key === null ? -1 : r.key - eventKey(runId, 0);
}

/**
 * The effects of span `e`: the SEAMCALLs and the entry writes its thread made inside it, in
 * order, at most `max` (half for each kind, so that a split's 512 fills do not hide its DEMOTE;
 * `truncated` says a kind had more), searched within `scanMax` events. A thread runs one call
 * stack, so its events inside a span's [seq, end] are that span's descendants (the parent
 * chain); the timeline draws them as flows from the operation to what it caused.
 */
export function causedEvents(db: ReadableDB, runId: number, e: SimEvent, max: number, scanMax: number): { events: SimEvent[]; truncated: boolean } {
  if (e.end <= e.seq && e.end !== -1) return { events: [], truncated: false };
  const last = e.end === -1 ? e.seq + scanMax : Math.min(e.end, e.seq + scanMax);
  const perKind = Math.max(1, Math.floor(max / 2));
  const kinds = [`layer = ${LAYER_ID.tdx} AND tree = ${TREE_ID.none}`, `tree != ${TREE_ID.none}`];
  const strings = runStrings(db, runId);
  const events: SimEvent[] = [];
  let truncated = false;
  for (const kind of kinds) {
    const rows = prepared(db, `${EVENT_SELECT} WHERE key > ? AND key <= ? AND thread = ? AND ${kind} ORDER BY key LIMIT ?`)
      .raw(true)
      .all(eventKey(runId, e.seq), eventKey(runId, last), e.thread, perKind + 1) as EventRow[];
    truncated ||= rows.length > perKind;
    for (const r of rows.slice(0, perKind)) events.push(rowToEvent(r, strings));
  }
  events.sort((a, b) => a.seq - b.seq);
  return { events, truncated };
}

/** At most this many spans are returned as open at a window's left edge. */
export const OPEN_SPANS_MAX = 64;

/**
 * Spans that begin before `seqFrom` and enclose the first event of a thread in `events` (the
 * window's events): without them a window inside a long op would show no op slice.
 */
export function openSpansAt(db: ReadableDB, runId: number, seqFrom: number, events: readonly SimEvent[]): SimEvent[] {
  const seen = new Set<number>();
  const out: SimEvent[] = [];
  for (const e of events) {
    if (seen.has(e.thread)) continue;
    seen.add(e.thread);
    let parent = e.parent;
    while (parent >= 0 && out.length < OPEN_SPANS_MAX) {
      if (parent >= seqFrom) {
        const inside = events[parent - events[0].seq];
        parent = inside === undefined ? -1 : inside.parent;
        continue;
      }
      const p = eventAt(db, runId, parent);
      if (p === null) break;
      out.push(p);
      parent = p.parent;
    }
  }
  return out;
}
