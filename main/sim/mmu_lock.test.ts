import { describe, expect, it } from 'vitest';
import { EventSink } from './event_sink.ts';
import { SimContext } from './sim_context.ts';
import { STEP, type Proc } from './proc.ts';
import { newSimThread, type SimThread } from './sim_thread.ts';
import { runThreads } from './scheduler.ts';
import { FixedScheduleChoice } from './choice_source.ts';
import { MmuLock, read_lock, read_unlock, write_lock, write_unlock } from './mmu_lock.ts';

describe('mmu_lock (queued rwlock)', () => {
  it('a waiting writer keeps a new reader out until it is done', () => {
    const ctx = new SimContext(new EventSink({ keep: true }));
    const lock = new MmuLock();
    const order: string[] = [];
    const ts: SimThread[] = [0, 1, 2].map((i) => newSimThread(i, `t${i}`, i));
    function* reader(t: SimThread, holdSteps: number): Proc<void> {
      yield* read_lock(ctx, lock, t);
      order.push(`${t.name}:R`);
      for (let i = 0; i < holdSteps; i++) yield STEP;
      yield* read_unlock(ctx, lock, t);
      order.push(`${t.name}:r`);
    }
    function* writer(t: SimThread): Proc<void> {
      yield* write_lock(ctx, lock, t);
      order.push(`${t.name}:W`);
      yield* write_unlock(ctx, lock, t);
      order.push(`${t.name}:w`);
    }
    // t0 reads and holds; t1 asks to write; t2 asks to read while t1 waits.
    const schedule = [0, 0, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
    const r = runThreads(ctx, [
      { thread: ts[0], proc: reader(ts[0], 3) },
      { thread: ts[1], proc: writer(ts[1]) },
      { thread: ts[2], proc: reader(ts[2], 0) },
    ], new FixedScheduleChoice(schedule), { stepsMax: 200 });
    expect(r.outcome).toBe('completed');
    expect(order).toEqual(['t0:R', 't0:r', 't1:W', 't1:w', 't2:R', 't2:r']);
    expect(lock.idle()).toBe(true);
    const contended = ctx.events.events().filter((e) => e.status === 'contended').map((e) => `${e.thread}:${e.name}`);
    expect(contended).toEqual(['1:write_lock', '2:read_lock']);
  });

  // qrwlock queues waiters first come first served: a reader that queued before a writer gets
  // in before it, and a writer that drops the lock for queued readers (cond_resched) cannot take
  // it straight back.
  it('serves queued waiters in arrival order: reader, writer, reader', () => {
    const ctx = new SimContext(new EventSink({ keep: true }));
    const lock = new MmuLock();
    const order: string[] = [];
    const ts: SimThread[] = [0, 1, 2, 3].map((i) => newSimThread(i, `t${i}`, i));
    function* hold(t: SimThread, write: boolean, steps: number): Proc<void> {
      yield* (write ? write_lock : read_lock)(ctx, lock, t);
      order.push(`${t.name}:${write ? 'W' : 'R'}`);
      for (let i = 0; i < steps; i++) yield STEP;
      yield* (write ? write_unlock : read_unlock)(ctx, lock, t);
    }
    // t0 writes and holds; then t1 (read), t2 (write) and t3 (read) queue, in that order.
    const r = runThreads(ctx, [
      { thread: ts[0], proc: hold(ts[0], true, 4) },
      { thread: ts[1], proc: hold(ts[1], false, 0) },
      { thread: ts[2], proc: hold(ts[2], true, 0) },
      { thread: ts[3], proc: hold(ts[3], false, 0) },
    ], new FixedScheduleChoice([0, 0, 1, 1, 2, 2, 3, 3]), { stepsMax: 300 });
    expect(r.outcome).toBe('completed');
    expect(order).toEqual(['t0:W', 't1:R', 't2:W', 't3:R']);
    expect(lock.idle()).toBe(true);
  });

  it('a writer that drops the lock for a queued reader cannot take it straight back', () => {
    const ctx = new SimContext(new EventSink({ keep: true }));
    const lock = new MmuLock();
    const order: string[] = [];
    const ts: SimThread[] = [0, 1].map((i) => newSimThread(i, `t${i}`, i));
    function* resched(t: SimThread): Proc<void> {
      yield* write_lock(ctx, lock, t);
      order.push('W1');
      yield STEP;
      // tdp_mmu_iter_cond_resched: contended, so drop and re-take.
      yield* write_unlock(ctx, lock, t);
      yield* write_lock(ctx, lock, t);
      order.push('W2');
      yield* write_unlock(ctx, lock, t);
    }
    function* reader(t: SimThread): Proc<void> {
      yield* read_lock(ctx, lock, t);
      order.push('R');
      yield* read_unlock(ctx, lock, t);
    }
    // The writer runs whenever it can; the reader queues while the writer holds the lock.
    const r = runThreads(ctx, [{ thread: ts[0], proc: resched(ts[0]) }, { thread: ts[1], proc: reader(ts[1]) }],
      new FixedScheduleChoice([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]), { stepsMax: 300 });
    expect(r.outcome).toBe('completed');
    expect(order).toEqual(['W1', 'R', 'W2']);
  });

  it('asserts on recursion and on unlocking what is not held (our bugs)', () => {
    const ctx = new SimContext(new EventSink());
    const lock = new MmuLock();
    const t = newSimThread(0, 't0', 0);
    // The checks run after each function's step point (its first yield).
    const unlock = read_unlock(ctx, lock, t);
    unlock.next();
    expect(() => unlock.next()).toThrow();
    const g = read_lock(ctx, lock, t);
    g.next();
    g.next();
    const again = read_lock(ctx, lock, t);
    again.next();
    expect(() => again.next()).toThrow();
  });
});
