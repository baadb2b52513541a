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

/** errno values the kernel functions return (negated, as in the kernel). */
export const EBUSY = 16;
export const EIO = 5;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EINVAL = 22;

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
    default:
      return String(r);
  }
}
