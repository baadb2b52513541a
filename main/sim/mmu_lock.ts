// kvm->mmu_lock: an rwlock (x86 KVM_HAVE_MMU_RWLOCK). Read = shared (vCPU faults; only atomic
// SPTE updates allowed), write = exclusive (zaps, splits, teardown).
//
// Fairness follows the kernel's queued rwlock (kernel/locking/qrwlock.c). A thread that cannot
// take the lock at once queues on the lock's wait_lock, first come first served. The queue's head
// gets in as soon as the lock allows its mode: a reader when no writer holds the lock, a writer
// when nobody does. While a writer is at the head it has set _QW_WAITING, and while a reader is
// there it has added its bias, so in both cases a newcomer cannot take the fast path: it queues
// too. So a stream of vCPU faults cannot starve a zap, and a zap that drops the lock in
// cond_resched cannot jump back ahead of the readers it dropped it for. A waiter yields BLOCKED
// and re-checks when resumed; the scheduler's budgets bound the wait (a wait that never ends is
// `deadlock`). Interrupt-context readers, which may bypass the queue, are not modelled.
//
// Each acquire and release is one step point and one `mmu` instant event (`read_lock`,
// `read_unlock`, `write_lock`, `write_unlock`); an acquire that had to wait has status
// `contended`.
import { assert } from './checks.ts';
import { BLOCKED, STEP, type Proc } from './proc.ts';
import type { SimContext } from './sim_context.ts';
import { MMU_LOCK_NONE, MMU_LOCK_READ, MMU_LOCK_WRITE, type SimThread } from './sim_thread.ts';
import { EventString } from './event_sink.ts';

/** Event names of every fault (EventString: interned once per run). */
const READ_LOCK = new EventString('read_lock');
const READ_UNLOCK = new EventString('read_unlock');

/** A thread queued on the lock's wait_lock, and the mode it waits for. */
interface Waiter {
  thread: number;
  write: boolean;
}

export class MmuLock {
  /** Threads holding the lock for read. */
  readers = 0;
  /** Thread id holding it for write, -1 if none. */
  writer = -1;
  /** Threads waiting, in arrival order (the wait_lock queue). */
  readonly queue: Waiter[] = [];

  /**
   * rwlock_needbreak() / rwlock_is_contended(): someone is queued, so a long walk should drop
   * the lock (tdp_mmu_iter_cond_resched). The model's kernel is preemptible: since v6.13 a
   * non-preemptible kernel only breaks on need_resched.
   */
  contended(): boolean {
    return this.queue.length > 0;
  }

  idle(): boolean {
    return this.readers === 0 && this.writer === -1 && this.queue.length === 0;
  }

  /** The head of the queue can take the lock now: `t` is the head and the lock allows its mode. */
  headMayEnter(t: number): boolean {
    const head = this.queue[0];
    if (head === undefined || head.thread !== t) return false;
    return head.write ? this.writer === -1 && this.readers === 0 : this.writer === -1;
  }
}

/** read_lock(&kvm->mmu_lock). */
export function* read_lock(ctx: SimContext, lock: MmuLock, t: SimThread): Proc<void> {
  // Step point: the acquire races with writers taking the lock (zap, split, teardown).
  yield STEP;
  if (!read_trylock(ctx, lock, t)) yield* read_lock_slowpath(ctx, lock, t);
}

/**
 * The uncontended half of read_lock, without a step point: for hot paths that put the step
 * point (`yield STEP`) at the call site themselves. Returns false when it must wait.
 */
export function read_trylock(ctx: SimContext, lock: MmuLock, t: SimThread): boolean {
  assert(t.mmuLock === MMU_LOCK_NONE, () => `read_lock: ${t.name} already holds mmu_lock`);
  // The fast path fails while a writer holds the lock or anyone is queued (a writer at the head
  // has set _QW_WAITING; queued readers are ahead of us).
  if (lock.writer !== -1 || lock.queue.length > 0) return false;
  lock.readers++;
  t.mmuLock = MMU_LOCK_READ;
  ctx.events.instant(t.id, 'mmu', READ_LOCK);
  return true;
}

/**
 * The queue both slow paths wait in (the lock's wait_lock): joins it, waits until this thread is
 * at the head and the lock allows its mode (headMayEnter), and leaves it.
 */
function* wait_in_queue(lock: MmuLock, t: SimThread, write: boolean): Proc<void> {
  lock.queue.push({ thread: t.id, write });
  while (!lock.headMayEnter(t.id)) yield BLOCKED;
  lock.queue.shift();
}

/** The waiting half of read_lock (queued_read_lock_slowpath): queue, then enter at the head once no writer holds it. */
export function* read_lock_slowpath(ctx: SimContext, lock: MmuLock, t: SimThread): Proc<void> {
  yield* wait_in_queue(lock, t, false);
  lock.readers++;
  t.mmuLock = MMU_LOCK_READ;
  ctx.events.instant(t.id, 'mmu', 'read_lock', -1, 0, 'none', null, null, 'contended');
}

/** read_unlock(&kvm->mmu_lock). */
export function* read_unlock(ctx: SimContext, lock: MmuLock, t: SimThread): Proc<void> {
  // Step point: the release lets a waiting writer in.
  yield STEP;
  read_unlock_now(ctx, lock, t);
}

/** read_unlock without its step point (the caller yields right before). */
export function read_unlock_now(ctx: SimContext, lock: MmuLock, t: SimThread): void {
  assert(t.mmuLock === MMU_LOCK_READ, () => `read_unlock: ${t.name} does not hold mmu_lock for read`);
  assert(lock.readers > 0, 'read_unlock: no readers');
  lock.readers--;
  t.mmuLock = MMU_LOCK_NONE;
  ctx.events.instant(t.id, 'mmu', READ_UNLOCK);
}

/** write_lock(&kvm->mmu_lock). */
export function* write_lock(ctx: SimContext, lock: MmuLock, t: SimThread): Proc<void> {
  assert(t.mmuLock === MMU_LOCK_NONE, () => `write_lock: ${t.name} already holds mmu_lock`);
  // Step point: the acquire races with readers (vCPU faults) and other writers.
  yield STEP;
  // The fast path (cmpxchg 0 -> _QW_LOCKED) needs no holder and nobody queued; else
  // queued_write_lock_slowpath: queue, then enter at the head once the readers have drained.
  const waited = lock.writer !== -1 || lock.readers > 0 || lock.queue.length > 0;
  if (waited) yield* wait_in_queue(lock, t, true);
  lock.writer = t.id;
  t.mmuLock = MMU_LOCK_WRITE;
  ctx.events.instant(t.id, 'mmu', 'write_lock', -1, 0, 'none', null, null, waited ? 'contended' : '');
}

/** write_unlock(&kvm->mmu_lock). */
export function* write_unlock(ctx: SimContext, lock: MmuLock, t: SimThread): Proc<void> {
  assert(t.mmuLock === MMU_LOCK_WRITE && lock.writer === t.id, () => `write_unlock: ${t.name} does not hold mmu_lock for write`);
  // Step point: the release lets waiting readers and writers in.
  yield STEP;
  lock.writer = -1;
  t.mmuLock = MMU_LOCK_NONE;
  ctx.events.instant(t.id, 'mmu', 'write_unlock');
}

/** Drops and re-takes the lock in the same mode, as cond_resched_rwlock_read/write does. */
export function* cond_resched_rwlock(ctx: SimContext, lock: MmuLock, t: SimThread): Proc<void> {
  if (t.mmuLock === MMU_LOCK_READ) {
    yield* read_unlock(ctx, lock, t);
    yield* read_lock(ctx, lock, t);
  } else {
    yield* write_unlock(ctx, lock, t);
    yield* write_lock(ctx, lock, t);
  }
}
