// The one pseudo-random generator of the simulation, passed explicitly and named `prng`.
//
// Shape after TigerBeetle's src/stdx/prng.zig: an integer-only API with closed ranges and
// probabilities as ratios, so that no float ever decides a choice (floats would make a run
// depend on rounding). There is intentionally no int_exclusive and no float().
//
// Generator: xoshiro128** (Blackman & Vigna), 32-bit state words, multiplications through
// Math.imul so every operation stays in int32 and is exact in JS. Seeded through splitmix32 so
// that nearby integer seeds give unrelated streams.
import { assert } from './checks.ts';

/** A probability numerator/denominator, 0 <= numerator <= denominator, denominator > 0. */
export interface Ratio {
  numerator: number;
  denominator: number;
}

const TWO_32 = 4294967296;
/** Rejection sampling gives up after this many draws; each draw is rejected with p < 1/2. */
const REJECTIONS_MAX = 64;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Prng {
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;

  /** Seeds from a non-negative integer below 2^53 (both 32-bit halves count). */
  constructor(seed: number) {
    assert(Number.isSafeInteger(seed), `Prng: seed must be a safe integer, got ${seed}`);
    assert(seed >= 0, `Prng: seed must be non-negative, got ${seed}`);
    let sm = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_32) | 0, 0x9e3779b9);
    const next = (): number => {
      sm = (sm + 0x9e3779b9) | 0;
      let z = sm;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
    // xoshiro's all-zero state is a fixed point; splitmix32 never yields four zeros in a row,
    // but say so rather than trust it.
    assert((this.#s0 | this.#s1 | this.#s2 | this.#s3) !== 0, 'Prng: zero state');
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** Uniform in [0, max], max an integer in [0, 2^32 - 1]. */
  int_inclusive(max: number): number {
    assert(Number.isInteger(max), `int_inclusive: max must be an integer, got ${max}`);
    assert(max >= 0 && max < TWO_32, `int_inclusive: max out of range: ${max}`);
    if (max === TWO_32 - 1) return this.u32();
    const range = max + 1;
    // Reject the top partial bucket so that every value is equally likely.
    const limit = TWO_32 - (TWO_32 % range);
    for (let draws = 0; draws < REJECTIONS_MAX; draws++) {
      const x = this.u32();
      if (x < limit) return x % range;
    }
    assert(false, 'int_inclusive: rejection budget spent (generator broken)');
  }

  /** Uniform in [min, max]. */
  range_inclusive(min: number, max: number): number {
    assert(Number.isInteger(min) && Number.isInteger(max), 'range_inclusive: integers only');
    assert(min <= max, `range_inclusive: min ${min} > max ${max}`);
    return min + this.int_inclusive(max - min);
  }

  /** A uniform index into a collection of `length` (> 0) items. */
  index(length: number): number {
    assert(length > 0, 'index: empty collection');
    return this.int_inclusive(length - 1);
  }

  /** True with probability numerator/denominator. */
  chance(ratio: Ratio): boolean {
    assert(Number.isInteger(ratio.numerator) && Number.isInteger(ratio.denominator), 'chance: integers only');
    assert(ratio.denominator > 0, 'chance: denominator must be positive');
    assert(ratio.numerator >= 0 && ratio.numerator <= ratio.denominator, 'chance: numerator out of range');
    return this.int_inclusive(ratio.denominator - 1) < ratio.numerator;
  }

  boolean(): boolean {
    return (this.u32() & 1) === 1;
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int_inclusive(i);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** Picks an index with probability proportional to its integer weight (enum_weighted). */
  index_weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) {
      assert(Number.isInteger(w) && w >= 0, 'index_weighted: weights are non-negative integers');
      total += w;
    }
    assert(total > 0, 'index_weighted: all weights zero');
    let pick = this.int_inclusive(total - 1);
    for (let i = 0; i < weights.length; i++) {
      if (pick < weights[i]) return i;
      pick -= weights[i];
    }
    assert(false, 'index_weighted: unreachable');
  }
}
