// The reads the compare view needs (shared/api/compare.ts), on a ReadableDB. The comparison
// aligns two runs by scenario operation (the events' `op` field), so it needs, per operation,
// where the operation lies in the run and the sequence of SEAMCALLs, checks and hook calls it
// made. That is one ordered scan of the run, in batches, under a named budget: a run longer
// than `eventsMax` is aligned over its first `eventsMax` events and says so (`truncated`).
import type { DiffItem } from '../../shared/api/compare.ts';
import { LAYERS, type SimEvent } from '../../shared/event.ts';
import { eventKey, prepared, type ReadableDB } from './db.ts';
import { EVENT_SELECT, rowToEvent, runStrings, type EventRow } from './events_read.ts';

const SCAN_BATCH = 16384;
const LAYER_HOOK = LAYERS.indexOf('hook');
const LAYER_TDX = LAYERS.indexOf('tdx');
const LAYER_CHECK = LAYERS.indexOf('check');

/** One hook call, SEAMCALL or check, as the alignment compares it (the api's DiffItem). */
export type SignatureItem = DiffItem;

/** What one scenario operation did in one run. */
export interface OpTrace {
  seqFirst: number;
  seqLast: number;
  events: number;
  /** SEAMCALLs (layer tdx) and modeled checks (layer check), in seq order. */
  behaviour: SignatureItem[];
  /** Hook calls (layer hook), in seq order. */
  hooks: SignatureItem[];
}

export interface RunTrace {
  /** By op ordinal; events outside any operation (op -1) are not kept. */
  ops: Map<number, OpTrace>;
  /** Events before the first operation and after the last, or outside any: their span only. */
  truncated: boolean;
  eventsScanned: number;
}

/**
 * Scans the run's events in seq order, at most `eventsMax` of them, and groups the hook,
 * SEAMCALL and check events by operation. Reads O(min(eventCount, eventsMax)) rows; keeps only
 * the signature events (a few per operation step), not the whole run.
 */
export function runTrace(db: ReadableDB, runId: number, eventCount: number, eventsMax: number): RunTrace {
  const strings = runStrings(db, runId);
  const stmt = prepared(db, 'SELECT key, thread, layer, name, op, gfn, level, status, detail FROM events WHERE key >= ? AND key < ? ORDER BY key').raw(true);
  const ops = new Map<number, OpTrace>();
  const seqEnd = Math.min(eventCount, eventsMax);
  const base = eventKey(runId, 0);
  let scanned = 0;
  for (let seq = 0; seq < seqEnd; seq += SCAN_BATCH) {
    const rows = stmt.all(eventKey(runId, seq), eventKey(runId, Math.min(seq + SCAN_BATCH, seqEnd))) as number[][];
    for (const [key, thread, layer, name, op, gfn, level, status, detail] of rows) {
      scanned++;
      if (op < 0) continue;
      const s = key - base;
      let trace = ops.get(op);
      if (trace === undefined) {
        trace = { seqFirst: s, seqLast: s, events: 0, behaviour: [], hooks: [] };
        ops.set(op, trace);
      }
      trace.seqLast = s;
      trace.events++;
      if (layer !== LAYER_HOOK && layer !== LAYER_TDX && layer !== LAYER_CHECK) continue;
      const item: SignatureItem = { seq: s, thread, layer: LAYERS[layer], name: strings[name], status: strings[status], gfn, level, detail: strings[detail] };
      (layer === LAYER_HOOK ? trace.hooks : trace.behaviour).push(item);
    }
  }
  return { ops, truncated: eventCount > eventsMax, eventsScanned: scanned };
}

/**
 * Events with seq in [seqFrom, seqTo] whose operation is in [opFrom, opTo], in seq order, at
 * most `limit`. `more` says whether the limit cut the list.
 */
export function opEvents(db: ReadableDB, runId: number, seqFrom: number, seqTo: number, opFrom: number, opTo: number, limit: number): { events: SimEvent[]; more: boolean } {
  if (seqTo < seqFrom) return { events: [], more: false };
  const rows = prepared(db, `${EVENT_SELECT} WHERE key >= ? AND key <= ? AND op >= ? AND op <= ? ORDER BY key LIMIT ?`)
    .raw(true)
    .all(eventKey(runId, seqFrom), eventKey(runId, seqTo), opFrom, opTo, limit + 1) as EventRow[];
  const strings = runStrings(db, runId);
  const more = rows.length > limit;
  return { events: rows.slice(0, limit).map((r) => rowToEvent(r, strings)), more };
}
