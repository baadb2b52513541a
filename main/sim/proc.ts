// Simulated threads are generators. Every `yield` is a step point: a place where the scheduler
// may switch to another thread, because the real kernel could be interrupted or raced there
// (an SPTE read, a cmpxchg, a lock, a SEAMCALL, an RCU grace period). Code between two yields
// runs atomically with respect to other simulated threads.

import { EventString, type EventText } from './event_sink.ts';

/** Yielded after doing one atomic step; the thread stays runnable. */
export const STEP = 0;
/**
 * Yielded when the thread cannot proceed until another thread acts (a lock it waits for). The
 * scheduler counts it toward deadlock detection; the thread retries its condition when resumed.
 */
export const BLOCKED = 1;
/** Yielded by a spin-wait (e.g. on a frozen SPTE): it counts toward the livelock budget. */
export const SPIN = 2;
export type Yield = typeof STEP | typeof BLOCKED | typeof SPIN;

/** A simulated computation that yields at step points and returns T. */
export type Proc<T = void> = Generator<Yield, T, void>;

/**
 * The running scheduler, seen from inside the thread it is running: `stepInPlace` runs the
 * boundary of the step that just ended (checker, accounting, the next choice) and returns true
 * when the thread must really suspend, false when the next step is this thread's own.
 */
export interface StepGate {
  stepInPlace(): boolean;
  /**
   * The same for a step that ended as `how` (a `yield` in a stretch in place). True when the
   * thread must suspend: also when the boundary already ran and chose so (mustYieldStep).
   */
  yieldInPlace(how: Yield): boolean;
  /**
   * True when the running thread may begin a stretch in place: it is the only live one, so
   * nothing but it can run until it ends. The stretch then ends with leaveStretch().
   */
  enterStretch(): boolean;
  /** The stretch enterStretch() allowed is over (returned, or the run ended inside it). */
  leaveStretch(): void;
}

/** The gate of the scheduler running now; null while a Proc is driven by hand (tests). */
let stepGate: StepGate | null = null;

/** Installs the running scheduler's gate and returns the one it replaces (restore it after). */
export function setStepGate(gate: StepGate | null): StepGate | null {
  const outer = stepGate;
  stepGate = gate;
  return outer;
}

/**
 * A STEP point, written `if (mustYieldStep()) yield STEP;`. The step boundary always happens
 * (the scheduler counts, checks and chooses exactly as if the thread had yielded); the
 * generator suspends only when another thread runs next or the run ends. A deep chain of
 * `yield*` costs a resume per level, so not suspending for nothing is most of the engine's
 * speed on a single runnable thread. Without a scheduler (a Proc driven by hand) it always
 * yields.
 */
export function mustYieldStep(): boolean {
  return stepGate === null || stepGate.stepInPlace();
}

/**
 * A Proc that returns `value` without a step: lets a dispatcher that is a plain function (it
 * returns the Proc of the path it chose, one generator level fewer on the hot path) return an
 * early error as a Proc too.
 */
export function* returnNow<T>(value: T): Proc<T> {
  return value;
}

/** The result of a Proc that is over; frozen, as DONE hands the same one to every caller. */
const DONE_RESULT: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });

/**
 * A Proc<void> that is already over, with no state: one object serves every caller, so a
 * dispatcher whose chosen path has no step point (it did its work before returning) costs no
 * generator. `yield* DONE` returns at once.
 */
export const DONE: Proc<void> = {
  next: () => DONE_RESULT,
  return: () => DONE_RESULT,
  throw: (e: unknown) => {
    throw e;
  },
  [Symbol.iterator]() {
    return this;
  },
} as Proc<void>;

// Stretches in place. While a thread is the only live one, every step boundary chooses it again
// (or ends the run), so its generator chain never has to suspend. It then runs the sync twins of
// its Procs instead: plain functions that scripts/sync_twins.mjs generates at build time from
// the same source, each `yield*` a call and each `yield` the step boundary run in place
// (yieldSync). The run, its schedule and its events are the same either way (a test compares
// every built-in scenario run both ways); only the generator objects and resumes are gone. When
// the run ends at a boundary inside a stretch, RUN_OVER unwinds the plain call stack to the
// stretch's entry, which suspends the thread for good as a generator would have been.

/** A Proc function with its twin: `f.sync(...args)` does what `yield* f(...args)` does, in place. */
export interface SyncTwinned<A extends unknown[], T> {
  (...args: A): Proc<T>;
  sync?: (...args: A) => T;
}

/** Thrown by a stretch in place when the run ended at one of its step boundaries; never escapes the stretch. */
export const RUN_OVER: unique symbol = Symbol('RUN_OVER');

/** A `yield how` in a twin: the step boundary, in place. */
export function yieldSync(how: Yield): void {
  if (stepGate === null || stepGate.yieldInPlace(how)) throw RUN_OVER;
}

/** `yield* proc` in a twin, for a Proc that has no twin (a class method, a Proc value): resumes it here. */
export function driveSync<T>(proc: Proc<T>): T {
  for (;;) {
    const r = proc.next();
    if (r.done === true) return r.value;
    yieldSync(r.value);
  }
}

/** Gives `fn` (a hook arrow that returns a Proc) its generated twin. */
export function withSyncTwin<A extends unknown[], T>(fn: (...args: A) => Proc<T>, twin: (...args: A) => T): SyncTwinned<A, T> {
  (fn as SyncTwinned<A, T>).sync = twin;
  return fn;
}

/**
 * `yield* fn(...args)`, as a stretch in place when the running thread is alone and fn has a
 * twin (the build generated them; under a loader that does not, this is plain `yield*`). The
 * engine puts it around each operation. A thread is alone only in a one-thread run: phase
 * barriers keep every thread of a run live until all have finished their last phase.
 * @noSyncTwin it is where a stretch begins, never part of one.
 */
export function* inPlaceWhenAlone<A extends unknown[], T>(fn: SyncTwinned<A, T>, ...args: A): Proc<T> {
  const sync = fn.sync;
  const gate = stepGate;
  if (sync === undefined || gate === null || !gate.enterStretch()) return yield* fn(...args);
  try {
    const value = sync(...args);
    gate.leaveStretch();
    return value;
  } catch (e) {
    if (e !== RUN_OVER) throw e;
  }
  gate.leaveStretch();
  // The run ended inside the stretch and the scheduler already knows: it never resumes us.
  yield STEP;
  throw new Error('inPlaceWhenAlone: a thread resumed after its run ended');
}

/** Written by hand, as it has no generated twin: inside a stretch already, it is the plain call. */
inPlaceWhenAlone.sync = function inPlaceWhenAloneInStretch<A extends unknown[], T>(fn: SyncTwinned<A, T>, ...args: A): T {
  return fn.sync !== undefined ? fn.sync(...args) : driveSync(fn(...args));
};

/** errno_name(0) made once: the status of nearly every hook and setter span. */
const ERRNO_OK_TEXT = new EventString('0');

/** errno_name for an event's status, 0 without a string look-up. */
export function errno_text(r: number): EventText {
  return r === 0 ? ERRNO_OK_TEXT : errno_name(r);
}

/** errno values the kernel functions return (negated, as in the kernel). */
export const EBUSY = 16;
export const EIO = 5;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EINVAL = 22;
export const EOPNOTSUPP = 95;

/** Names a kernel return value for events: 0, -EBUSY, -EIO... */
export function errno_name(r: number): string {
  switch (r) {
    case 0:
      return '0';
    case -EBUSY:
      return '-EBUSY';
    case -EIO:
      return '-EIO';
    case -EAGAIN:
      return '-EAGAIN';
    case -ENOMEM:
      return '-ENOMEM';
    case -EINVAL:
      return '-EINVAL';
    case -EOPNOTSUPP:
      return '-EOPNOTSUPP';
    default:
      return String(r);
  }
}
