// Run rows, their view state, and compare-view state. Recording lives in recorder.ts.
import type { ComparisonRecord, RunOutcome, RunRecord, RunStatus, RunSummary, RunTimings } from '../../shared/store_types.ts';
import { RUN_KEY_SPAN, eventKey, nowIso, prepared, type ReadableDB, type WritableDB } from './db.ts';

interface RunRow {
  id: number;
  scenario_id: number | null;
  scenario_name: string;
  design: string;
  seed: number;
  status: RunStatus;
  outcome_json: string | null;
  event_hash: string;
  content_hash: string;
  event_count: number;
  started_at: string;
  finished_at: string | null;
}

interface RunFullRow extends RunRow {
  scenario_json: string;
  schedule_json: string | null;
  app_version: string;
  thread_names_json: string;
  metrics_json: string | null;
  timings_json: string;
}

const SUMMARY_COLUMNS = 'id, scenario_id, scenario_name, design, seed, status, outcome_json, event_hash, content_hash, event_count, started_at, finished_at';

function toSummary(r: RunRow): RunSummary {
  return {
    id: r.id,
    scenarioId: r.scenario_id,
    scenarioName: r.scenario_name,
    design: r.design,
    seed: r.seed,
    status: r.status,
    outcome: r.outcome_json === null ? null : (JSON.parse(r.outcome_json) as RunOutcome),
    eventHash: r.event_hash,
    contentHash: r.content_hash,
    eventCount: r.event_count,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** Runs, newest first; of one scenario when scenarioId is given. */
export function listRuns(db: ReadableDB, scenarioId?: number): RunSummary[] {
  const rows =
    scenarioId === undefined
      ? (prepared(db, `SELECT ${SUMMARY_COLUMNS} FROM runs ORDER BY id DESC`).all() as RunRow[])
      : (prepared(db, `SELECT ${SUMMARY_COLUMNS} FROM runs WHERE scenario_id = ? ORDER BY id DESC`).all(scenarioId) as RunRow[]);
  return rows.map(toSummary);
}

export function getRun(db: ReadableDB, runId: number): RunRecord | null {
  const r = prepared(db, `SELECT ${SUMMARY_COLUMNS}, scenario_json, schedule_json, app_version, thread_names_json, metrics_json, timings_json FROM runs WHERE id = ?`).get(runId) as
    | RunFullRow
    | undefined;
  if (r === undefined) return null;
  return {
    ...toSummary(r),
    scenarioJson: r.scenario_json,
    schedule: r.schedule_json === null ? null : (JSON.parse(r.schedule_json) as number[]),
    appVersion: r.app_version,
    threadNames: JSON.parse(r.thread_names_json) as string[],
    metrics: r.metrics_json === null ? null : (JSON.parse(r.metrics_json) as unknown),
    timings: JSON.parse(r.timings_json) as RunTimings,
  };
}

/** The run's interned strings, index = id. */
export function getRunStrings(db: ReadableDB, runId: number): string[] {
  const rows = prepared(db, 'SELECT id, text FROM run_strings WHERE run_id = ? ORDER BY id').raw(true).all(runId) as [number, string][];
  const out: string[] = new Array(rows.length);
  for (const [id, text] of rows) out[id] = text;
  return out;
}

/** Deletes a run with its events, strings, bins, keyframes and view state, in one transaction. */
export function deleteRun(db: WritableDB, runId: number): void {
  db.transaction(() => {
    prepared(db, 'DELETE FROM events WHERE key >= ? AND key < ?').run(eventKey(runId, 0), eventKey(runId, 0) + RUN_KEY_SPAN);
    prepared(db, 'DELETE FROM runs WHERE id = ?').run(runId);
  })();
}

/**
 * Marks every `running` run `interrupted`: called at open by the process that owns the file,
 * because a run still `running` then has no live recorder (its process died). Returns the ids.
 */
export function markRunningInterrupted(db: WritableDB): number[] {
  const ids = (prepared(db, "SELECT id FROM runs WHERE status = 'running'").all() as { id: number }[]).map((r) => r.id);
  if (ids.length > 0) prepared(db, "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'").run(nowIso());
  return ids;
}

/** Marks one run `interrupted` (its worker died while this process lives on). */
export function markRunInterrupted(db: WritableDB, runId: number): void {
  prepared(db, "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ? AND status = 'running'").run(nowIso(), runId);
}

/** View state is opaque JSON owned by the renderer (annotations, cursor, pinned lanes...). */
export function getViewState(db: ReadableDB, runId: number): unknown {
  const r = prepared(db, 'SELECT json FROM view_state WHERE run_id = ?').get(runId) as { json: string } | undefined;
  return r === undefined ? null : (JSON.parse(r.json) as unknown);
}

export function putViewState(db: WritableDB, runId: number, state: unknown): void {
  prepared(db, 'INSERT INTO view_state (run_id, json, updated_at) VALUES (?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at').run(
    runId,
    JSON.stringify(state),
    nowIso(),
  );
}

interface ComparisonRow {
  id: number;
  run_a: number;
  run_b: number;
  view_state_json: string;
  created_at: string;
  updated_at: string;
}

function toComparison(r: ComparisonRow): ComparisonRecord {
  return { id: r.id, runA: r.run_a, runB: r.run_b, viewState: JSON.parse(r.view_state_json) as unknown, createdAt: r.created_at, updatedAt: r.updated_at };
}

export function listComparisons(db: ReadableDB): ComparisonRecord[] {
  return (prepared(db, 'SELECT * FROM comparisons ORDER BY id DESC').all() as ComparisonRow[]).map(toComparison);
}

export function getComparison(db: ReadableDB, id: number): ComparisonRecord | null {
  const r = prepared(db, 'SELECT * FROM comparisons WHERE id = ?').get(id) as ComparisonRow | undefined;
  return r === undefined ? null : toComparison(r);
}

/** Inserts (no id) or updates a comparison; returns its id. */
export function putComparison(db: WritableDB, c: { id?: number; runA: number; runB: number; viewState: unknown }): number {
  const now = nowIso();
  const json = JSON.stringify(c.viewState);
  if (c.id === undefined) {
    const info = prepared(db, 'INSERT INTO comparisons (run_a, run_b, view_state_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(c.runA, c.runB, json, now, now);
    return Number(info.lastInsertRowid);
  }
  prepared(db, 'UPDATE comparisons SET run_a = ?, run_b = ?, view_state_json = ?, updated_at = ? WHERE id = ?').run(c.runA, c.runB, json, now, c.id);
  return c.id;
}

export function deleteComparison(db: WritableDB, id: number): void {
  prepared(db, 'DELETE FROM comparisons WHERE id = ?').run(id);
}
