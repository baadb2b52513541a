// Reading stored events back into SimEvent form, with the run's string table cached per
// connection. Strings only grow while a run records, so the cache fetches the ids it lacks.
import { LAYERS, TREES, type SimEvent } from '../../shared/event.ts';
import { RUN_KEY_SPAN, assert, eventKey, prepared, type ReadableDB } from './db.ts';

export const EVENT_SELECT = 'SELECT key, thread, layer, name, parent, end_seq, step, op, gfn, level, tree, old, new, status, detail FROM events';

/** A raw event row in EVENT_SELECT column order. */
export type EventRow = [number, number, number, number, number, number, number, number, number, number, number, number | null, number | null, number, number];

const stringCache = new WeakMap<ReadableDB, Map<number, string[]>>();

export function runStrings(db: ReadableDB, runId: number): string[] {
  let perDb = stringCache.get(db);
  if (perDb === undefined) {
    perDb = new Map();
    stringCache.set(db, perDb);
  }
  let strings = perDb.get(runId);
  if (strings === undefined) {
    strings = [];
    perDb.set(runId, strings);
  }
  const rows = prepared(db, 'SELECT id, text FROM run_strings WHERE run_id = ? AND id >= ? ORDER BY id').raw(true).all(runId, strings.length) as [number, string][];
  for (const [id, text] of rows) {
    assert(id === strings.length, `run ${runId} string ids not contiguous at ${id}`);
    strings.push(text);
  }
  return strings;
}

/** Drops the cached strings of a run (after delete: ids may be reused by a new run). */
export function forgetRunStrings(db: ReadableDB, runId: number): void {
  stringCache.get(db)?.delete(runId);
}

export function rowToEvent(r: EventRow, strings: readonly string[]): SimEvent {
  return {
    seq: r[0] % RUN_KEY_SPAN,
    thread: r[1],
    layer: LAYERS[r[2]],
    name: strings[r[3]],
    parent: r[4],
    end: r[5],
    step: r[6],
    op: r[7],
    gfn: r[8],
    level: r[9],
    tree: TREES[r[10]],
    old: r[11],
    new: r[12],
    status: strings[r[13]],
    detail: strings[r[14]],
  };
}

/** Events with seq in [seqFrom, seqTo), in order. */
export function eventsRange(db: ReadableDB, runId: number, seqFrom: number, seqTo: number): SimEvent[] {
  const strings = runStrings(db, runId);
  const rows = prepared(db, `${EVENT_SELECT} WHERE key >= ? AND key < ? ORDER BY key`).raw(true).all(eventKey(runId, seqFrom), eventKey(runId, Math.max(seqFrom, seqTo))) as EventRow[];
  return rows.map((r) => rowToEvent(r, strings));
}

export function eventAt(db: ReadableDB, runId: number, seq: number): SimEvent | null {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq >= RUN_KEY_SPAN) return null;
  const r = prepared(db, `${EVENT_SELECT} WHERE key = ?`).raw(true).get(eventKey(runId, seq)) as EventRow | undefined;
  return r === undefined ? null : rowToEvent(r, runStrings(db, runId));
}
