// Row and result types of the store (main/store), as the api and the renderer see them.
// Plain data only: everything here crosses IPC and HTTP as JSON (no typed arrays, no bigint).
// Timestamps are ISO-8601 strings. Entry values are packed U64 numbers (see u64.ts).
import type { Layer, SimEvent, Tree } from './event.ts';
import type { U64 } from './u64.ts';

export interface ScenarioSummary {
  id: number;
  name: string;
  description: string;
  builtin: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ScenarioRecord extends ScenarioSummary {
  /** The scenario file's text, exactly as saved. */
  json: string;
}

export const RUN_STATUSES = ['running', 'completed', 'interrupted', 'cancelled'] as const;
/**
 * Recording status, not the simulation's outcome: `running` while the recorder writes,
 * `interrupted` when the recording process died (found on the next open), `cancelled` by the user.
 */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** How the simulation ended (PRODUCT.md section 2, "Outcomes"). */
export interface RunOutcome {
  /** completed | vm-bugged | host-bug | livelock | deadlock (the engine's vocabulary). */
  status: string;
  /** Where the run ended badly (a check site), '' when it did not. */
  site: string;
  reason: string;
}

/** What the recorder needs before the first event. */
export interface RunMeta {
  scenarioId: number | null;
  /** Snapshot of the scenario as run, so the run reads the same after the scenario is edited. */
  scenarioJson: string;
  design: string;
  seed: number;
  /** Explicit schedule (thread ids) when the run replayed one, else null. */
  schedule: number[] | null;
  appVersion: string;
  threadNames: string[];
}

export interface RunTimings {
  /** Simulation wall time as the engine measured it, if it did. */
  simMs?: number;
  /** Time spent inside the recorder (writeChunk + finishRun). */
  recordMs?: number;
  [key: string]: number | undefined;
}

export interface RunSummary {
  id: number;
  scenarioId: number | null;
  scenarioName: string;
  design: string;
  seed: number;
  status: RunStatus;
  outcome: RunOutcome | null;
  /** The simulation's own stream hash (EventSink.hash()), '' until finished. */
  eventHash: string;
  /** The store's hash over the stored events and strings; equal after export and import. */
  contentHash: string;
  eventCount: number;
  startedAt: string;
  finishedAt: string | null;
}

export interface RunRecord extends RunSummary {
  scenarioJson: string;
  schedule: number[] | null;
  appVersion: string;
  threadNames: string[];
  /** The engine's Metrics object as JSON data (opaque to the store). */
  metrics: unknown;
  timings: RunTimings;
}

export interface ComparisonRecord {
  id: number;
  runA: number;
  runB: number;
  viewState: unknown;
  createdAt: string;
  updatedAt: string;
}

/** One timeline lane: a thread's events of one layer. */
export interface LaneKey {
  thread: number;
  layer: Layer;
}

export interface LaneBins extends LaneKey {
  /** Events per bucket. */
  counts: number[];
  /** Most frequent event name per bucket ('' where the bucket is empty). */
  topNames: string[];
}

/**
 * A timeline window cut into buckets. Buckets are `bucketSize` events wide (a power of two) and
 * aligned to multiples of it, so the same zoom level gives the same cache keys (STYLE.md 4,
 * "quantized window"). Bucket i covers seqs [seqStart + i*bucketSize, seqStart + (i+1)*bucketSize).
 */
export interface EventsWindow {
  seqStart: number;
  bucketSize: number;
  bucketCount: number;
  lanes: LaneBins[];
  /**
   * When the top name of a bucket was merged from several pre-computed blocks it is the
   * block-wise winner, which can differ from the exact winner; counts are always exact.
   */
  topNamesExact: boolean;
  /** The events themselves when the window holds at most `eventsMax` of them, else null. */
  events: SimEvent[] | null;
}

export interface EventWithParents {
  event: SimEvent;
  /** Enclosing spans, innermost first. */
  parents: SimEvent[];
}

export interface EntryState {
  level: number;
  gfn: number;
  value: U64;
}

/** Every non-empty entry of the three tables after the writes with seq <= `seq`. */
export interface TableState {
  seq: number;
  mirror: EntryState[];
  direct: EntryState[];
  sept: EntryState[];
}

export interface StateRangeQuery {
  seq: number;
  /** Entries whose gfn is in [gfnStart, gfnEnd). */
  gfnStart: number;
  gfnEnd: number;
  /** At most this many entries per tree; `truncated` says when more existed. */
  rowsMax: number;
  trees?: Tree[];
}

export interface TableStateRange extends TableState {
  truncated: boolean;
}

export interface EventSearch {
  name?: string;
  status?: string;
  gfn?: number;
  layer?: Layer;
  thread?: number;
  fromSeq?: number;
  limit: number;
}

export interface NameCount {
  name: string;
  count: number;
}

export interface RangeCounts {
  seqFrom: number;
  seqTo: number;
  byName: NameCount[];
  byStatus: NameCount[];
}

/** An import refused: where in the file, and what is wrong. */
export interface ImportError {
  code: 'malformed' | 'truncated' | 'oversized' | 'invalid' | 'unsupported';
  /** "line 12: $[9]" or "$.metrics.bugs[0]". */
  path: string;
  message: string;
}

export type ImportResult = { ok: true; runId: number; scenarioId: number } | { ok: false; error: ImportError };
