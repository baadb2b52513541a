// The event stream: what the simulation emits, what the store records and what the views read.
// PRODUCT.md section 3 names the fields. Two forms exist: `SimEvent`, one object per event, for
// the api and the renderer; and `EventChunk`, columnar typed arrays, for the hot path between
// the engine and the recorder (an object per event would cost an allocation each).
import type { U64 } from './u64.ts';

/** Which part of the system an event belongs to; the timeline draws one lane group per layer. */
export const LAYERS = ['op', 'mmu', 'hook', 'tdx', 'check'] as const;
export type Layer = (typeof LAYERS)[number];
export const LAYER_ID: Record<Layer, number> = { op: 0, mmu: 1, hook: 2, tdx: 3, check: 4 };

/**
 * Which page table an event wrote, so that the store can rebuild "state at event N" from the
 * events alone. `none`: the event changed no entry.
 */
export const TREES = ['none', 'mirror', 'direct', 'sept'] as const;
export type Tree = (typeof TREES)[number];
export const TREE_ID: Record<Tree, number> = { none: 0, mirror: 1, direct: 2, sept: 3 };

/** One event, decoded. `old`/`new` are packed U64 entry values (see u64.ts) or null. */
export interface SimEvent {
  /** Position in the run's stream, from 0. */
  seq: number;
  /** Thread index into the run's thread names. */
  thread: number;
  layer: Layer;
  /** op name, kernel function, hook, SEAMCALL (as "TDH.MEM.PAGE.AUG"), or check name. */
  name: string;
  /** seq of the enclosing span on the same thread, -1 at top level. */
  parent: number;
  /** seq of the last event inside this span; equals seq for an instant. -1 while still open. */
  end: number;
  /** Scheduler step at which the event was emitted. */
  step: number;
  /** Ordinal of the scenario operation this event belongs to, -1 outside any. */
  op: number;
  /** Guest frame number, -1 when none. */
  gfn: number;
  /** KVM pg_level (1 = 4K), 0 when none. */
  level: number;
  /** The page table this event wrote (`none` for events that write nothing). */
  tree: Tree;
  old: U64 | null;
  new: U64 | null;
  /** TDX status name, errno name or outcome; '' when none. */
  status: string;
  /** Short free text: raw status hex, RCX/RDX outputs, reasons. */
  detail: string;
}

/**
 * A run of consecutive events in columnar form, handed from the engine to the recorder.
 * Strings (names, statuses, details) are interned per run: `stringsStart` is the id of the
 * first entry of `strings`, which lists only strings first seen in this chunk. Id 0 is ''.
 * `endPatches` closes spans whose start was in an earlier chunk: pairs [seq, end].
 * `statusPatches` sets the status and detail such a span got when it closed: triples
 * [seq, statusId, detailId] (id 0 = leave as it is).
 * Null old/new are NaN.
 *
 * Lifetime: a chunk is valid only during the onChunk call that hands it over. The engine reuses
 * its arrays for the next chunk once onChunk returns (runScenario without `keep`; EventSink's
 * `reuseChunks`), so a consumer copies what it needs inside the call (the Recorder writes it to
 * SQLite there) and keeps no reference to the chunk or its arrays.
 */
export interface EventChunk {
  seqStart: number;
  count: number;
  thread: Int32Array;
  layer: Uint8Array;
  name: Int32Array;
  parent: Int32Array;
  end: Int32Array;
  step: Int32Array;
  op: Int32Array;
  gfn: Float64Array;
  level: Uint8Array;
  tree: Uint8Array;
  old: Float64Array;
  new: Float64Array;
  status: Int32Array;
  detail: Int32Array;
  stringsStart: number;
  strings: string[];
  endPatches: number[];
  statusPatches: number[];
}

/** Reads event i of a chunk back into object form, given the run's whole string table. */
export function chunk_event(c: EventChunk, i: number, strings: readonly string[]): SimEvent {
  const old = c.old[i];
  const nw = c.new[i];
  return {
    seq: c.seqStart + i,
    thread: c.thread[i],
    layer: LAYERS[c.layer[i]],
    name: strings[c.name[i]],
    parent: c.parent[i],
    end: c.end[i],
    step: c.step[i],
    op: c.op[i],
    gfn: c.gfn[i],
    level: c.level[i],
    tree: TREES[c.tree[i]],
    old: Number.isNaN(old) ? null : old,
    new: Number.isNaN(nw) ? null : nw,
    status: strings[c.status[i]],
    detail: strings[c.detail[i]],
  };
}
