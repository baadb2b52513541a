import { describe, expect, it } from 'vitest';
import { applyWrites, writesOf } from './inspector_ranges.ts';
import { leafSpte, rangesOf } from './inspector_test_support.ts';

describe('ranges', () => {
  const base = 0x80000;

  it('a write into a range cuts it, and a write that continues it joins it', () => {
    const r = rangesOf('mirror', [10, 11, 12, 13].map((pfn, i): [number, number, number] => [1, base + i, leafSpte(pfn)]));
    expect(r.n).toBe(1);
    const cut = applyWrites('mirror', r, writesOf([[1, 1, base + 1, leafSpte(99)], [1, 1, base + 4, leafSpte(14)]]).mirror);
    expect(Array.from(cut.count.subarray(0, cut.n))).toEqual([1, 1, 3]);
    const healed = applyWrites('mirror', cut, writesOf([[1, 1, base + 1, leafSpte(11)]]).mirror);
    expect(Array.from(healed.count.subarray(0, healed.n))).toEqual([5]);
    const emptied = applyWrites('mirror', healed, writesOf([[1, 1, base + 2, null], [1, 1, base + 3, leafSpte(5)], [1, 1, base + 3, 0]]).mirror);
    expect(Array.from(emptied.gfn.subarray(0, emptied.n))).toEqual([base, base + 4]);
  });

  it('a range stops at its parent table', () => {
    const r = rangesOf('mirror', [0, 1].map((i): [number, number, number] => [1, base + 511 + i, leafSpte(10 + i)]));
    expect(r.n).toBe(2);
  });
});
