import { describe, expect, it } from 'vitest';
import { EventSink } from './event_sink.ts';
import { SimContext } from './sim_context.ts';
import { newSimThread } from './sim_thread.ts';
import { Rcu } from './rcu.ts';

describe('Rcu', () => {
  it('runs a callback only after every reader inside at call_rcu time has left', () => {
    const ctx = new SimContext(new EventSink({ keep: true }));
    const rcu = new Rcu(ctx);
    const [a, b, c] = [0, 1, 2].map((i) => newSimThread(i, `t${i}`, i));
    const ran: string[] = [];
    rcu.rcu_read_lock(a);
    rcu.rcu_read_lock(b);
    rcu.call_rcu(c, 'cb', 0, 1, (t) => ran.push(`cb@${t.name}`));
    // A reader that starts after call_rcu does not hold the grace period open.
    rcu.rcu_read_lock(c);
    rcu.rcu_read_unlock(a);
    expect(ran).toEqual([]);
    rcu.rcu_read_lock(a); // a new section of a: not waited for
    rcu.rcu_read_unlock(b);
    expect(ran).toEqual(['cb@t1']);
    expect(rcu.pending.length).toBe(0);
  });

  it('nested sections count once', () => {
    const ctx = new SimContext(new EventSink());
    const rcu = new Rcu(ctx);
    const a = newSimThread(0, 'a', 0);
    const ran: number[] = [];
    rcu.rcu_read_lock(a);
    rcu.rcu_read_lock(a);
    rcu.call_rcu(a, 'cb', 0, 1, () => ran.push(1));
    rcu.rcu_read_unlock(a);
    expect(ran).toEqual([]);
    rcu.rcu_read_unlock(a);
    expect(ran).toEqual([1]);
    expect(() => rcu.rcu_read_unlock(a)).toThrow();
  });

  it('rcu_barrier waits for readers, then runs everything', () => {
    const ctx = new SimContext(new EventSink());
    const rcu = new Rcu(ctx);
    const [a, b] = [0, 1].map((i) => newSimThread(i, `t${i}`, i));
    const ran: number[] = [];
    rcu.rcu_read_lock(a);
    rcu.call_rcu(b, 'cb', 0, 1, () => ran.push(1));
    const barrier = rcu.rcu_barrier(b);
    expect(barrier.next().done).toBe(false);
    expect(barrier.next().value).toBe(1); // BLOCKED
    rcu.rcu_read_unlock(a);
    expect(ran).toEqual([1]);
    expect(barrier.next().done).toBe(true);
  });
});
