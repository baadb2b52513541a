// The Jobs area of the api: running a scenario under one or more designs and recording the runs
// (PRODUCT.md section 4, "Run it"). A run can take seconds to minutes, so startRun returns at
// once with a job id; progress and the new run ids arrive as onRunProgress events, and
// cancelRun stops the job (the run being recorded is kept, marked `cancelled`).
import { DESIGN_IDS, type DesignId } from '../scenario.ts';
import type { ApiMethod, EventDescriptor, MethodDescriptor } from './contract.ts';
import { args, arrayOf, int, oneOf, optional, str } from './validate.ts';

export interface StartRunArgs {
  /** A stored scenario... */
  scenarioId?: number;
  /** ...or scenario text (the editor's unsaved buffer). Exactly one of the two. */
  json?: string;
  /** Defaults to the scenario's own list. */
  designs?: DesignId[];
  /** Defaults to the scenario's seed. */
  seed?: number;
  /** Overrides the scenario's schedule: a seeded PRNG or round-robin. Absent: the scenario's own. */
  schedule?: RunSchedule;
}

/** Schedules a run can be started with; an explicit interleaving lives in the scenario JSON. */
export const RUN_SCHEDULES = ['seeded', 'round-robin'] as const;
export type RunSchedule = (typeof RUN_SCHEDULES)[number];

export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

export interface RunProgress {
  jobId: number;
  state: JobState;
  /** The design being run now (or last run), its index and the number of designs. */
  design: DesignId;
  designIndex: number;
  designCount: number;
  /** Events recorded so far in the current design's run. */
  events: number;
  /** Events per second over the current design's run so far. */
  eventsPerSecond: number;
  /** Runs finished (recorded) so far, in design order. */
  runIds: number[];
  /** Why it failed, for state 'failed'. */
  message: string;
}

export interface JobsApi {
  /** Validates the scenario, then runs it in a worker; `bad-input` names the JSON path at fault. */
  startRun: ApiMethod<StartRunArgs, { jobId: number }>;
  /** Stops a running job; `not-found` if it is unknown or already over. */
  cancelRun: ApiMethod<{ jobId: number }, { cancelled: true }>;
}

export interface JobsEvents {
  onRunProgress: RunProgress;
}

export const JSON_LENGTH_MAX = 8 * 1024 * 1024;

export const jobsMethods = {
  startRun: args({
    scenarioId: optional(int(1, Number.MAX_SAFE_INTEGER)),
    json: optional(str({ lengthMin: 2, lengthMax: JSON_LENGTH_MAX })),
    designs: optional(arrayOf(oneOf(DESIGN_IDS), DESIGN_IDS.length)),
    seed: optional(int(0, 0xffffffff)),
    schedule: optional(oneOf(RUN_SCHEDULES)),
  }),
  cancelRun: args({ jobId: int(1, Number.MAX_SAFE_INTEGER) }),
} satisfies MethodDescriptor<JobsApi>;

export const jobsEvents = {
  onRunProgress: true,
} satisfies EventDescriptor<JobsEvents>;
