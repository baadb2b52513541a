import { describe, expect, it } from 'vitest';
import { EventSink } from './event_sink.ts';
import { SimContext } from './sim_context.ts';
import { STEP, type Proc } from './proc.ts';
import { newSimThread, type SimThread } from './sim_thread.ts';
import { runThreads } from './scheduler.ts';
import { FixedScheduleChoice } from './choice_source.ts';
import { MmuLock, read_lock, read_unlock, write_lock, write_unlock } from './mmu_lock.ts';

describe('mmu_lock (writer-preferring rwlock)', () => {
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
