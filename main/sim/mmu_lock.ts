// kvm->mmu_lock: an rwlock (x86 KVM_HAVE_MMU_RWLOCK). Read = shared (vCPU faults; only atomic
// SPTE updates allowed), write = exclusive (zaps, splits, teardown).
//
// Fairness, decided here: writer-preferring, like the kernel's queued rwlock (qrwlock), where a
// waiting writer stops new readers from getting in (only interrupt-context readers may bypass,
// and we model none). So a stream of vCPU faults cannot starve a zap. Writers are not queued
// FIFO among themselves: after a release, whichever waiting writer the scheduler runs first
// wins. A waiter yields BLOCKED and re-checks when resumed; the scheduler's budgets bound the
// wait (a wait that never ends is `deadlock`).
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

export class MmuLock {
  /** Threads holding the lock for read. */
  readers = 0;
  /** Thread id holding it for write, -1 if none. */
  writer = -1;
  /** Threads waiting to write; while > 0 new readers wait too (writer preference). */
  writersWaiting = 0;
  /** Threads waiting to read. */
  readersWaiting = 0;

  /** rwlock_needbreak(): someone waits, so a long walk should drop the lock (cond_resched). */
  contended(): boolean {
    return this.writersWaiting > 0 || this.readersWaiting > 0;
  }

  idle(): boolean {
    return this.readers === 0 && this.writer === -1 && this.writersWaiting === 0 && this.readersWaiting === 0;
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
  if (lock.writer !== -1 || lock.writersWaiting > 0) return false;
  lock.readers++;
  t.mmuLock = MMU_LOCK_READ;
  ctx.events.instant(t.id, 'mmu', READ_LOCK);
  return true;
}

/** The waiting half of read_lock: blocked while a writer holds or waits for the lock. */
export function* read_lock_slowpath(ctx: SimContext, lock: MmuLock, t: SimThread): Proc<void> {
  lock.readersWaiting++;
  while (lock.writer !== -1 || lock.writersWaiting > 0) yield BLOCKED;
  lock.readersWaiting--;
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
  let waited = false;
  if (lock.writer !== -1 || lock.readers > 0) {
    waited = true;
    lock.writersWaiting++;
    while (lock.writer !== -1 || lock.readers > 0) yield BLOCKED;
    lock.writersWaiting--;
  }
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
