import { describe, expect, it } from 'vitest';
import { PfnMap } from './pfn_map.ts';

describe('PfnMap', () => {
  // Pfns in the array-indexed blocks and beyond them (32M pfns), and a block emptied and refilled.
  const pfns = [0, 1, 511, 512, 1023, 65535, 2 ** 25 - 1, 2 ** 25, 2 ** 25 + 513, 2 ** 36 + 3];
  it('agrees with a Map through sets, gets, deletes and iteration', () => {
    const m = new PfnMap<string>();
    const ref = new Map<number, string>();
    for (const pfn of pfns) {
      m.set(pfn, `v${pfn}`);
      ref.set(pfn, `v${pfn}`);
    }
    for (const pfn of [512, 2 ** 25, 0]) {
      expect(m.delete(pfn)).toBe(true);
      ref.delete(pfn);
    }
    expect(m.delete(512)).toBe(false);
    m.set(512, 'again');
    ref.set(512, 'again');
    for (const pfn of [...pfns, 2, 513, 2 ** 25 + 1]) expect(m.get(pfn)).toBe(ref.get(pfn));
    expect(m.size).toBe(ref.size);
    expect([...m.entries()]).toEqual([...ref.entries()].sort((a, b) => a[0] - b[0]));
  });
});
