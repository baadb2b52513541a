// The Runs area of the api: recorded runs and the queries the Run view makes on one of them
// (PRODUCT.md section 4, "Run view"). Implemented by main/api/run_service.ts over main/store.
//
// Every query is bounded by its arguments (buckets, rows, limit), never by the run's size, so a
// 1,000,000-event run costs the renderer what it shows, not what it holds (PRODUCT.md section 5).
import type { Layer, SimEvent, Tree } from '../event.ts';
import { LAYERS } from '../event.ts';
import type { EventsWindow, RunRecord, RunSummary } from '../store_types.ts';
import type { U64 } from '../u64.ts';
import type { ApiMethod, MethodDescriptor } from './contract.ts';
import { args, arrayOf, int, objectOf, oneOf, optional, str } from './validate.ts';

export type { EventsWindow, RunRecord, RunSummary };

/** One event with what the details panel shows beside it. */
export interface RunEventDetails {
  event: SimEvent;
  /** Enclosing spans, innermost first (op > MMU function > hook > SEAMCALL). */
  parents: SimEvent[];
  threadName: string;
  /**
   * For an event that wrote an entry: the write to the same (tree, level, gfn) before it and
   * the one after it (searched within RELATED_SCAN_EVENTS events), else null.
   */
  prevWrite: SimEvent | null;
  nextWrite: SimEvent | null;
  /**
   * For a span: what it caused, the timeline's flows. The SEAMCALLs and entry writes its thread
   * made inside it, in order, at most FLOWS_MAX / 2 of each (`causedTruncated` says a kind had
   * more).
   */
  caused: SimEvent[];
  causedTruncated: boolean;
}

/** Effects of one span returned for its flows (a zap of a whole range causes thousands). */
export const FLOWS_MAX = 256;

/** Events after the one shown that are searched for its entry's next write. */
export const RELATED_SCAN_EVENTS = 1 << 18;

export type InspectorTreeName = 'mirror' | 'sept';

/**
 * One row of a page-table tree at the cursor, in pre-order (a row's children follow it with a
 * larger depth). A leaf row may stand for `count` contiguous entries with the same attributes
 * (gdb-pt-dump's merged ranges); `value`/`valueLast` are its first and last entries.
 */
export interface InspectorRow {
  depth: number;
  level: number;
  gfnStart: number;
  /** Exclusive: gfnStart + count * KVM_PAGES_PER_HPAGE(level). */
  gfnEnd: number;
  count: number;
  value: U64;
  valueLast: U64;
  leaf: boolean;
  /** Colour class and legend key: mirror 'non-leaf' | 'leaf' | 'huge' | 'frozen' | 'other'; S-EPT the state name. */
  kind: string;
  /** What an engineer reads first: the entry's level and gfn, then the role or state. */
  label: string;
  /** Written by the event at the cursor. */
  changed: boolean;
  /** Emptied by the event at the cursor: shown once, with its old value. */
  removed: boolean;
  /** The other tree disagrees here (PRODUCT.md section 2, invariant checker rules). */
  mismatch: boolean;
}

export interface InspectorState {
  seq: number;
  mirror: InspectorRow[];
  sept: InspectorRow[];
  /** Rows were cut at INSPECTOR_ROWS_MAX per tree; ask again with a gfn window. */
  truncated: boolean;
  /** Entries (not rows) where the trees disagree. */
  mismatchCount: number;
}

export const INSPECTOR_ROWS_MAX = 4000;

/** Counts over a seq range, by kind (the range-selection panel). */
export interface RangeKindCounts {
  seqFrom: number;
  seqTo: number;
  events: number;
  /** Per layer: name, status ('' for none) and count, largest first. */
  rows: { layer: Layer; name: string; status: string; count: number }[];
}

/** What the timeline draws as markers: checks (layer `check`) and contention retries. */
export interface RunMarker {
  seq: number;
  thread: number;
  layer: Layer;
  kind: 'check' | 'busy';
  name: string;
  status: string;
}

export const MARKERS_MAX = 5000;

/** Annotations and the cursor, saved per run (PRODUCT.md section 3, "view state"). */
export interface RunViewState {
  version: 1;
  cursor: number;
  visibleStart: number;
  visibleEnd: number;
  annotations: { seq: number; text: string }[];
}

export const ANNOTATIONS_MAX = 1000;
export const ANNOTATION_TEXT_MAX = 2000;
/** Largest run file accepted as text through the api (browser mode's request limit is near). */
export const RUN_TEXT_BYTES_MAX = 8 * 1024 * 1024;

export interface RunsApi {
  /** Runs, newest first; only those of one scenario when `scenarioId` is given. */
  listRuns: ApiMethod<{ scenarioId?: number }, RunSummary[]>;
  getRun: ApiMethod<{ id: number }, RunRecord>;
  deleteRun: ApiMethod<{ id: number }, { deleted: true }>;
  /** The timeline window [seqFrom, seqTo) in about `buckets` power-of-two buckets (store's eventsWindow). */
  eventsWindow: ApiMethod<{ runId: number; seqFrom: number; seqTo: number; buckets: number }, EventsWindow & { openSpans: SimEvent[] }>;
  /** One event, its parents and its entry's neighbouring writes; `not-found` past the end. */
  event: ApiMethod<{ runId: number; seq: number }, RunEventDetails>;
  /** The inspector's two trees after the writes with seq <= `seq`, optionally in a gfn window. */
  stateAt: ApiMethod<{ runId: number; seq: number; gfnStart?: number; gfnEnd?: number }, InspectorState>;
  /** seq of the last write to the entry at or before `seq`, -1 when none. */
  lastWriter: ApiMethod<{ runId: number; seq: number; tree: InspectorTreeName; level: number; gfn: number }, { seq: number }>;
  searchEvents: ApiMethod<
    { runId: number; name?: string; status?: string; gfn?: number; layer?: Layer; thread?: number; fromSeq?: number; limit: number },
    SimEvent[]
  >;
  /** The nearest event on the lane thread x layer after (dir 1) or before (dir -1) `seq`. */
  laneStep: ApiMethod<{ runId: number; seq: number; thread: number; layer: Layer; dir: number }, SimEvent | null>;
  rangeCounts: ApiMethod<{ runId: number; seqFrom: number; seqTo: number }, RangeKindCounts>;
  /** Checks and contention retries of the whole run, at most MARKERS_MAX (`truncated` says so). */
  markers: ApiMethod<{ runId: number }, { markers: RunMarker[]; truncated: boolean }>;
  /** The saved view state, or null when none was saved. */
  getViewState: ApiMethod<{ runId: number }, RunViewState | null>;
  putViewState: ApiMethod<{ runId: number; state: RunViewState }, { saved: true }>;
  /** The run as one file's text (main/store/share.ts layout) and a file name for it. */
  exportRun: ApiMethod<{ id: number }, { fileName: string; text: string }>;
  /** Imports a run file's text; `bad-input` names the line and JSON path at fault. */
  importRun: ApiMethod<{ text: string }, { runId: number; scenarioId: number }>;
}

const id = int(1, Number.MAX_SAFE_INTEGER);
const seq = int(0, 2 ** 32 - 1);
const gfn = int(0, 2 ** 52);
const level = int(1, 5);
const layer = oneOf(LAYERS);

export const runsMethods = {
  listRuns: args({ scenarioId: optional(id) }),
  getRun: args({ id }),
  deleteRun: args({ id }),
  eventsWindow: args({ runId: id, seqFrom: seq, seqTo: int(1, 2 ** 32), buckets: int(1, 100_000) }),
  event: args({ runId: id, seq }),
  stateAt: args({ runId: id, seq: int(-1, 2 ** 32 - 1), gfnStart: optional(gfn), gfnEnd: optional(gfn) }),
  lastWriter: args({ runId: id, seq, tree: oneOf(['mirror', 'sept'] satisfies Tree[]), level, gfn }),
  searchEvents: args({
    runId: id,
    name: optional(str({ lengthMin: 1, lengthMax: 200 })),
    status: optional(str({ lengthMin: 1, lengthMax: 200 })),
    gfn: optional(gfn),
    layer: optional(layer),
    thread: optional(int(0, 1 << 16)),
    fromSeq: optional(seq),
    limit: int(1, 10_000),
  }),
  laneStep: args({ runId: id, seq, thread: int(0, 1 << 16), layer, dir: int(-1, 1) }),
  rangeCounts: args({ runId: id, seqFrom: seq, seqTo: int(0, 2 ** 32) }),
  markers: args({ runId: id }),
  getViewState: args({ runId: id }),
  putViewState: args({ runId: id, state: viewStateCheck() }),
  exportRun: args({ id }),
  importRun: args({ text: str({ lengthMin: 1, lengthMax: RUN_TEXT_BYTES_MAX }) }),
} satisfies MethodDescriptor<RunsApi>;

/** The view state's shape, checked field by field (it is stored and comes back on reopen). */
function viewStateCheck() {
  const annotation = objectOf({ seq, text: str({ lengthMax: ANNOTATION_TEXT_MAX }) });
  return objectOf({
    version: int(1, 1),
    cursor: int(-1, 2 ** 32),
    visibleStart: int(0, 2 ** 32),
    visibleEnd: int(0, 2 ** 32),
    annotations: arrayOf(annotation, ANNOTATIONS_MAX),
  });
}
