// The Jobs area (shared/api/jobs.ts): startRun validates the scenario and starts a worker thread
// (run_worker.ts) that runs and records each design; progress and the new run ids reach the
// window as onRunProgress events. cancelRun sets the job's shared flag.
import { Worker } from 'node:worker_threads';
import { err, ok, type Result } from '../../shared/api/contract.ts';
import type { JobsApi, JobState, RunProgress, StartRunArgs } from '../../shared/api/jobs.ts';
import type { DesignId } from '../../shared/scenario.ts';
import { parseScenarioText } from '../../shared/scenario_validate.ts';
import type { ServiceDeps } from './service.ts';
import type { RunWorkerInput, RunWorkerMessage } from './run_worker.ts';

interface Job {
  designs: DesignId[];
  progress: RunProgress;
  cancel: Int32Array;
  worker: Worker;
}

/** The worker's entry: the TypeScript source through tsx, or the built file beside this bundle. */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./run_worker_boot.mjs', import.meta.url) : new URL('./run_worker.js', import.meta.url);
}

export function createJobsService(deps: ServiceDeps): JobsApi {
  const jobs = new Map<number, Job>();
  let nextJobId = 1;

  const emit = (job: Job, patch: Partial<RunProgress>): void => {
    Object.assign(job.progress, patch);
    deps.events.emit('onRunProgress', { ...job.progress, runIds: [...job.progress.runIds] });
  };

  const end = (jobId: number, job: Job, state: JobState, message = ''): void => {
    if (!jobs.has(jobId)) return;
    jobs.delete(jobId);
    emit(job, { state, message });
  };

  const onMessage = (jobId: number, job: Job, m: RunWorkerMessage): void => {
    switch (m.kind) {
      case 'progress':
        emit(job, { designIndex: m.designIndex, design: job.designs[m.designIndex], events: m.events, eventsPerSecond: m.elapsedMs > 0 ? Math.round((m.events / m.elapsedMs) * 1000) : 0 });
        return;
      case 'run-done':
        job.progress.runIds.push(m.runId);
        emit(job, { designIndex: m.designIndex, design: job.designs[m.designIndex] });
        if (m.cancelled) end(jobId, job, 'cancelled');
        return;
      case 'failed':
        end(jobId, job, 'failed', m.message);
        return;
      case 'finished':
        end(jobId, job, Atomics.load(job.cancel, 0) === 1 ? 'cancelled' : 'done');
        return;
    }
  };

  return {
    async startRun(a: StartRunArgs): Promise<Result<{ jobId: number }>> {
      const source = scenarioSource(deps, a);
      if (!source.ok) return source.result;
      const parsed = parseScenarioText(source.json);
      if (!parsed.ok) {
        const first = parsed.errors[0];
        return err('bad-input', parsed.errors.slice(0, 20).map((e) => `${e.path}: ${e.problem}`).join('\n'), first?.path);
      }
      const designs = (a.designs ?? parsed.scenario.designs) as DesignId[];
      if (designs.length === 0) return err('bad-input', 'no design to run', 'args.designs');
      const jobId = nextJobId++;
      const cancelFlag = new SharedArrayBuffer(4);
      const input: RunWorkerInput = { dbFile: deps.dbFile, scenarioJson: source.json, scenarioId: source.scenarioId, designs, seed: a.seed ?? parsed.scenario.seed, schedule: a.schedule ?? null, appVersion: deps.appVersion, cancelFlag };
      const worker = new Worker(workerUrl(), { workerData: input });
      const job: Job = {
        designs,
        progress: { jobId, state: 'running', design: designs[0], designIndex: 0, designCount: designs.length, events: 0, eventsPerSecond: 0, runIds: [], message: '' },
        cancel: new Int32Array(cancelFlag),
        worker,
      };
      jobs.set(jobId, job);
      worker.on('message', (m: RunWorkerMessage) => onMessage(jobId, job, m));
      worker.on('error', (e) => end(jobId, job, 'failed', e.message));
      worker.on('exit', (code) => {
        if (code !== 0) end(jobId, job, 'failed', `run worker exited with code ${code}`);
      });
      emit(job, {});
      return ok({ jobId });
    },

    async cancelRun(a) {
      const job = jobs.get(a.jobId);
      if (job === undefined) return err('not-found', `no running job ${a.jobId}`, 'args.jobId');
      Atomics.store(job.cancel, 0, 1);
      return ok({ cancelled: true as const });
    },
  };
}

type Source = { ok: true; json: string; scenarioId: number | null } | { ok: false; result: Result<never> };

/** The scenario text to run: the stored scenario, or the given text (exactly one of them). */
function scenarioSource(deps: ServiceDeps, a: StartRunArgs): Source {
  if ((a.scenarioId === undefined) === (a.json === undefined)) {
    return { ok: false, result: err('bad-input', 'give exactly one of scenarioId and json', 'args') };
  }
  if (a.json !== undefined) return { ok: true, json: a.json, scenarioId: null };
  const rec = deps.store.getScenario(a.scenarioId as number);
  if (rec === null) return { ok: false, result: err('not-found', `no scenario ${a.scenarioId}`, 'args.scenarioId') };
  return { ok: true, json: rec.json, scenarioId: rec.id };
}
