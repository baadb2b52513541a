// Runs a scenario under one design and records it: the engine streams its event chunks straight
// into the store's Recorder, one transaction per chunk, so memory stays bounded however long the
// run and a killed process keeps every chunk already written. Used in the run worker (the
// window's jobs) and in-process by the CLI's `run`/`compare`.
import type { DesignId, Scenario } from '../../shared/scenario.ts';
import type { EventChunk } from '../../shared/event.ts';
import { runScenario, type RunResult } from '../sim/engine.ts';
import { Recorder } from '../store/recorder.ts';
import type { Store } from '../store/store.ts';

export interface RecordRunInput {
  scenario: Scenario;
  /** The scenario text as run (snapshot stored with the run). */
  scenarioJson: string;
  scenarioId: number | null;
  design: DesignId;
  seed: number;
  /** Overrides the scenario's schedule (a seeded PRNG or round-robin). */
  schedule?: 'seeded' | 'round-robin';
  appVersion: string;
  /** Called after each chunk is stored, with the events recorded so far. */
  onProgress?: (events: number) => void;
  /** Polled after each chunk: true stops the run, which is kept and marked `cancelled`. */
  isCancelled?: () => boolean;
}

export interface RecordedRun {
  runId: number;
  result: RunResult | null;
  cancelled: boolean;
}

/** Thrown out of the engine's chunk callback to stop a cancelled run; caught below. */
class RunCancelled extends Error {}

/** Events per chunk: big enough to amortise a transaction, small enough for smooth progress. */
export const RECORD_CHUNK_EVENTS = 16384;

export function recordRun(store: Store, input: RecordRunInput): RecordedRun {
  const recorder = new Recorder(store.writable);
  const threadNames = threadNamesOf(input.scenario);
  const runId = recorder.beginRun({
    scenarioId: input.scenarioId,
    scenarioJson: input.scenarioJson,
    design: input.design,
    seed: input.seed,
    schedule: null,
    appVersion: input.appVersion,
    threadNames,
  });
  let recorded = 0;
  const onChunk = (chunk: EventChunk): void => {
    recorder.writeChunk(chunk);
    recorded += chunk.count;
    input.onProgress?.(recorded);
    if (input.isCancelled?.() === true) throw new RunCancelled('cancelled');
  };
  const started = performance.now();
  try {
    const result = runScenario(input.scenario, { design: input.design, seed: input.seed, schedule: input.schedule, chunkSize: RECORD_CHUNK_EVENTS, onChunk });
    recorder.finishRun(runId, { status: 'completed', outcome: result.outcome, metrics: result.metrics, hash: result.hash, timings: { simMs: performance.now() - started } });
    recorder.checkpoint();
    return { runId, result, cancelled: false };
  } catch (thrown) {
    if (!(thrown instanceof RunCancelled)) throw thrown;
    recorder.finishRun(runId, { status: 'cancelled', outcome: null, metrics: null, hash: '' });
    recorder.checkpoint();
    return { runId, result: null, cancelled: true };
  }
}

/** Thread names as the engine numbers them: order of first appearance across phases. */
export function threadNamesOf(scenario: Scenario): string[] {
  const names: string[] = [];
  for (const phase of scenario.phases) for (const name of Object.keys(phase.threads)) if (!names.includes(name)) names.push(name);
  return names;
}
