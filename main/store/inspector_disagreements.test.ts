import { describe, expect, it } from 'vitest';
import { SEPT_STATE_MAPPED, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING, sept_entry_value } from '../../shared/sept.ts';
import { FROZEN_SPTE } from '../../shared/spte.ts';
import { findDisagreements } from './inspector_disagreements.ts';
import { leafSpte, nonLeafSpte, rangesOf } from './inspector_test_support.ts';

describe('findDisagreements', () => {
  const table: { name: string; mirror: [number, number, number][]; sept: [number, number, number][]; want: [number, number, number][] }[] = [
    { name: 'leaf with MAPPED same pfn agrees', mirror: [[1, 5, leafSpte(7)]], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 7, 0)]], want: [] },
    { name: 'leaf with a different pfn disagrees', mirror: [[1, 5, leafSpte(7)]], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 8, 0)]], want: [[1, 5, 6]] },
    { name: 'S-EPT entry without a mirror entry disagrees', mirror: [], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 7, 0)]], want: [[1, 5, 6]] },
    { name: 'mirror non-leaf needs NL_MAPPED', mirror: [[2, 0, nonLeafSpte(9)]], sept: [[2, 0, sept_entry_value(SEPT_STATE_NL_MAPPED, 3, 0)]], want: [] },
    { name: 'mirror leaf without S-EPT entry disagrees', mirror: [[1, 5, leafSpte(7)]], sept: [], want: [[1, 5, 6]] },
    { name: 'a frozen mirror entry is never marked', mirror: [[1, 5, FROZEN_SPTE]], sept: [[1, 5, sept_entry_value(SEPT_STATE_MAPPED, 7, 0)]], want: [] },
    {
      name: 'ranges with pfns off by one disagree over their overlap only',
      mirror: [0, 1, 2, 3].map((i) => [1, 8 + i, leafSpte(100 + i)]),
      sept: [2, 3, 4, 5].map((i) => [1, 8 + i, sept_entry_value(SEPT_STATE_MAPPED, 101 + i, 0)]),
      want: [[1, 8, 14]],
    },
    {
      name: 'ranges that agree where they overlap',
      mirror: [0, 1, 2, 3].map((i) => [1, 8 + i, leafSpte(100 + i)]),
      sept: [1, 2, 3].map((i) => [1, 8 + i, sept_entry_value(SEPT_STATE_PENDING, 100 + i, 0)]),
      want: [[1, 8, 9]],
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const d = findDisagreements(rangesOf('mirror', c.mirror), rangesOf('sept', c.sept));
      expect(d.level.map((l, i) => [l, d.gfnStart[i], d.gfnEnd[i]])).toEqual(c.want);
      expect(d.entries).toBe(c.want.reduce((n, [, s, e]) => n + e - s, 0));
    });
  }
});
