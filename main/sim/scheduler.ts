// The deterministic scheduler: runs a set of simulated threads (Procs) to completion, one step
// at a time, the next thread chosen by a ChoiceSource. Same threads + same choices = the same
// interleaving, and the schedule it returns replays it exactly (FixedScheduleChoice).
//
// A step is the code between two yields of one thread (proc.ts). How a step ended says whether
// the thread made progress:
//   STEP or return  progress: shared state may have changed, so every blocked thread becomes a
//                   candidate again;
//   BLOCKED         the thread waits for another (a lock); it is not a candidate until some
//                   thread makes progress. No candidate left while threads live = deadlock;
//   SPIN            a failed retry (a frozen SPTE, a lost cmpxchg): allowed, but when no thread
//                   made progress for `stallStepsMax` steps in a row the run is a livelock.
// Model code keeps to this: a step that changes state the blocked ones wait on ends in STEP.
import type { SimContext } from './sim_context.ts';
import type { SimThread } from './sim_thread.ts';
import { BLOCKED, SPIN, type Proc } from './proc.ts';
import type { ChoiceSource } from './choice_source.ts';
import { assert } from './checks.ts';

export interface SchedThread {
  thread: SimThread;
  proc: Proc<unknown>;
}

export interface SchedulerOptions {
  /** Total step budget; spending it is `livelock` ("stepsMax spent"). */
  stepsMax: number;
  /** Consecutive steps without progress by any thread before `livelock`. Default 10,000. */
  stallStepsMax?: number;
  /** Record the schedule taken (one thread id per step). Default true. */
  recordSchedule?: boolean;
}

export type SchedOutcome = 'completed' | 'vm-bugged' | 'host-bug' | 'livelock' | 'deadlock';

export interface SchedResult {
  outcome: SchedOutcome;
  /** Why the run ended that way ('' when completed). */
  reason: string;
  steps: number;
  /** The thread id of every step, in order: replay with FixedScheduleChoice. */
  schedule: Int32Array;
  /** The choice source's note (e.g. a fixed schedule ran out). */
  note: string;
  /** Each thread's return value, by position in the input list (undefined if it never ended). */
  results: unknown[];
}

const STALL_STEPS_MAX_DEFAULT = 10_000;

/** A growable Int32Array for the schedule: a long run takes millions of steps. */
class ScheduleLog {
  #data = new Int32Array(1024);
  length = 0;
  push(id: number): void {
    if (this.length === this.#data.length) {
      const grown = new Int32Array(this.#data.length * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#data[this.length++] = id;
  }
  take(): Int32Array {
    return this.#data.slice(0, this.length);
  }
}

/** Runs `threads` until all return, or the run ends early; see the file comment. */
export function runThreads(ctx: SimContext, threads: readonly SchedThread[], choice: ChoiceSource, options: SchedulerOptions): SchedResult {
  const count = threads.length;
  for (let i = 0; i < count; i++) assert(threads[i].thread.id === i, 'runThreads: thread ids must be 0..n-1 in order');
  const stallStepsMax = options.stallStepsMax ?? STALL_STEPS_MAX_DEFAULT;
  const record = options.recordSchedule ?? true;
  const live = new Uint8Array(count).fill(1);
  const blocked = new Uint8Array(count);
  const spins = new Float64Array(count);
  const results: unknown[] = new Array(count);
  const schedule = new ScheduleLog();
  const runnable: number[] = [];
  let liveCount = count;
  let blockedCount = 0;
  /** `runnable` must be rebuilt: a thread ended, blocked, or was unblocked. */
  let runnableStale = true;
  let steps = 0;
  let stalled = 0;
  const finish = (outcome: SchedOutcome, reason: string): SchedResult => {
    ctx.metrics.steps += steps;
    return { outcome, reason, steps, schedule: schedule.take(), note: choice.note(), results };
  };
  while (liveCount > 0) {
    if (steps >= options.stepsMax) return finish('livelock', livelockReason('stepsMax', options.stepsMax, threads, live, spins));
    if (runnableStale) {
      runnable.length = 0;
      for (let i = 0; i < count; i++) if (live[i] === 1 && blocked[i] === 0) runnable.push(i);
      runnableStale = false;
    }
    if (runnable.length === 0) return finish('deadlock', deadlockReason(threads, live));
    const id = choice.pick(runnable, steps);
    assert(live[id] === 1 && blocked[id] === 0, `runThreads: choice picked thread ${id}, which cannot run`);
    if (record) schedule.push(id);
    ctx.events.step = steps;
    const r = threads[id].proc.next();
    steps++;
    if (r.done === true) {
      results[id] = r.value;
      live[id] = 0;
      liveCount--;
      if (blockedCount > 0) blocked.fill(0);
      blockedCount = 0;
      runnableStale = true;
      stalled = 0;
    } else if (r.value === BLOCKED) {
      blocked[id] = 1;
      blockedCount++;
      runnableStale = true;
      stalled++;
    } else if (r.value === SPIN) {
      spins[id]++;
      stalled++;
    } else {
      // Progress: every blocked thread may be able to go on now.
      if (blockedCount > 0) {
        blocked.fill(0);
        blockedCount = 0;
        runnableStale = true;
      }
      stalled = 0;
    }
    if (ctx.hostBug !== null) return finish('host-bug', `BUG() at ${ctx.hostBug.site}: ${ctx.hostBug.reason}`);
    if (stalled > stallStepsMax) return finish('livelock', livelockReason('stallStepsMax', stallStepsMax, threads, live, spins));
  }
  if (ctx.vmBugged) return finish('vm-bugged', ctx.metrics.bugs.length > 0 ? `${ctx.metrics.bugs[0].kind} at ${ctx.metrics.bugs[0].site}` : 'vm bugged');
  return finish('completed', '');
}

function livelockReason(budget: string, value: number, threads: readonly SchedThread[], live: Uint8Array, spins: Float64Array): string {
  const parts: string[] = [];
  for (let i = 0; i < threads.length; i++) {
    if (live[i] === 1) parts.push(`${threads[i].thread.name} (${spins[i]} spins)`);
  }
  const what = budget === 'stepsMax' ? `stepsMax ${value} spent` : `no thread made progress for ${value} steps`;
  return `${what}; still running: ${parts.join(', ')}`;
}

function deadlockReason(threads: readonly SchedThread[], live: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < threads.length; i++) {
    if (live[i] === 1) parts.push(`${threads[i].thread.name} (mmu_lock mode ${threads[i].thread.mmuLock}, rcu depth ${threads[i].thread.rcuDepth})`);
  }
  return `every live thread is blocked: ${parts.join(', ')}`;
}
