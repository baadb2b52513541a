// The Compare area of the api: two runs of one scenario under two designs, side by side
// (PRODUCT.md section 4, issue 8). Implemented by main/api/compare_service.ts.
//
// A comparison answers the seed's question with data: which hooks each design called, which
// SEAMCALLs followed, and which unexpected change each design noticed or let through. Runs are
// aligned by scenario operation (SimEvent.op), so the same step lines up even when the designs
// take different numbers of events; inside one operation, by the order of SEAMCALLs and checks.
import type { SimEvent, Tree } from '../event.ts';
import type { ComparisonRecord, EntryState, RunOutcome } from '../store_types.ts';
import type { ApiMethod, EventDescriptor, MethodDescriptor } from './contract.ts';
import { anyJson, args, int, noArgs, optional, str } from './validate.ts';

/** Which way a metric is good. `info` rows are shown without colour (e.g. calls of a hook). */
export type MetricSense = 'lower-better' | 'info';
/** How B compares with A on one row: colour blue (better), red (worse), none (similar, info). */
export type MetricTone = 'better' | 'worse' | 'similar' | 'info';
/** Below this relative difference a row is `similar` (Trace Compass: white under 10 %). */
export const SIMILAR_RATIO_MAX = 0.1;

export const METRIC_GROUPS = ['hooks', 'seamcalls', 'contention', 'bugs', 'checker', 'size'] as const;
export type MetricGroup = (typeof METRIC_GROUPS)[number];

export interface MetricRow {
  group: MetricGroup;
  /** Stable key, e.g. `seamcall:TDH.MEM.PAGE.AUG:TDX_SUCCESS`. */
  key: string;
  label: string;
  /** null where the value does not apply (no divergence, so no detection latency). */
  a: number | null;
  b: number | null;
  /** What to print when the number alone would mislead ("never", "-"). */
  aText: string;
  bText: string;
  /** b - a where both are numbers. */
  delta: number | null;
  sense: MetricSense;
  tone: MetricTone;
}

/** One side of the comparison. */
export interface CompareSide {
  runId: number;
  design: string;
  designTitle: string;
  seed: number;
  outcome: RunOutcome | null;
  eventCount: number;
  steps: number;
}

/** A design's surface (main/sim/designs/design.ts DesignSurface), for the table's top. */
export interface CompareSurface {
  hooks: string[];
  mmuCallSites: string[];
  tdxChecks: string[];
}

/** Where one scenario operation lies in one run; null for an operation the run never reached. */
export interface OpSpan {
  seqFirst: number;
  seqLast: number;
  events: number;
}

export interface AlignedOp {
  ordinal: number;
  /** "phase map · vcpu0 · fault 0x100". */
  label: string;
  a: OpSpan | null;
  b: OpSpan | null;
  /** The SEAMCALLs or checks of this operation differ between the runs. */
  differs: boolean;
  /** The hook calls differ (they always may: the designs name hooks differently). */
  hooksDiffer: boolean;
}

/** One event as the comparison shows it. */
export interface DiffItem {
  seq: number;
  thread: number;
  layer: SimEvent['layer'];
  name: string;
  status: string;
  gfn: number;
  level: number;
  detail: string;
}

/**
 * The first point where the two runs behave differently: the first operation whose SEAMCALL or
 * check sequence differs, and the position in that sequence. `a`/`b` null: that run has no
 * item there (it stopped earlier, or made fewer calls).
 */
export interface FirstDifference {
  ordinal: number;
  opLabel: string;
  index: number;
  a: DiffItem | null;
  b: DiffItem | null;
  /** The aligned cursor for "jump to first difference". */
  seqA: number;
  seqB: number;
  summary: string;
}

export interface Comparison {
  scenarioName: string;
  sameScenario: boolean;
  a: CompareSide;
  b: CompareSide;
  surfaceA: CompareSurface | null;
  surfaceB: CompareSurface | null;
  metrics: MetricRow[];
  ops: AlignedOp[];
  firstDifference: FirstDifference | null;
  /** The first operation where only the hook calls differ, when it comes before any other. */
  firstHookDifference: FirstDifference | null;
  /** One paragraph written from the data. */
  verdict: string;
  /** Events were read up to a budget; beyond it, alignment and differences are incomplete. */
  truncated: boolean;
}

/** Events of both runs for the operations [opFrom, opTo], for the aligned timelines. */
export interface CompareWindow {
  a: SimEvent[];
  b: SimEvent[];
  truncated: boolean;
}

/** One page-table entry at the aligned point, with both sides' values. */
export interface EntryPair {
  tree: Tree;
  level: number;
  gfn: number;
  a: EntryState['value'] | null;
  b: EntryState['value'] | null;
  differs: boolean;
}

export interface CompareState {
  seqA: number;
  seqB: number;
  entries: EntryPair[];
  differing: number;
  truncated: boolean;
}

/** What the compare view saves: the two runs are the record's, the rest is here. */
export interface CompareAnnotation {
  side: 'a' | 'b';
  seq: number;
  text: string;
}

export interface CompareViewState {
  /** Cursor, as an event of run A and the aligned event of run B. */
  cursorA: number;
  cursorB: number;
  /** Visible operations [opFrom, opTo] of the aligned timelines. */
  opFrom: number;
  opTo: number;
  annotations: CompareAnnotation[];
}

export interface ComparisonSummary extends ComparisonRecord {
  scenarioName: string;
  designA: string;
  designB: string;
}

export const COMPARISON_FILE_FORMAT = 'septwb/comparison';
export const COMPARISON_FILE_VERSION = 1;
export const COMPARE_EVENTS_MAX = 4000;
export const COMPARE_STATE_ROWS_MAX = 2000;
export const COMPARISON_TEXT_LENGTH_MAX = 8 * 1024 * 1024;
export const ANNOTATIONS_MAX = 500;

export interface CompareApi {
  /** Metrics with deltas, surfaces, aligned operations, first difference and verdict. */
  compareRuns: ApiMethod<{ runA: number; runB: number }, Comparison>;
  /** Events of operations [opFrom, opTo] of both runs, at most COMPARE_EVENTS_MAX per side. */
  compareWindow: ApiMethod<{ runA: number; runB: number; opFrom: number; opTo: number }, CompareWindow>;
  /** Both runs' page tables after events seqA and seqB, entry by entry, differences marked. */
  compareState: ApiMethod<{ runA: number; seqA: number; runB: number; seqB: number }, CompareState>;
  /** Creates (no id) or updates a saved comparison. */
  saveComparison: ApiMethod<{ id?: number; runA: number; runB: number; viewState: CompareViewState }, ComparisonRecord>;
  getComparison: ApiMethod<{ id: number }, ComparisonRecord>;
  listComparisons: ApiMethod<Record<string, never>, ComparisonSummary[]>;
  deleteComparison: ApiMethod<{ id: number }, { deleted: true }>;
  /** One JSON file: the view state and both runs' files, so it re-imports anywhere. */
  exportComparison: ApiMethod<{ id: number }, { fileName: string; text: string }>;
  /** Imports a file from exportComparison: both runs, then the comparison. Nothing on error. */
  importComparison: ApiMethod<{ text: string }, ComparisonRecord>;
}

const id = int(1, Number.MAX_SAFE_INTEGER);
const seq = int(0, Number.MAX_SAFE_INTEGER);
const ordinal = int(-1, Number.MAX_SAFE_INTEGER);

export const compareMethods = {
  compareRuns: args({ runA: id, runB: id }),
  compareWindow: args({ runA: id, runB: id, opFrom: ordinal, opTo: ordinal }),
  compareState: args({ runA: id, seqA: seq, runB: id, seqB: seq }),
  // The view state's content is checked by checkCompareViewState in the service, with paths.
  saveComparison: args({ id: optional(id), runA: id, runB: id, viewState: anyJson() }),
  getComparison: args({ id }),
  listComparisons: noArgs,
  deleteComparison: args({ id }),
  exportComparison: args({ id }),
  importComparison: args({ text: str({ lengthMin: 2, lengthMax: COMPARISON_TEXT_LENGTH_MAX }) }),
} satisfies MethodDescriptor<CompareApi>;

export interface CompareEvents {
  /** A comparison was saved, imported or deleted: lists should refetch. */
  onComparisonsChanged: { reason: 'saved' | 'imported' | 'deleted'; id: number };
}

export const compareEvents = {
  onComparisonsChanged: true,
} satisfies EventDescriptor<CompareEvents>;

/**
 * Checks a view state from the renderer or a file. Returns null when it is acceptable, else
 * `{path, message}` naming the field (`viewState.annotations[2].text`).
 */
export function checkCompareViewState(value: unknown, path = 'viewState'): { path: string; message: string } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { path, message: 'expected an object' };
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!['cursorA', 'cursorB', 'opFrom', 'opTo', 'annotations'].includes(key)) return { path: `${path}.${key}`, message: 'unknown field' };
  }
  for (const key of ['cursorA', 'cursorB', 'opFrom', 'opTo'] as const) {
    const n = v[key];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < -1) return { path: `${path}.${key}`, message: 'expected an integer >= -1' };
  }
  if (!Array.isArray(v.annotations)) return { path: `${path}.annotations`, message: 'expected an array' };
  if (v.annotations.length > ANNOTATIONS_MAX) return { path: `${path}.annotations`, message: `at most ${ANNOTATIONS_MAX} annotations` };
  for (let i = 0; i < v.annotations.length; i++) {
    const problem = checkAnnotation(v.annotations[i], `${path}.annotations[${i}]`);
    if (problem) return problem;
  }
  return null;
}

function checkAnnotation(value: unknown, path: string): { path: string; message: string } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { path, message: 'expected an object' };
  const a = value as Record<string, unknown>;
  for (const key of Object.keys(a)) if (!['side', 'seq', 'text'].includes(key)) return { path: `${path}.${key}`, message: 'unknown field' };
  if (a.side !== 'a' && a.side !== 'b') return { path: `${path}.side`, message: 'expected "a" or "b"' };
  if (typeof a.seq !== 'number' || !Number.isSafeInteger(a.seq) || a.seq < 0) return { path: `${path}.seq`, message: 'expected an integer >= 0' };
  if (typeof a.text !== 'string' || a.text.length > 2000) return { path: `${path}.text`, message: 'expected a string of at most 2000 characters' };
  return null;
}
