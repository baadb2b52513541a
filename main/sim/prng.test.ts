import { describe, expect, it } from 'vitest';
import { Prng } from './prng.ts';

describe('Prng', () => {
  it('is deterministic per seed and differs across seeds (snapshot of the first draws)', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const drawsA = Array.from({ length: 5 }, () => a.u32());
    const drawsB = Array.from({ length: 5 }, () => b.u32());
    const drawsC = Array.from({ length: 5 }, () => c.u32());
    expect(drawsA).toEqual(drawsB);
    expect(drawsA).not.toEqual(drawsC);
    expect(drawsA).toMatchInlineSnapshot(`
      [
        2837322924,
        544945897,
        479756282,
        3500138142,
        339756180,
      ]
    `);
  });

  it.each([
    { name: 'max 0', max: 0 },
    { name: 'max 1', max: 1 },
    { name: 'max 6', max: 6 },
    { name: 'max 2^31', max: 2 ** 31 },
    { name: 'max 2^32-1', max: 2 ** 32 - 1 },
  ])('int_inclusive stays in [0, max]: $name', ({ max }) => {
    const prng = new Prng(7);
    for (let i = 0; i < 2000; i++) {
      const v = prng.int_inclusive(max);
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(max);
    }
  });

  it('int_inclusive(6) hits every value with a roughly uniform count', () => {
    const prng = new Prng(1);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[prng.int_inclusive(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(600);
  });

  it.each([
    { name: '0/1 never', ratio: { numerator: 0, denominator: 1 }, want: 0 },
    { name: '1/1 always', ratio: { numerator: 1, denominator: 1 }, want: 1000 },
    { name: '5/5 always', ratio: { numerator: 5, denominator: 5 }, want: 1000 },
  ])('chance edges: $name', ({ ratio, want }) => {
    const prng = new Prng(3);
    let hits = 0;
    for (let i = 0; i < 1000; i++) if (prng.chance(ratio)) hits++;
    expect(hits).toBe(want);
  });

  it.each([
    { name: 'negative max', f: (p: Prng) => p.int_inclusive(-1) },
    { name: 'fractional max', f: (p: Prng) => p.int_inclusive(1.5) },
    { name: 'max 2^32', f: (p: Prng) => p.int_inclusive(2 ** 32) },
    { name: 'min > max', f: (p: Prng) => p.range_inclusive(3, 2) },
    { name: 'index of empty', f: (p: Prng) => p.index(0) },
    { name: 'chance 2/1', f: (p: Prng) => p.chance({ numerator: 2, denominator: 1 }) },
    { name: 'chance x/0', f: (p: Prng) => p.chance({ numerator: 0, denominator: 0 }) },
    { name: 'chance float', f: (p: Prng) => p.chance({ numerator: 0.5, denominator: 1 }) },
    { name: 'weights all zero', f: (p: Prng) => p.index_weighted([0, 0]) },
  ])('rejects invalid input: $name', ({ f }) => {
    expect(() => f(new Prng(1))).toThrow();
  });

  it('rejects bad seeds', () => {
    expect(() => new Prng(-1)).toThrow();
    expect(() => new Prng(1.5)).toThrow();
  });

  it('range_inclusive and shuffle', () => {
    const prng = new Prng(9);
    for (let i = 0; i < 500; i++) {
      const v = prng.range_inclusive(-3, 3);
      expect(v).toBeGreaterThanOrEqual(-3);
      expect(v).toBeLessThanOrEqual(3);
    }
    const items = [0, 1, 2, 3, 4, 5, 6, 7];
    const shuffled = prng.shuffle(items.slice());
    expect(shuffled.slice().sort()).toEqual(items);
    expect(shuffled).not.toEqual(items);
  });

  it('index_weighted never picks a zero weight', () => {
    const prng = new Prng(11);
    for (let i = 0; i < 1000; i++) expect(prng.index_weighted([0, 3, 0, 1])).not.toBe(0);
  });
});
