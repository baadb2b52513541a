// The store: one SQLite file holding scenarios, runs, events, keyframes and view state.
//
// `Store.open` is the only way in. It opens the file in WAL mode (durability: db.ts), brings the
// schema up to date (migrations/index.ts) and, unless told otherwise, marks runs left `running`
// by a dead process as `interrupted`. Callers never see SQL: every method is a typed function.
// Query functions take a ReadableDB (`store.readable`); writers take `store.writable`.
import type { ComparisonRecord, RunRecord, RunSummary, ScenarioRecord, ScenarioSummary } from '../../shared/store_types.ts';
import { openDatabase, type ReadableDB, type WritableDB } from './db.ts';
import { DBVersionFromFutureError, updateSchema } from './migrations/index.ts';
import * as runs from './runs.ts';
import * as scenarios from './scenarios.ts';

export { DBVersionFromFutureError };

export interface StoreOpenOptions {
  /**
   * Mark runs still `running` as `interrupted` (default true). The process that owns the file
   * opens it first with this on; a recording worker that opens its own connection while other
   * runs may be live passes false.
   */
  recoverInterrupted?: boolean;
}

export class Store {
  readonly file: string;
  readonly writable: WritableDB;
  /** Runs found `running` at open and marked `interrupted`. */
  readonly interruptedAtOpen: number[];

  private constructor(file: string, db: WritableDB, interrupted: number[]) {
    this.file = file;
    this.writable = db;
    this.interruptedAtOpen = interrupted;
  }

  get readable(): ReadableDB {
    return this.writable;
  }

  /** Opens (creating if needed) and migrates; throws DBVersionFromFutureError for a newer file. */
  static open(file: string, options: StoreOpenOptions = {}): Store {
    const db = openDatabase(file);
    try {
      updateSchema(db, file);
      const interrupted = options.recoverInterrupted === false ? [] : runs.markRunningInterrupted(db);
      return new Store(file, db, interrupted);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  close(): void {
    this.writable.close();
  }

  listScenarios(): ScenarioSummary[] {
    return scenarios.listScenarios(this.readable);
  }

  getScenario(id: number): ScenarioRecord | null {
    return scenarios.getScenario(this.readable, id);
  }

  putScenario(s: scenarios.ScenarioInput): number {
    return scenarios.putScenario(this.writable, s);
  }

  deleteScenario(id: number): void {
    scenarios.deleteScenario(this.writable, id);
  }

  listRuns(scenarioId?: number): RunSummary[] {
    return runs.listRuns(this.readable, scenarioId);
  }

  getRun(runId: number): RunRecord | null {
    return runs.getRun(this.readable, runId);
  }

  deleteRun(runId: number): void {
    runs.deleteRun(this.writable, runId);
  }

  markRunInterrupted(runId: number): void {
    runs.markRunInterrupted(this.writable, runId);
  }

  getViewState(runId: number): unknown {
    return runs.getViewState(this.readable, runId);
  }

  putViewState(runId: number, state: unknown): void {
    runs.putViewState(this.writable, runId, state);
  }

  listComparisons(): ComparisonRecord[] {
    return runs.listComparisons(this.readable);
  }

  getComparison(id: number): ComparisonRecord | null {
    return runs.getComparison(this.readable, id);
  }

  putComparison(c: { id?: number; runA: number; runB: number; viewState: unknown }): number {
    return runs.putComparison(this.writable, c);
  }

  deleteComparison(id: number): void {
    runs.deleteComparison(this.writable, id);
  }
}
