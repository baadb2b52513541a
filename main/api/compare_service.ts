// The Compare area (shared/api/compare.ts): two runs of one scenario under two designs.
//
// Alignment rule. Runs are aligned by scenario operation (SimEvent.op, the ordinal of
// scenarioOps()), because two designs take different numbers of events for the same step. Inside
// one operation the runs are compared by their *behaviour*: the SEAMCALLs (leaf, status, gfn,
// level) and modeled checks (KVM_BUG_ON, WARN, divergence...) in seq order. Hook calls are
// compared apart, because the designs name their hooks differently by construction: a hook-only
// difference is the design, not a finding. The first behavioural difference is what "jump to
// first difference" shows, and what the verdict starts from.
import type { Metrics } from '../sim/metrics.ts';
import type {
  AlignedOp, CompareApi, CompareSide, CompareSurface, Comparison, ComparisonSummary, CompareState, DiffItem,
  EntryPair, FirstDifference, MetricRow, MetricSense, MetricTone, OpSpan,
} from '../../shared/api/compare.ts';
import {
  COMPARE_EVENTS_MAX, COMPARE_STATE_ROWS_MAX, COMPARISON_FILE_FORMAT, COMPARISON_FILE_VERSION, SIMILAR_RATIO_MAX,
  checkCompareViewState,
} from '../../shared/api/compare.ts';
import { err, ok, type Result } from '../../shared/api/contract.ts';
import { parseScenarioText } from '../../shared/scenario_validate.ts';
import { scenarioOps, type Op, type Scenario } from '../../shared/scenario.ts';
import type { SimEvent } from '../../shared/event.ts';
import type { EntryState, RunRecord, TableStateRange } from '../../shared/store_types.ts';
import { DESIGNS } from '../sim/designs/registry.ts';
import { opEvents, runTrace, type OpTrace, type RunTrace, type SignatureItem } from '../store/compare_queries.ts';
import { stateRange } from '../store/queries.ts';
import { exportRunText, importRunText } from '../store/share.ts';
import type { Store } from '../store/store.ts';
import type { ApiEventHub } from './event_hub.ts';

/** Events scanned per run for the alignment; beyond it the comparison says `truncated`. */
export const TRACE_EVENTS_MAX = 2_000_000;
/** Aligned operations listed; a scenario with more lists the first ones. */
export const ALIGNED_OPS_MAX = 5000;
/** Traces kept in memory (a run is immutable once finished). */
const TRACE_CACHE_MAX = 6;
const GFN_END = 2 ** 46;
/** Fewest events drawn per visible operation, however many operations are visible. */
const WINDOW_EVENTS_PER_OP_MIN = 16;

export interface CompareDeps {
  store: Store;
  events: ApiEventHub;
  appVersion: string;
}

export function createCompareService(deps: CompareDeps): CompareApi {
  const { store, events } = deps;
  const traces = new TraceCache(store);
  return {
    compareRuns: async ({ runA, runB }) => {
      const pair = loadPair(store, runA, runB);
      if (!pair.ok) return pair;
      const [a, b] = pair.value;
      return ok(buildComparison(a, b, traces.get(a), traces.get(b)));
    },
    compareWindow: async ({ runA, runB, opFrom, opTo }) => {
      const pair = loadPair(store, runA, runB);
      if (!pair.ok) return pair;
      const [a, b] = pair.value;
      const sideA = windowOf(store, a, traces.get(a), opFrom, opTo);
      const sideB = windowOf(store, b, traces.get(b), opFrom, opTo);
      return ok({ a: sideA.events, b: sideB.events, truncated: sideA.more || sideB.more });
    },
    compareState: async ({ runA, seqA, runB, seqB }) => {
      const pair = loadPair(store, runA, runB);
      if (!pair.ok) return pair;
      const query = (runId: number, seq: number) => stateRange(store.readable, runId, { seq, gfnStart: 0, gfnEnd: GFN_END, rowsMax: COMPARE_STATE_ROWS_MAX });
      return ok(pairStates(query(runA, seqA), query(runB, seqB)));
    },
    saveComparison: async ({ id, runA, runB, viewState }) => {
      const problem = checkCompareViewState(viewState, 'args.viewState');
      if (problem) return err('bad-input', problem.message, problem.path);
      const pair = loadPair(store, runA, runB);
      if (!pair.ok) return pair;
      if (id !== undefined && store.getComparison(id) === null) return err('not-found', `no comparison with id ${id}`, 'args.id');
      const savedId = store.putComparison({ id, runA, runB, viewState });
      events.emit('onComparisonsChanged', { reason: 'saved', id: savedId });
      return found(store.getComparison(savedId), savedId);
    },
    getComparison: async ({ id }) => found(store.getComparison(id), id),
    listComparisons: async () => ok(store.listComparisons().map((c) => summaryOf(store, c))),
    deleteComparison: async ({ id }) => {
      if (store.getComparison(id) === null) return err('not-found', `no comparison with id ${id}`, 'args.id');
      store.deleteComparison(id);
      events.emit('onComparisonsChanged', { reason: 'deleted', id });
      return ok({ deleted: true as const });
    },
    exportComparison: async ({ id }) => exportComparison(deps, id),
    importComparison: async ({ text }) => importComparison(deps, text),
  };
}

/** Runs are immutable once finished, so their traces are cached by id (and event count). */
class TraceCache {
  readonly #store: Store;
  readonly #traces = new Map<string, RunTrace>();
  constructor(store: Store) {
    this.#store = store;
  }
  get(run: RunRecord): RunTrace {
    const key = `${run.id}:${run.eventCount}:${run.contentHash}`;
    let trace = this.#traces.get(key);
    if (trace === undefined) {
      trace = runTrace(this.#store.readable, run.id, run.eventCount, TRACE_EVENTS_MAX);
      if (this.#traces.size >= TRACE_CACHE_MAX) this.#traces.delete(this.#traces.keys().next().value as string);
      this.#traces.set(key, trace);
    }
    return trace;
  }
}

function found<T>(value: T | null, id: number): Result<T> {
  return value === null ? err('not-found', `no comparison with id ${id}`, 'args.id') : ok(value);
}

function loadPair(store: Store, runA: number, runB: number): Result<[RunRecord, RunRecord]> {
  const a = store.getRun(runA);
  if (a === null) return err('not-found', `no run with id ${runA}`, 'args.runA');
  const b = store.getRun(runB);
  if (b === null) return err('not-found', `no run with id ${runB}`, 'args.runB');
  return ok([a, b]);
}

function summaryOf(store: Store, c: ReturnType<Store['listComparisons']>[number]): ComparisonSummary {
  const a = store.getRun(c.runA);
  const b = store.getRun(c.runB);
  return { ...c, scenarioName: a?.scenarioName || b?.scenarioName || '', designA: a?.design ?? '?', designB: b?.design ?? '?' };
}

// ---------------------------------------------------------------------------------------------
// The comparison itself: pure functions of two run records and their traces.

/** What the comparison reads from a run's metrics (the engine's Metrics); absent fields are 0/-1. */
export type MetricsView = Omit<Metrics, 'firstDivergenceStep' | 'firstDetectionStep'>;

/** Reads untrusted metrics JSON (an imported run may carry anything) into a MetricsView. */
export function metricsView(value: unknown): MetricsView {
  const o = isRecord(value) ? value : {};
  const int = (x: unknown, fallback: number): number => (typeof x === 'number' && Number.isFinite(x) ? x : fallback);
  const counts = (x: unknown): Record<string, number> => {
    const out: Record<string, number> = {};
    if (isRecord(x)) for (const [k, v] of Object.entries(x)) if (typeof v === 'number') out[k] = v;
    return out;
  };
  const seamcalls: Record<string, Record<string, number>> = {};
  if (isRecord(o.seamcalls)) for (const [leaf, byStatus] of Object.entries(o.seamcalls)) seamcalls[leaf] = counts(byStatus);
  const bugs = Array.isArray(o.bugs)
    ? o.bugs.filter(isRecord).map((x) => ({ kind: String(x.kind ?? ''), site: String(x.site ?? ''), reason: String(x.reason ?? ''), seq: int(x.seq, -1), step: int(x.step, -1) }))
    : [];
  return {
    hookCalls: counts(o.hookCalls),
    seamcalls,
    retries: int(o.retries, 0),
    kicks: int(o.kicks, 0),
    bugs,
    warns: counts(o.warns),
    divergences: int(o.divergences, 0),
    firstDivergenceSeq: int(o.firstDivergenceSeq, -1),
    firstDetectionSeq: int(o.firstDetectionSeq, -1),
    detectionLatency: int(o.detectionLatency, -1),
    steps: int(o.steps, 0),
    events: int(o.events, 0),
  };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function buildComparison(a: RunRecord, b: RunRecord, traceA: RunTrace, traceB: RunTrace): Comparison {
  const ma = metricsView(a.metrics);
  const mb = metricsView(b.metrics);
  const labels = opLabels(a.scenarioJson);
  const ops = alignOps(labels, traceA, traceB);
  const names: [string, string] = [`A (${a.design})`, `B (${b.design})`];
  const firstDifference = findFirstDifference(ops.list, traceA, traceB, labels, 'behaviour', names);
  const firstHookDifference = findFirstDifference(ops.list, traceA, traceB, labels, 'hooks', names);
  const sideA = sideOf(a, ma);
  const sideB = sideOf(b, mb);
  const comparison: Comparison = {
    scenarioName: a.scenarioName || b.scenarioName,
    sameScenario: a.scenarioJson === b.scenarioJson,
    a: sideA,
    b: sideB,
    surfaceA: surfaceOf(a.design),
    surfaceB: surfaceOf(b.design),
    metrics: metricRows(ma, mb),
    ops: ops.list,
    firstDifference,
    firstHookDifference: firstDifference !== null && firstHookDifference !== null && firstHookDifference.ordinal > firstDifference.ordinal ? null : firstHookDifference,
    verdict: '',
    truncated: traceA.truncated || traceB.truncated || ops.truncated,
  };
  comparison.verdict = verdictOf(comparison, ma, mb, traceA, traceB);
  return comparison;
}

function sideOf(run: RunRecord, m: MetricsView): CompareSide {
  const design = DESIGNS.find((d) => d.id === run.design);
  return { runId: run.id, design: run.design, designTitle: design?.title ?? run.design, seed: run.seed, outcome: run.outcome, eventCount: run.eventCount, steps: m.steps };
}

function surfaceOf(designId: string): CompareSurface | null {
  const design = DESIGNS.find((d) => d.id === designId);
  if (design === undefined) return null;
  return { hooks: [...design.surface.hooks], mmuCallSites: [...design.surface.mmuCallSites], tdxChecks: [...design.surface.tdxChecks] };
}

/** Labels of the scenario's operations by ordinal ("map · vcpu0 · fault 0x100"); [] if unparsable. */
export function opLabels(scenarioJson: string): string[] {
  const parsed = parseScenarioText(scenarioJson);
  if (!parsed.ok) return [];
  const scenario: Scenario = parsed.scenario;
  return scenarioOps(scenario)
    .slice(0, ALIGNED_OPS_MAX)
    .map((o) => `${scenario.phases[o.phase].name} · ${o.thread} · ${opText(o.op)}`);
}

function opText(op: Op): string {
  const hex = (n: number) => `0x${n.toString(16)}`;
  switch (op.op) {
    case 'fault':
      return `fault ${hex(op.gfn)} ${op.level}${op.private ? '' : ' shared'}`;
    case 'fault-range':
      return `fault-range ${hex(op.gfn)} +${op.pages} ${op.level}`;
    case 'accept':
      return `accept ${hex(op.gfn)} ${op.level}`;
    case 'wrprot-leaf':
      return `wrprot-leaf ${hex(op.gfn)} (${op.lock} lock)`;
    case 'zap-nonleaf-shared':
      return `zap-nonleaf-shared ${hex(op.gfn)} ${op.level}`;
    case 'convert':
      return `convert ${hex(op.gfn)} +${op.pages} to ${op.to}`;
    case 'teardown':
      return `teardown (${op.variant})`;
    case 'memslot-delete':
    case 'memslot-create':
      return `${op.op} slot ${op.slot}`;
    case 'vcpu-enter':
      return op.zeroStep ? 'vcpu-enter (zero-step)' : 'vcpu-enter';
    case 'finalize':
    case 'vcpu-exit':
      return op.op;
    default:
      return 'pages' in op ? `${op.op} ${hex(op.gfn)} +${op.pages}` : `${op.op} ${hex(op.gfn)}`;
  }
}

const signatureKey = (i: SignatureItem): string => `${i.layer}|${i.name}|${i.status}|${i.gfn}|${i.level}`;

function sameItems(x: SignatureItem[] | undefined, y: SignatureItem[] | undefined): boolean {
  const xs = x ?? [];
  const ys = y ?? [];
  if (xs.length !== ys.length) return false;
  for (let i = 0; i < xs.length; i++) if (signatureKey(xs[i]) !== signatureKey(ys[i])) return false;
  return true;
}

function spanOf(t: OpTrace | undefined): OpSpan | null {
  return t === undefined ? null : { seqFirst: t.seqFirst, seqLast: t.seqLast, events: t.events };
}

/** Every operation either run reached or the scenario lists, by ordinal, with its spans. */
export function alignOps(labels: string[], traceA: RunTrace, traceB: RunTrace): { list: AlignedOp[]; truncated: boolean } {
  const ordinals = new Set<number>([...labels.keys(), ...traceA.ops.keys(), ...traceB.ops.keys()]);
  const sorted = [...ordinals].sort((x, y) => x - y);
  const list = sorted.slice(0, ALIGNED_OPS_MAX).map((ordinal): AlignedOp => {
    const ta = traceA.ops.get(ordinal);
    const tb = traceB.ops.get(ordinal);
    return {
      ordinal,
      label: labels[ordinal] ?? `op ${ordinal}`,
      a: spanOf(ta),
      b: spanOf(tb),
      differs: (ta === undefined) !== (tb === undefined) || !sameItems(ta?.behaviour, tb?.behaviour),
      hooksDiffer: !sameItems(ta?.hooks, tb?.hooks),
    };
  });
  return { list, truncated: sorted.length > ALIGNED_OPS_MAX };
}

function diffItem(i: SignatureItem | undefined): DiffItem | null {
  return i === undefined ? null : { seq: i.seq, thread: i.thread, layer: i.layer, name: i.name, status: i.status, gfn: i.gfn, level: i.level, detail: i.detail };
}

function describeItem(i: DiffItem | null, side: string): string {
  if (i === null) return `${side} does nothing more here`;
  const where = i.gfn >= 0 ? ` at gfn 0x${i.gfn.toString(16)}` : '';
  if (i.layer === 'check') return `${side} hits ${i.name}${i.status ? ` in ${i.status}` : ''}${where}`;
  return `${side} calls ${i.name}${where}${i.status ? ` → ${i.status}` : ''}`;
}

/**
 * The first aligned operation whose `kind` sequence differs, and the index of the first item
 * that differs in it. The cursor goes to the differing items, or where the shorter side ends.
 */
export function findFirstDifference(ops: AlignedOp[], traceA: RunTrace, traceB: RunTrace, labels: string[], kind: 'behaviour' | 'hooks', names: [string, string] = ['A', 'B']): FirstDifference | null {
  for (const op of ops) {
    const ta = traceA.ops.get(op.ordinal);
    const tb = traceB.ops.get(op.ordinal);
    const xs = ta?.[kind] ?? [];
    const ys = tb?.[kind] ?? [];
    const absent = (ta === undefined) !== (tb === undefined);
    let index = 0;
    while (index < xs.length && index < ys.length && signatureKey(xs[index]) === signatureKey(ys[index])) index++;
    if (!absent && index === xs.length && index === ys.length) continue;
    const a = diffItem(xs[index]);
    const b = diffItem(ys[index]);
    const seqA = a?.seq ?? ta?.seqLast ?? lastSeq(traceA);
    const seqB = b?.seq ?? tb?.seqLast ?? lastSeq(traceB);
    const label = labels[op.ordinal] ?? `op ${op.ordinal}`;
    return { ordinal: op.ordinal, opLabel: label, index, a, b, seqA, seqB, summary: `${describeItem(a, names[0])}, where ${describeItem(b, names[1])}` };
  }
  return null;
}

function lastSeq(trace: RunTrace): number {
  let last = 0;
  for (const t of trace.ops.values()) last = Math.max(last, t.seqLast);
  return last;
}

// ---------------------------------------------------------------------------------------------
// Metrics table.

/**
 * How B compares with A: `better`/`worse` by the row's sense when the relative difference is at
 * least SIMILAR_RATIO_MAX, else `similar`; `info` rows are not judged. Null values (n/a) count as
 * `similar` against each other and are not judged against a number.
 */
export function toneOf(a: number | null, b: number | null, sense: MetricSense): MetricTone {
  if (sense === 'info') return 'info';
  if (a === null || b === null) return a === b ? 'similar' : 'info';
  if (a === b) return 'similar';
  if (!Number.isFinite(a) || !Number.isFinite(b)) return b < a ? 'better' : 'worse';
  const ratio = Math.abs(b - a) / Math.max(Math.abs(a), Math.abs(b));
  if (ratio < SIMILAR_RATIO_MAX) return 'similar';
  return b < a ? 'better' : 'worse';
}

function row(group: MetricRow['group'], key: string, label: string, a: number | null, b: number | null, sense: MetricSense, texts?: [string, string]): MetricRow {
  const text = (v: number | null) => (v === null ? '-' : String(v));
  const delta = a !== null && b !== null && Number.isFinite(a) && Number.isFinite(b) ? b - a : null;
  return { group, key, label, a, b, aText: texts?.[0] ?? text(a), bText: texts?.[1] ?? text(b), delta, sense, tone: toneOf(a, b, sense) };
}

function byHook(hookCalls: Record<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, n] of Object.entries(hookCalls)) {
    const hook = key.split('@')[0];
    out.set(hook, (out.get(hook) ?? 0) + n);
  }
  return out;
}

const sum = (values: Iterable<number>): number => {
  let s = 0;
  for (const v of values) s += v;
  return s;
};

/**
 * Detection latency as a comparable number: the run's latency; +Infinity for a divergence never
 * noticed (the worst); null when there was no divergence (nothing to notice).
 */
function latencyValue(m: MetricsView): number | null {
  if (m.divergences === 0) return null;
  return m.detectionLatency < 0 ? Number.POSITIVE_INFINITY : m.detectionLatency;
}

function latencyText(m: MetricsView): string {
  if (m.divergences === 0) return 'no divergence';
  return m.detectionLatency < 0 ? 'never noticed' : `${m.detectionLatency} step${m.detectionLatency === 1 ? '' : 's'}`;
}

/** The table: hook calls by hook, SEAMCALLs by leaf and status, contention, bugs, checker, size. */
export function metricRows(ma: MetricsView, mb: MetricsView): MetricRow[] {
  const rows: MetricRow[] = [];
  const hooksA = byHook(ma.hookCalls);
  const hooksB = byHook(mb.hookCalls);
  for (const hook of [...new Set([...hooksA.keys(), ...hooksB.keys()])].sort()) {
    rows.push(row('hooks', `hook:${hook}`, `${hook}()`, hooksA.get(hook) ?? 0, hooksB.get(hook) ?? 0, 'info'));
  }
  rows.push(row('hooks', 'hook:total', 'hook calls, total', sum(hooksA.values()), sum(hooksB.values()), 'info'));
  const leaves = [...new Set([...Object.keys(ma.seamcalls), ...Object.keys(mb.seamcalls)])].sort();
  for (const leaf of leaves) {
    const statuses = [...new Set([...Object.keys(ma.seamcalls[leaf] ?? {}), ...Object.keys(mb.seamcalls[leaf] ?? {})])].sort();
    for (const status of statuses) {
      const sense: MetricSense = status === 'TDX_SUCCESS' ? 'info' : 'lower-better';
      rows.push(row('seamcalls', `seamcall:${leaf}:${status}`, `${leaf} → ${status}`, ma.seamcalls[leaf]?.[status] ?? 0, mb.seamcalls[leaf]?.[status] ?? 0, sense));
    }
  }
  const totalSeamcalls = (m: MetricsView) => sum(Object.values(m.seamcalls).map((s) => sum(Object.values(s))));
  rows.push(row('seamcalls', 'seamcall:total', 'SEAMCALLs, total', totalSeamcalls(ma), totalSeamcalls(mb), 'lower-better'));
  rows.push(row('contention', 'retries', 'retries (RET_PF_RETRY, cmpxchg, BUSY)', ma.retries, mb.retries, 'lower-better'));
  rows.push(row('contention', 'kicks', 'vCPU kicks', ma.kicks, mb.kicks, 'lower-better'));
  for (const kind of [...new Set([...ma.bugs, ...mb.bugs].map((x) => x.kind))].sort()) {
    const count = (m: MetricsView) => m.bugs.filter((x) => x.kind === kind).length;
    rows.push(row('bugs', `bug:${kind}`, kind, count(ma), count(mb), 'info'));
  }
  for (const site of [...new Set([...Object.keys(ma.warns), ...Object.keys(mb.warns)])].sort()) {
    rows.push(row('bugs', `warn:${site}`, `WARN ${site}`, ma.warns[site] ?? 0, mb.warns[site] ?? 0, 'info'));
  }
  rows.push(row('checker', 'divergences', 'divergences (mirror vs S-EPT)', ma.divergences, mb.divergences, 'lower-better'));
  const silent = (m: MetricsView) => (m.divergences > 0 && m.detectionLatency < 0 ? 1 : 0);
  rows.push(row('checker', 'silent', 'divergence never noticed', silent(ma), silent(mb), 'lower-better', [silent(ma) ? 'yes' : 'no', silent(mb) ? 'yes' : 'no']));
  rows.push(row('checker', 'latency', 'detection latency', latencyValue(ma), latencyValue(mb), 'lower-better', [latencyText(ma), latencyText(mb)]));
  rows.push(row('size', 'steps', 'scheduler steps', ma.steps, mb.steps, 'lower-better'));
  rows.push(row('size', 'events', 'events', ma.events, mb.events, 'lower-better'));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The verdict: one paragraph, every clause read off the data.

function outcomeText(side: CompareSide): string {
  const o = side.outcome;
  if (o === null) return 'has no outcome (not finished)';
  if (o.status === 'completed') return 'completes';
  return `ends ${o.status}${o.site ? ` at ${o.site}` : ''}${o.reason ? ` (${o.reason})` : ''}`;
}

/** Where run `m` noticed trouble first: the check event at firstDetectionSeq, or its first bug. */
function detectionText(m: MetricsView, trace: RunTrace): string | null {
  if (m.firstDetectionSeq < 0) return null;
  for (const t of trace.ops.values()) {
    for (const i of t.behaviour) {
      if (i.seq === m.firstDetectionSeq && i.layer === 'check') return `${i.name}${i.status ? ` in ${i.status}` : ''} at event ${i.seq}`;
    }
  }
  const bug = m.bugs[0];
  return bug ? `${bug.kind} in ${bug.site} at event ${bug.seq}` : `a check at event ${m.firstDetectionSeq}`;
}

function noticeClause(design: string, m: MetricsView, trace: RunTrace): string {
  const detection = detectionText(m, trace);
  if (m.divergences === 0) {
    return detection === null ? `${design} never lets the tables diverge and reports nothing` : `${design} never lets the tables diverge and reports ${detection}`;
  }
  const first = `${design} lets mirror and S-EPT diverge at event ${m.firstDivergenceSeq}`;
  if (m.detectionLatency < 0 || detection === null) return `${first} and never notices (${m.divergences} divergent check${m.divergences === 1 ? '' : 's'})`;
  // Detection latency is 0 also when the first report came before the trees parted.
  if (m.firstDetectionSeq < m.firstDivergenceSeq) return `${first}, after it had already reported ${detection}`;
  return `${first} and notices ${m.detectionLatency} step${m.detectionLatency === 1 ? '' : 's'} later with ${detection}`;
}

function seamcallDifferences(rows: MetricRow[]): string {
  const differing = rows.filter((r) => r.group === 'seamcalls' && r.key !== 'seamcall:total' && r.a !== r.b);
  if (differing.length === 0) return 'Both make the same SEAMCALLs with the same statuses.';
  const shown = differing.slice(0, 5).map((r) => `${r.label} ${r.aText} vs ${r.bText}`);
  const more = differing.length > shown.length ? `, and ${differing.length - shown.length} more` : '';
  return `SEAMCALLs that differ (A vs B): ${shown.join('; ')}${more}.`;
}

export function verdictOf(c: Comparison, ma: MetricsView, mb: MetricsView, traceA: RunTrace, traceB: RunTrace): string {
  const A = `A (${c.a.design})`;
  const B = `B (${c.b.design})`;
  const parts: string[] = [];
  parts.push(`On "${c.scenarioName}", ${A} ${outcomeText(c.a)} and ${B} ${outcomeText(c.b)}.`);
  parts.push(`${capitalize(noticeClause(A, ma, traceA))}; ${noticeClause(B, mb, traceB)}.`);
  const d = c.firstDifference;
  if (d === null) parts.push('The two runs make the same SEAMCALLs and checks in every operation.');
  else parts.push(`They first behave differently in operation ${d.ordinal} (${d.opLabel}): ${d.summary}.`);
  if (c.firstHookDifference !== null && (d === null || c.firstHookDifference.ordinal < d.ordinal)) {
    parts.push(`Before that only the hooks differ, from operation ${c.firstHookDifference.ordinal} on.`);
  }
  parts.push(seamcallDifferences(c.metrics));
  if (!c.sameScenario) parts.push('Caution: the runs were made from different scenario texts.');
  if (c.truncated) parts.push(`Only the first ${TRACE_EVENTS_MAX} events of each run were aligned.`);
  return parts.join(' ');
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Aligned events and page-table state.

/**
 * Events of the operations [opFrom, opTo] of one run. Each operation gets an equal share of
 * COMPARE_EVENTS_MAX (at least WINDOW_EVENTS_PER_OP_MIN), so one operation that retried ten
 * thousand times cannot push the others out of the window; `more` says a share was cut.
 */
function windowOf(store: Store, run: RunRecord, trace: RunTrace, opFrom: number, opTo: number): { events: SimEvent[]; more: boolean } {
  const spans = [...trace.ops].filter(([ordinal]) => ordinal >= opFrom && ordinal <= opTo).sort((x, y) => x[0] - y[0]);
  const share = Math.max(WINDOW_EVENTS_PER_OP_MIN, Math.floor(COMPARE_EVENTS_MAX / Math.max(1, spans.length)));
  const events: SimEvent[] = [];
  let more = false;
  for (const [ordinal, t] of spans) {
    const part = opEvents(store.readable, run.id, t.seqFirst, t.seqLast, ordinal, ordinal, share);
    events.push(...part.events);
    more ||= part.more;
  }
  events.sort((x, y) => x.seq - y.seq);
  return { events, more };
}

const TREE_ORDER = { mirror: 0, sept: 1, direct: 2 } as const;

/** Both sides' entries keyed by (tree, level, gfn), differing ones marked. */
export function pairStates(a: TableStateRange, b: TableStateRange): CompareState {
  const pairs = new Map<string, EntryPair>();
  const add = (tree: EntryPair['tree'], side: 'a' | 'b', entries: EntryState[]) => {
    for (const e of entries) {
      const key = `${tree}|${e.level}|${e.gfn}`;
      let p = pairs.get(key);
      if (p === undefined) {
        p = { tree, level: e.level, gfn: e.gfn, a: null, b: null, differs: false };
        pairs.set(key, p);
      }
      p[side] = e.value;
    }
  };
  for (const tree of ['mirror', 'sept', 'direct'] as const) {
    add(tree, 'a', a[tree]);
    add(tree, 'b', b[tree]);
  }
  const entries = [...pairs.values()];
  for (const p of entries) p.differs = p.a !== p.b;
  entries.sort((x, y) => TREE_ORDER[x.tree as keyof typeof TREE_ORDER] - TREE_ORDER[y.tree as keyof typeof TREE_ORDER] || y.level - x.level || x.gfn - y.gfn);
  return { seqA: a.seq, seqB: b.seq, entries, differing: entries.filter((p) => p.differs).length, truncated: a.truncated || b.truncated };
}

// ---------------------------------------------------------------------------------------------
// Sharing: one JSON file holding the view state and both run files (share.ts format).

interface ComparisonFile {
  format: typeof COMPARISON_FILE_FORMAT;
  version: number;
  appVersion: string;
  viewState: unknown;
  runA: string;
  runB: string;
}

function exportComparison(deps: CompareDeps, id: number): Result<{ fileName: string; text: string }> {
  const c = deps.store.getComparison(id);
  if (c === null) return err('not-found', `no comparison with id ${id}`, 'args.id');
  const a = deps.store.getRun(c.runA);
  const b = deps.store.getRun(c.runB);
  if (a === null || b === null) return err('not-found', `comparison ${id} names a run that no longer exists`, 'args.id');
  const file: ComparisonFile = {
    format: COMPARISON_FILE_FORMAT,
    version: COMPARISON_FILE_VERSION,
    appVersion: deps.appVersion,
    viewState: c.viewState,
    runA: exportRunText(deps.store.readable, c.runA, deps.appVersion),
    runB: exportRunText(deps.store.readable, c.runB, deps.appVersion),
  };
  const slug = (a.scenarioName || 'comparison').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
  return ok({ fileName: `${slug}.${a.design}-vs-${b.design}.septwb-compare.json`, text: JSON.stringify(file) });
}

class ImportRefused extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

function parseComparisonFile(text: string): ComparisonFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (thrown) {
    throw new ImportRefused('file', `not JSON: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
  if (!isRecord(value)) throw new ImportRefused('$', 'expected an object');
  if (value.format !== COMPARISON_FILE_FORMAT) throw new ImportRefused('$.format', `expected "${COMPARISON_FILE_FORMAT}" (a comparison exported by the workbench)`);
  if (value.version !== COMPARISON_FILE_VERSION) throw new ImportRefused('$.version', `version ${String(value.version)} is not supported (this app reads ${COMPARISON_FILE_VERSION})`);
  const problem = checkCompareViewState(value.viewState, '$.viewState');
  if (problem) throw new ImportRefused(problem.path, problem.message);
  if (typeof value.runA !== 'string') throw new ImportRefused('$.runA', 'expected the run file as a string');
  if (typeof value.runB !== 'string') throw new ImportRefused('$.runB', 'expected the run file as a string');
  return value as unknown as ComparisonFile;
}

/** Imports both runs and the comparison in ONE transaction: on any problem nothing is stored. */
function importComparison(deps: CompareDeps, text: string): Result<ReturnType<Store['getComparison']> & object> {
  const db = deps.store.writable;
  try {
    const file = parseComparisonFile(text);
    const savedId = db.transaction(() => {
      const a = importRunText(db, file.runA);
      if (!a.ok) throw new ImportRefused(`$.runA ${a.error.path}`, a.error.message);
      const b = importRunText(db, file.runB);
      if (!b.ok) throw new ImportRefused(`$.runB ${b.error.path}`, b.error.message);
      return deps.store.putComparison({ runA: a.runId, runB: b.runId, viewState: file.viewState });
    })();
    deps.events.emit('onComparisonsChanged', { reason: 'imported', id: savedId });
    deps.events.emit('onScenariosChanged', { reason: 'saved', id: null });
    return found(deps.store.getComparison(savedId), savedId);
  } catch (thrown) {
    if (thrown instanceof ImportRefused) return err('bad-input', thrown.message, thrown.path);
    throw thrown;
  }
}

