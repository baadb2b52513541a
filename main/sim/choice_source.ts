// Where the scheduler's choices come from (STYLE.md section 1.4): which runnable thread runs the
// next step. Four implementations: a seeded PRNG, round-robin, a fixed schedule replayed
// exactly, and an exhaustive enumerator after TigerBeetle's src/testing/exhaustigen.zig.
import { assert } from './checks.ts';
import type { Prng } from './prng.ts';

export interface ChoiceSource {
  /** Short name for the run record: 'prng', 'round-robin', 'fixed', 'exhaustive'. */
  readonly kind: string;
  /**
   * Picks the thread that runs the next step. `runnable` lists thread ids in ascending order
   * and is never empty; `step` is the scheduler step about to run. Returns one of `runnable`.
   */
  pick(runnable: readonly number[], step: number): number;
  /**
   * True when asking again for the thread it just picked, as the only runnable one, changes
   * nothing in the source: the scheduler then need not ask (a lone thread's steps in a row). A
   * source that counts its answers (a fixed schedule) leaves it unset.
   */
  readonly repeatPickIsPure?: boolean;
  /** Anything the run record should say about the choices, e.g. that a schedule ran out. */
  note(): string;
}

/** Seeded random choice: every step picks uniformly among the runnable threads. */
export class PrngChoice implements ChoiceSource {
  readonly kind = 'prng';
  readonly repeatPickIsPure = true;
  readonly #prng: Prng;
  constructor(prng: Prng) {
    this.#prng = prng;
  }
  pick(runnable: readonly number[]): number {
    if (runnable.length === 1) return runnable[0];
    return runnable[this.#prng.index(runnable.length)];
  }
  note(): string {
    return '';
  }
}

/** Rotates through the runnable threads: the next id after the last one run, wrapping. */
export class RoundRobinChoice implements ChoiceSource {
  readonly kind = 'round-robin';
  /** A repeat sets #last to the id it already holds. */
  readonly repeatPickIsPure = true;
  #last = -1;
  pick(runnable: readonly number[]): number {
    let chosen = runnable[0];
    for (const id of runnable) {
      if (id > this.#last) {
        chosen = id;
        break;
      }
    }
    this.#last = chosen;
    return chosen;
  }
  note(): string {
    return '';
  }
}

/**
 * Replays a schedule (one thread id per step, as the scheduler returns it). When the schedule
 * runs out, or names a thread that cannot run at that step (the scenario changed), it
 * continues round-robin and says so in note().
 */
export class FixedScheduleChoice implements ChoiceSource {
  readonly kind = 'fixed';
  readonly #schedule: ArrayLike<number>;
  readonly #fallback = new RoundRobinChoice();
  #position = 0;
  #note = '';
  constructor(schedule: ArrayLike<number>) {
    this.#schedule = schedule;
  }
  pick(runnable: readonly number[], step: number): number {
    if (this.#position < this.#schedule.length) {
      const id = this.#schedule[this.#position++];
      if (runnable.includes(id)) return id;
      if (this.#note === '') this.#note = `schedule named thread ${id} at step ${step}, which could not run; continued round-robin`;
      this.#position = this.#schedule.length;
    } else if (this.#note === '') {
      this.#note = `schedule ran out at step ${step} (length ${this.#schedule.length}); continued round-robin`;
    }
    return this.#fallback.pick(runnable);
  }
  note(): string {
    return this.#note;
  }
}

/**
 * Exhaustive enumeration of choice sequences, after exhaustigen.zig:
 *
 *   const g = new Exhaustigen();
 *   while (!g.done()) { ... g.int_inclusive(bound) ... }
 *
 * visits every sequence of answers exactly once, provided the caller's choices are a pure
 * function of the earlier answers (replay from scratch each round). Each position remembers
 * its answer and its bound; done() advances the last position that has room, odometer-style,
 * and forgets the positions after it.
 */
export class Exhaustigen {
  #started = false;
  readonly #values: number[] = [];
  readonly #bounds: number[] = [];
  #position = 0;

  /** True when every sequence has been visited; call once before each round. */
  done(): boolean {
    if (!this.#started) {
      this.#started = true;
      return false;
    }
    for (let i = this.#values.length - 1; i >= 0; i--) {
      if (this.#values[i] < this.#bounds[i]) {
        this.#values[i]++;
        this.#values.length = i + 1;
        this.#bounds.length = i + 1;
        this.#position = 0;
        return false;
      }
    }
    return true;
  }

  /** The answer at the current position, in [0, bound]. */
  int_inclusive(bound: number): number {
    assert(Number.isInteger(bound) && bound >= 0, 'Exhaustigen.int_inclusive: bad bound');
    if (this.#position === this.#values.length) {
      this.#values.push(0);
      this.#bounds.push(bound);
    }
    // A different bound at a replayed position means the caller is not deterministic.
    assert(this.#bounds[this.#position] === bound, 'Exhaustigen: bound changed on replay (nondeterministic caller)');
    return this.#values[this.#position++];
  }
}

/** Scheduler choices from an Exhaustigen; a step with one runnable thread is not a choice. */
export class ExhaustiveChoice implements ChoiceSource {
  readonly kind = 'exhaustive';
  readonly repeatPickIsPure = true;
  readonly #gen: Exhaustigen;
  constructor(gen: Exhaustigen) {
    this.#gen = gen;
  }
  pick(runnable: readonly number[]): number {
    if (runnable.length === 1) return runnable[0];
    return runnable[this.#gen.int_inclusive(runnable.length - 1)];
  }
  note(): string {
    return '';
  }
}
