// Simulated threads are generators. Every `yield` is a step point: a place where the scheduler
// may switch to another thread, because the real kernel could be interrupted or raced there
// (an SPTE read, a cmpxchg, a lock, a SEAMCALL, an RCU grace period). Code between two yields
// runs atomically with respect to other simulated threads.

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
