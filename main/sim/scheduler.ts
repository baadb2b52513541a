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
//                   made progress for `stallStepsMax` steps in a row the run is a livelock. It
//                   wakes the blocked threads too: the step may have released a lock on its way
//                   to the retry (a refault unlocks mmu_lock, then spins).
// Model code keeps to this: a step that changes state the blocked ones wait on ends in STEP.
import type { SimContext } from './sim_context.ts';
import type { SimThread } from './sim_thread.ts';
import { BLOCKED, SPIN, STEP, setStepGate, type Proc, type StepGate, type Yield } from './proc.ts';
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
  /**
   * Runs when thread `id` starts running: before its first step, and before a step that follows
   * another thread's (the engine: who is running now). A thread's steps in a row call it once.
   */
  beforeStep?: (id: number) => void;
  /** Runs right after each step of thread `id`, before the scheduler looks at how it ended (the checker). */
  afterStep?: (id: number) => void;
  /**
   * Let a thread that is alone run its Procs' sync twins (proc.ts, stretches in place). Default
   * true; false runs every step through the generators (tests compare the two).
   */
  stretchesInPlace?: boolean;
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
  /** Steps run in stretches in place (a lone thread on its Procs' sync twins; proc.ts). */
  stepsInStretches: number;
}

const STALL_STEPS_MAX_DEFAULT = 10_000;

/** A growable Int32Array for the schedule: a long run takes millions of steps. */
class ScheduleLog {
  #data = new Int32Array(1024);
  length = 0;
  push(id: number): void {
    if (this.length === this.#data.length) this.#grow(1);
    this.#data[this.length++] = id;
  }
  /** `count` steps of thread `id` in a row. */
  pushRepeated(id: number, count: number): void {
    this.#grow(count);
    this.#data.fill(id, this.length, this.length + count);
    this.length += count;
  }
  /** Doubles the array until `count` more ids fit. */
  #grow(count: number): void {
    let size = this.#data.length;
    while (this.length + count > size) size *= 2;
    if (size === this.#data.length) return;
    const grown = new Int32Array(size);
    grown.set(this.#data);
    this.#data = grown;
  }
  take(): Int32Array {
    return this.#data.slice(0, this.length);
  }
}

/** How a step ended when it ended at a point handled in place (see stepInPlace), by Yield. */
const STEP_RESULT: IteratorResult<number, unknown> = { done: false, value: STEP };
const IN_PLACE_RESULTS: readonly IteratorResult<number, unknown>[] = [STEP_RESULT, { done: false, value: BLOCKED }, { done: false, value: SPIN }];

/**
 * One run of the scheduler. The run loop resumes the chosen thread; the thread runs one step
 * and suspends at its next step point. `stepInPlace` is the same step boundary run from inside
 * the thread (proc.ts mustYieldStep): when the choice falls on the same thread again,
 * suspending and resuming its generator chain would change nothing, so it goes on in place.
 * Either way every step is counted, checked, chosen and recorded the same way, in the same
 * order, so the run, its schedule and its events are the same.
 */
class Scheduler implements StepGate {
  readonly #ctx: SimContext;
  readonly #threads: readonly SchedThread[];
  readonly #choice: ChoiceSource;
  /** #choice.repeatPickIsPure, read once. */
  readonly #repeatPickIsPure: boolean;
  readonly #stepsMax: number;
  readonly #stallStepsMax: number;
  readonly #record: boolean;
  readonly #stretchesInPlace: boolean;
  /** options.beforeStep/afterStep, read once: they run on every step. */
  readonly #beforeStep: ((id: number) => void) | undefined;
  readonly #afterStep: ((id: number) => void) | undefined;
  readonly #live: Uint8Array;
  readonly #blocked: Uint8Array;
  readonly #spins: Float64Array;
  readonly #results: unknown[];
  readonly #schedule = new ScheduleLog();
  readonly #runnable: number[] = [];
  #liveCount: number;
  #blockedCount = 0;
  /** `runnable` must be rebuilt: a thread ended, blocked, or was unblocked. */
  #runnableStale = true;
  #steps = 0;
  #stalled = 0;
  /** The thread whose step is running. */
  #current = -1;
  /** The step boundary already ran in place and chose this thread next (-1: the run is over). */
  #nextChosenInPlace: number | null = null;
  /** The step count when the current stretch in place began (-1: none). */
  #stretchStartStep = -1;
  /**
   * Steps chosen inside the current stretch and not yet in the schedule: all are the lone
   * thread's, so they go in at once when the stretch ends (a push per step was a few percent of
   * a one-vCPU run).
   */
  #stretchUnrecorded = 0;
  /** Steps run in the stretches that ended (SchedResult.stepsInStretches). */
  #stepsInStretches = 0;
  #result: SchedResult | null = null;

  constructor(ctx: SimContext, threads: readonly SchedThread[], choice: ChoiceSource, options: SchedulerOptions) {
    const count = threads.length;
    for (let i = 0; i < count; i++) assert(threads[i].thread.id === i, 'runThreads: thread ids must be 0..n-1 in order');
    this.#ctx = ctx;
    this.#threads = threads;
    this.#choice = choice;
    this.#repeatPickIsPure = choice.repeatPickIsPure === true;
    this.#stepsMax = options.stepsMax;
    this.#stallStepsMax = options.stallStepsMax ?? STALL_STEPS_MAX_DEFAULT;
    this.#record = options.recordSchedule ?? true;
    this.#stretchesInPlace = options.stretchesInPlace ?? true;
    this.#beforeStep = options.beforeStep;
    this.#afterStep = options.afterStep;
    this.#live = new Uint8Array(count).fill(1);
    this.#blocked = new Uint8Array(count);
    this.#spins = new Float64Array(count);
    this.#results = new Array(count);
    this.#liveCount = count;
  }

  run(): SchedResult {
    const outer = setStepGate(this);
    try {
      let id = this.#beginStep();
      while (id >= 0) {
        const r = this.#threads[id].proc.next();
        if (this.#nextChosenInPlace !== null) {
          id = this.#nextChosenInPlace;
          this.#nextChosenInPlace = null;
        } else {
          id = this.#endStep(id, r) ? -1 : this.#beginStep();
        }
      }
    } finally {
      setStepGate(outer);
    }
    assert(this.#result !== null, 'runThreads: ended without a result');
    return this.#result;
  }

  /** StepGate: the running thread reached a STEP point. True: suspend (yield STEP). */
  stepInPlace(): boolean {
    return this.#stepBoundaryInPlace();
  }

  /** StepGate: a sync twin's `yield how`. True: the stretch must end (the run is over). */
  yieldInPlace(how: Yield): boolean {
    if (this.#nextChosenInPlace !== null) return true;
    return how === STEP ? this.#stepBoundaryInPlace() : this.#boundaryInPlace(IN_PLACE_RESULTS[how]);
  }

  /** The boundary of a step that ended at a STEP point: the short path inside a stretch (below). */
  #stepBoundaryInPlace(): boolean {
    return this.#stretchStartStep >= 0 && !this.#runnableStale ? this.#stretchStepBoundary() : this.#boundaryInPlace(STEP_RESULT);
  }

  /**
   * #boundaryInPlace for the boundary a stretch reaches most: a STEP by the lone thread. It is
   * #endStep and #beginStep with what a stretch already settles left out: no other thread is
   * live, none is blocked (so nothing to unblock), `runnable` is just this thread (not stale),
   * and the step made progress. The choice source is asked only if it counts its answers (a
   * fixed schedule: repeatPickIsPure), and the run can still end here: a BUG(), or the step
   * budget spent.
   */
  #stretchStepBoundary(): boolean {
    const id = this.#current;
    this.#afterStep?.(id);
    this.#steps++;
    this.#stalled = 0;
    if (this.#ctx.hostBug !== null || this.#steps >= this.#stepsMax) {
      // The run ends here (#beginStep finds the budget spent): as #boundaryInPlace.
      const next = this.#runEnded() ? -1 : this.#beginStep();
      if (next === id) return false;
      this.#nextChosenInPlace = next;
      return true;
    }
    if (!this.#repeatPickIsPure) {
      const next = this.#choice.pick(this.#runnable, this.#steps);
      if (next !== id) assert(false, `runThreads: choice picked thread ${next}, which cannot run`);
    }
    if (this.#record) this.#stretchUnrecorded++;
    this.#ctx.events.step = this.#steps;
    return false;
  }

  /** StepGate: no other thread is live, so every boundary picks the running one or ends the run. */
  enterStretch(): boolean {
    if (!this.#stretchesInPlace || this.#liveCount !== 1) return false;
    this.#stretchStartStep = this.#steps;
    return true;
  }

  /** StepGate: the stretch is over; its steps are counted (once: #finish may have closed it). */
  leaveStretch(): void {
    if (this.#stretchStartStep < 0) return;
    this.#stepsInStretches += this.#steps - this.#stretchStartStep;
    this.#stretchStartStep = -1;
    this.#schedule.pushRepeated(this.#current, this.#stretchUnrecorded);
    this.#stretchUnrecorded = 0;
  }

  #boundaryInPlace(how: IteratorResult<number, unknown>): boolean {
    const id = this.#current;
    const next = this.#endStep(id, how) ? -1 : this.#beginStep();
    if (next === id) return false;
    this.#nextChosenInPlace = next;
    return true;
  }

  /** The end of thread `id`'s step, which ended as `r`. True when the run is over. */
  #endStep(id: number, r: IteratorResult<number, unknown>): boolean {
    this.#afterStep?.(id);
    this.#steps++;
    if (r.done === true) {
      this.#results[id] = r.value;
      this.#live[id] = 0;
      this.#liveCount--;
      this.#unblockAll();
      this.#runnableStale = true;
      this.#stalled = 0;
    } else if (r.value === BLOCKED) {
      this.#blocked[id] = 1;
      this.#blockedCount++;
      this.#runnableStale = true;
      this.#stalled++;
    } else if (r.value === SPIN) {
      // No progress, but the spinning step may have released what a blocked thread waits on
      // (a refault drops mmu_lock before it retries): let them look again.
      this.#spins[id]++;
      this.#stalled++;
      this.#unblockAll();
    } else {
      // Progress: every blocked thread may be able to go on now.
      this.#unblockAll();
      this.#stalled = 0;
    }
    return this.#runEnded();
  }

  /** After a step's accounting: a BUG() or the stall budget ends the run here. True when it did. */
  #runEnded(): boolean {
    const ctx = this.#ctx;
    if (ctx.hostBug !== null) return this.#finish('host-bug', `BUG() at ${ctx.hostBug.site}: ${ctx.hostBug.reason}`);
    if (this.#stalled > this.#stallStepsMax) return this.#finish('livelock', livelockReason('stallStepsMax', this.#stallStepsMax, this.#threads, this.#live, this.#spins));
    return false;
  }

  #unblockAll(): void {
    if (this.#blockedCount === 0) return;
    this.#blocked.fill(0);
    this.#blockedCount = 0;
    this.#runnableStale = true;
  }

  /** Chooses the thread for the next step and starts it; -1 when the run is over. */
  #beginStep(): number {
    const ctx = this.#ctx;
    if (this.#liveCount === 0) {
      if (ctx.vmBugged) this.#finish('vm-bugged', ctx.metrics.bugs.length > 0 ? `${ctx.metrics.bugs[0].kind} at ${ctx.metrics.bugs[0].site}` : 'vm bugged');
      else this.#finish('completed', '');
      return -1;
    }
    if (this.#steps >= this.#stepsMax) {
      this.#finish('livelock', livelockReason('stepsMax', this.#stepsMax, this.#threads, this.#live, this.#spins));
      return -1;
    }
    const runnable = this.#runnable;
    if (this.#runnableStale) {
      runnable.length = 0;
      for (let i = 0; i < this.#threads.length; i++) if (this.#live[i] === 1 && this.#blocked[i] === 0) runnable.push(i);
      this.#runnableStale = false;
    }
    if (runnable.length === 0) {
      this.#finish('deadlock', deadlockReason(this.#threads, this.#live));
      return -1;
    }
    const id = this.#choice.pick(runnable, this.#steps);
    // The message is built only on failure: this runs on every step.
    if (this.#live[id] !== 1 || this.#blocked[id] !== 0) assert(false, `runThreads: choice picked thread ${id}, which cannot run`);
    if (this.#record) {
      if (this.#stretchStartStep < 0) this.#schedule.push(id);
      else this.#stretchUnrecorded++;
    }
    ctx.events.step = this.#steps;
    if (id !== this.#current) {
      this.#current = id;
      this.#beforeStep?.(id);
    }
    return id;
  }

  #finish(outcome: SchedOutcome, reason: string): true {
    this.#ctx.metrics.steps += this.#steps;
    // A stretch the run ends inside is counted now: its thread's leaveStretch() comes too late.
    this.leaveStretch();
    this.#result = {
      outcome, reason, steps: this.#steps, schedule: this.#schedule.take(), note: this.#choice.note(), results: this.#results,
      stepsInStretches: this.#stepsInStretches,
    };
    return true;
  }
}

/** Runs `threads` until all return, or the run ends early; see the file comment. */
export function runThreads(ctx: SimContext, threads: readonly SchedThread[], choice: ChoiceSource, options: SchedulerOptions): SchedResult {
  return new Scheduler(ctx, threads, choice, options).run();
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
