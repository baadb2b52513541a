// The run worker: one worker thread per job, so a long simulation never blocks the thread that
// serves the window or browser mode. It opens its own connection to the database (WAL lets the
// serving thread read while it writes), runs each design in turn through recordRun(), and posts
// progress. Cancellation arrives through a shared flag the recorder polls after each chunk
// (the engine is synchronous: a message would not be read until the run ends).
import { parentPort, workerData } from 'node:worker_threads';
import type { DesignId } from '../../shared/scenario.ts';
import type { RunSchedule } from '../../shared/api/jobs.ts';
import { parseScenarioText } from '../../shared/scenario_validate.ts';
import { Store } from '../store/store.ts';
import { recordRun } from './run_record.ts';

export interface RunWorkerInput {
  dbFile: string;
  scenarioJson: string;
  scenarioId: number | null;
  designs: DesignId[];
  seed: number;
  /** Overrides the scenario's schedule; null keeps it. */
  schedule: RunSchedule | null;
  appVersion: string;
  /** Int32Array over it: [0] = 1 once the job is cancelled. */
  cancelFlag: SharedArrayBuffer;
}

export type RunWorkerMessage =
  | { kind: 'progress'; designIndex: number; events: number; elapsedMs: number }
  | { kind: 'run-done'; designIndex: number; runId: number; cancelled: boolean }
  | { kind: 'failed'; message: string }
  | { kind: 'finished' };

function post(message: RunWorkerMessage): void {
  parentPort?.postMessage(message);
}

function main(input: RunWorkerInput): void {
  const parsed = parseScenarioText(input.scenarioJson);
  if (!parsed.ok) {
    post({ kind: 'failed', message: parsed.errors.map((e) => `${e.path}: ${e.problem}`).join('; ') });
    return;
  }
  const cancel = new Int32Array(input.cancelFlag);
  const store = Store.open(input.dbFile, { recoverInterrupted: false });
  try {
    for (let i = 0; i < input.designs.length; i++) {
      if (Atomics.load(cancel, 0) === 1) break;
      const started = performance.now();
      let lastPost = 0;
      const rec = recordRun(store, {
        scenario: parsed.scenario,
        scenarioJson: input.scenarioJson,
        scenarioId: input.scenarioId,
        design: input.designs[i],
        seed: input.seed,
        schedule: input.schedule ?? undefined,
        appVersion: input.appVersion,
        onProgress: (events) => {
          const now = performance.now();
          if (now - lastPost < 50) return;
          lastPost = now;
          post({ kind: 'progress', designIndex: i, events, elapsedMs: now - started });
        },
        isCancelled: () => Atomics.load(cancel, 0) === 1,
      });
      post({ kind: 'run-done', designIndex: i, runId: rec.runId, cancelled: rec.cancelled });
      if (rec.cancelled) break;
    }
    post({ kind: 'finished' });
  } catch (thrown) {
    post({ kind: 'failed', message: thrown instanceof Error ? thrown.message : String(thrown) });
  } finally {
    store.close();
  }
}

if (parentPort !== null) main(workerData as RunWorkerInput);
