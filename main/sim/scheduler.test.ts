import { describe, expect, it } from 'vitest';
import { EventSink } from './event_sink.ts';
import { SimContext } from './sim_context.ts';
import { BLOCKED, SPIN, STEP, type Proc } from './proc.ts';
import { newSimThread } from './sim_thread.ts';
import { runThreads, type SchedThread } from './scheduler.ts';
import { Exhaustigen, ExhaustiveChoice, FixedScheduleChoice, PrngChoice, RoundRobinChoice } from './choice_source.ts';
import { Prng } from './prng.ts';
import { BUG } from './checks.ts';

function ctxNew(): SimContext {
  return new SimContext(new EventSink({ keep: true }));
}

/** A thread that records its id into `log` once per step, `steps` times, then returns. */
function* stepper(ctx: SimContext, id: number, steps: number, log: number[]): Proc<number> {
  for (let i = 0; i < steps; i++) {
    if (i > 0) yield STEP;
    log.push(id);
    ctx.events.instant(id, 'op', 'step');
  }
  return id;
}

function threadsOf(ctx: SimContext, n: number, steps: number, log: number[]): SchedThread[] {
  return Array.from({ length: n }, (_, i) => ({ thread: newSimThread(i, `t${i}`, i), proc: stepper(ctx, i, steps, log) }));
}

describe('scheduler with the exhaustive enumerator', () => {
  it.each([
    { n: 1, steps: 1, want: 1 },
    { n: 2, steps: 1, want: 2 },
    { n: 3, steps: 1, want: 6 },
    { n: 4, steps: 1, want: 24 },
    { n: 2, steps: 2, want: 6 },
    { n: 3, steps: 2, want: 90 },
  ])('visits every interleaving: $n threads x $steps steps = $want', ({ n, steps, want }) => {
    const g = new Exhaustigen();
    const seen = new Set<string>();
    let rounds = 0;
    while (!g.done()) {
      const ctx = ctxNew();
      const log: number[] = [];
      const r = runThreads(ctx, threadsOf(ctx, n, steps, log), new ExhaustiveChoice(g), { stepsMax: 100 });
      expect(r.outcome).toBe('completed');
      seen.add(log.join(','));
      rounds++;
    }
    expect(rounds).toBe(want);
    expect(seen.size).toBe(want);
  });
});

describe('scheduler', () => {
  it('replays a schedule exactly (same event hash), and says when it runs out', () => {
    const ctx1 = ctxNew();
    const log1: number[] = [];
    const r1 = runThreads(ctx1, threadsOf(ctx1, 3, 4, log1), new PrngChoice(new Prng(5)), { stepsMax: 100 });
    const ctx2 = ctxNew();
    const log2: number[] = [];
    const r2 = runThreads(ctx2, threadsOf(ctx2, 3, 4, log2), new FixedScheduleChoice(r1.schedule), { stepsMax: 100 });
    expect(log2).toEqual(log1);
    expect(ctx2.events.hash()).toBe(ctx1.events.hash());
    expect(r2.note).toBe('');
    expect(ctx1.metrics.steps).toBe(12);
    const ctx3 = ctxNew();
    const r3 = runThreads(ctx3, threadsOf(ctx3, 3, 4, []), new FixedScheduleChoice(r1.schedule.slice(0, 5)), { stepsMax: 100 });
    expect(r3.outcome).toBe('completed');
    expect(r3.note).toMatch(/ran out at step 5/);
  });

  it('round-robin alternates', () => {
    const ctx = ctxNew();
    const log: number[] = [];
    runThreads(ctx, threadsOf(ctx, 2, 3, log), new RoundRobinChoice(), { stepsMax: 100 });
    expect(log).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('reports deadlock when every live thread is blocked', () => {
    const ctx = ctxNew();
    function* blockedForever(): Proc<void> {
      for (;;) yield BLOCKED;
    }
    const threads = [0, 1].map((i) => ({ thread: newSimThread(i, `t${i}`, i), proc: blockedForever() }));
    const r = runThreads(ctx, threads, new RoundRobinChoice(), { stepsMax: 1000 });
    expect(r.outcome).toBe('deadlock');
    expect(r.reason).toMatch(/t0.*t1/);
    expect(r.steps).toBe(2);
  });

  it.each([
    { name: 'stall budget', stepsMax: 1_000_000, stallStepsMax: 50, want: /no thread made progress for 50 steps/ },
    { name: 'step budget', stepsMax: 30, stallStepsMax: 1000, want: /stepsMax 30 spent/ },
  ])('reports livelock: $name', ({ stepsMax, stallStepsMax, want }) => {
    const ctx = ctxNew();
    function* spinner(): Proc<void> {
      for (;;) yield SPIN;
    }
    const r = runThreads(ctx, [{ thread: newSimThread(0, 'spinner', 0), proc: spinner() }], new RoundRobinChoice(), { stepsMax, stallStepsMax });
    expect(r.outcome).toBe('livelock');
    expect(r.reason).toMatch(want);
    expect(r.reason).toMatch(/spinner/);
  });

  it('stops at BUG() as host-bug', () => {
    const ctx = ctxNew();
    const t = newSimThread(0, 't0', 0);
    function* crasher(): Proc<void> {
      yield STEP;
      BUG(ctx, t, 'site', 'reason');
      yield STEP;
      throw new Error('ran past BUG()');
    }
    const r = runThreads(ctx, [{ thread: t, proc: crasher() }], new RoundRobinChoice(), { stepsMax: 100 });
    expect(r.outcome).toBe('host-bug');
    expect(r.reason).toMatch(/site/);
  });

  it('rejects thread ids out of order (our bug)', () => {
    const ctx = ctxNew();
    expect(() => runThreads(ctx, [{ thread: newSimThread(1, 't', 0), proc: stepper(ctx, 1, 1, []) }], new RoundRobinChoice(), { stepsMax: 10 })).toThrow();
  });
});
