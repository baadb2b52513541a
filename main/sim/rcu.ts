// RCU, as far as the TDP MMU depends on it: page tables are walked under rcu_read_lock() and a
// page table unlinked from its parent is freed through call_rcu(), i.e. only after every
// reader that might still be walking it has left its read-side critical section.
//
// Model: each thread's read-side section gets a serial number. call_rcu() records the sections
// open at that moment; the callback becomes ready once each of them has ended (a grace period
// has elapsed for it). Ready callbacks run at rcu_read_unlock() of any thread and at
// synchronize_rcu()/rcu_barrier(), attributed to that thread (the "softirq" it interrupted).
// Callbacks never run inside call_rcu(), as in the kernel.
//
// For the invariant checker: every queued callback is visible in `pending` with the sections it
// waits for; `sectionOf(thread)` tells whether a thread is inside a section and which one; the
// `call_rcu` and callback events carry the callback's serial in their detail ("rcu#N").
import { assert } from './checks.ts';
import { BLOCKED, STEP, type Proc } from './proc.ts';
import type { SimContext } from './sim_context.ts';
import type { SimThread } from './sim_thread.ts';

export interface RcuCallback {
  /** Serial number of this callback, from 1. */
  readonly serial: number;
  /** Pairs [threadId, sectionSerial]: the read-side sections open when it was queued. */
  readonly waitFor: number[];
  /** Event seq of the call_rcu event. */
  readonly queuedSeq: number;
  /** Runs the callback; `t` is the thread it runs on. */
  readonly fn: (t: SimThread) => void;
}

export class Rcu {
  /** Per thread id: the serial of its open read-side section, 0 when outside. */
  readonly #section: number[] = [];
  #sectionSerial = 0;
  #callbackSerial = 0;
  /** Queued callbacks, oldest first. */
  readonly pending: RcuCallback[] = [];
  readonly #ctx: SimContext;

  constructor(ctx: SimContext) {
    this.#ctx = ctx;
  }

  /** The serial of `threadId`'s open read-side section, 0 if it is outside one. */
  sectionOf(threadId: number): number {
    return this.#section[threadId] ?? 0;
  }

  /** True when no callback waits and no thread is inside a section. */
  idle(): boolean {
    return this.pending.length === 0 && this.#section.every((s) => s === 0 || s === undefined);
  }

  rcu_read_lock(t: SimThread): void {
    if (t.rcuDepth++ === 0) this.#section[t.id] = ++this.#sectionSerial;
  }

  rcu_read_unlock(t: SimThread): void {
    assert(t.rcuDepth > 0, () => `rcu_read_unlock: ${t.name} is not in an RCU read-side section`);
    if (--t.rcuDepth === 0) {
      this.#section[t.id] = 0;
      if (this.pending.length > 0) this.runReady(t);
    }
  }

  /** call_rcu(head, fn): queue `fn` to run after a grace period. Returns the callback serial. */
  call_rcu(t: SimThread, name: string, gfn: number, level: number, fn: (t: SimThread) => void): number {
    const waitFor: number[] = [];
    for (let id = 0; id < this.#section.length; id++) {
      const s = this.#section[id];
      if (s !== undefined && s !== 0) waitFor.push(id, s);
    }
    const serial = ++this.#callbackSerial;
    const queuedSeq = this.#ctx.events.instant(t.id, 'mmu', 'call_rcu', gfn, level, 'none', null, null, '', `rcu#${serial} ${name}`);
    this.pending.push({ serial, waitFor, queuedSeq, fn });
    return serial;
  }

  /** Whether the grace period for `cb` has elapsed: every section it waits for has ended. */
  ready(cb: RcuCallback): boolean {
    for (let i = 0; i < cb.waitFor.length; i += 2) {
      if (this.#section[cb.waitFor[i]] === cb.waitFor[i + 1]) return false;
    }
    return true;
  }

  /** Runs every ready callback, oldest first, on thread `t`. */
  runReady(t: SimThread): void {
    // A callback may queue another (it does not here, but a bound keeps the loop honest).
    for (let i = 0; i < this.pending.length; ) {
      const cb = this.pending[i];
      if (!this.ready(cb)) {
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      cb.fn(t);
    }
  }

  /** synchronize_rcu(): waits until every section open now has ended, then runs ready callbacks. */
  *synchronize_rcu(t: SimThread): Proc<void> {
    assert(t.rcuDepth === 0, 'synchronize_rcu inside an RCU read-side section deadlocks');
    const waitFor: number[] = [];
    for (let id = 0; id < this.#section.length; id++) {
      const s = this.#section[id];
      if (s !== undefined && s !== 0) waitFor.push(id, s);
    }
    const probe: RcuCallback = { serial: 0, waitFor, queuedSeq: -1, fn: () => {} };
    // Step point: the grace period; readers still inside hold it open.
    yield STEP;
    while (!this.ready(probe)) yield BLOCKED;
    this.#ctx.events.instant(t.id, 'mmu', 'synchronize_rcu');
    this.runReady(t);
  }

  /** rcu_barrier(): waits until every callback queued so far has run. */
  *rcu_barrier(t: SimThread): Proc<void> {
    assert(t.rcuDepth === 0, 'rcu_barrier inside an RCU read-side section deadlocks');
    yield STEP;
    this.runReady(t);
    while (this.pending.length > 0) {
      yield BLOCKED;
      this.runReady(t);
    }
  }
}
