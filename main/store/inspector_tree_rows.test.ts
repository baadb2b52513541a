import { describe, expect, it } from 'vitest';
import { SEPT_STATE_MAPPED, SEPT_STATE_NL_MAPPED, sept_entry_value } from '../../shared/sept.ts';
import { SPTE_MMU_PRESENT_MASK, VMX_EPT_RWX_MASK } from '../../shared/spte.ts';
import { findDisagreements } from './inspector_disagreements.ts';
import { newRanges } from './inspector_ranges.ts';
import { treeRows } from './inspector_tree_rows.ts';
import { leafSpte, nonLeafSpte, rangesOf } from './inspector_test_support.ts';

describe('treeRows', () => {
  const base = 0x80000;
  const table: { name: string; leaves: number[]; changed: number | null; wantRows: number[] }[] = [
    { name: 'contiguous pfns merge into one row', leaves: [10, 11, 12, 13], changed: null, wantRows: [4] },
    { name: 'a pfn gap splits the range', leaves: [10, 11, 20, 21], changed: null, wantRows: [2, 2] },
    { name: 'the changed entry gets its own row', leaves: [10, 11, 12, 13], changed: 2, wantRows: [2, 1, 1] },
    { name: 'a single entry is one row', leaves: [10], changed: null, wantRows: [1] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const ranges = rangesOf('mirror', [[2, base, nonLeafSpte(0x999)], ...c.leaves.map((pfn, i): [number, number, number] => [1, base + i, leafSpte(pfn)])]);
      const changed = c.changed === null ? null : { level: 1, gfn: base + c.changed, removedValue: null };
      const { rows, truncated } = treeRows('mirror', ranges, changed, findDisagreements(newRanges(0), newRanges(0)), 100);
      expect(truncated).toBe(false);
      expect(rows[0]).toMatchObject({ depth: 0, level: 2, leaf: false, kind: 'non-leaf' });
      expect(rows.slice(1).map((r) => r.count)).toEqual(c.wantRows);
      expect(rows.slice(1).every((r) => r.depth === 1 && r.leaf)).toBe(true);
      expect(rows[1].label).toMatch(/^4K gfn 0x80000/);
    });
  }

  it('stops at rowsMax and says so', () => {
    const r = rangesOf('mirror', Array.from({ length: 10 }, (_, i): [number, number, number] => [1, 0x1000 + 2 * i, leafSpte(5 + i)]));
    const { rows, truncated } = treeRows('mirror', r, null, findDisagreements(newRanges(0), newRanges(0)), 4);
    expect(rows.length).toBe(4);
    expect(truncated).toBe(true);
  });
});

describe('unlinked tables', () => {
  it('a filled but unlinked child page is labelled and not compared', () => {
    // A 2M huge leaf still in place while its replacement 4K page is filled (a split in progress).
    const huge = 0x200 * 4096 + SPTE_MMU_PRESENT_MASK + VMX_EPT_RWX_MASK + 0x30 + 0x80;
    const mirror = rangesOf('mirror', [[3, 0, nonLeafSpte(0x500)], [2, 0x200, huge], [1, 0x200, leafSpte(0x200)], [1, 0x201, leafSpte(0x201)]]);
    const sept = rangesOf('sept', [[3, 0, sept_entry_value(SEPT_STATE_NL_MAPPED, 0x500, 0)], [2, 0x200, sept_entry_value(SEPT_STATE_MAPPED, 0x200, 0)]]);
    const dis = findDisagreements(mirror, sept);
    expect(dis.entries).toBe(0); // the huge leaf agrees (MAPPED, same pfn); the unlinked 4K page is not compared
    const { rows } = treeRows('mirror', mirror, null, dis, 100);
    expect(rows.map((r) => r.label.startsWith('(unlinked)'))).toEqual([false, false, true]);
    expect(rows[2].count).toBe(2);
    expect(rows[2].mismatch).toBe(false);
  });
});
