import { describe, expect, it } from 'vitest';
import type { InspectorRow } from '../../../shared/api/runs.ts';
import { rowKey, shownRows } from './inspector_rows.ts';

function row(depth: number, level: number, gfnStart: number, span: number, flags: Partial<InspectorRow> = {}): InspectorRow {
  return { depth, level, gfnStart, gfnEnd: gfnStart + span, count: 1, value: 0, valueLast: 0, leaf: false, kind: 'non-leaf', label: '', changed: false, removed: false, mismatch: false, ...flags };
}

// root L4 > L3 > two L2 tables, each with one leaf range.
const rows: InspectorRow[] = [
  row(0, 4, 0, 1 << 27),
  row(1, 3, 0, 1 << 18),
  row(2, 2, 0, 512),
  row(3, 1, 0, 16, { leaf: true }),
  row(2, 2, 512, 512),
  row(3, 1, 512, 16, { leaf: true }),
];

describe('shownRows', () => {
  const table: { name: string; rows: InspectorRow[]; toggled: string[]; gfn: number | null; want: number[] }[] = [
    { name: 'top two depths open by default', rows, toggled: [], gfn: null, want: [0, 1, 2, 4] },
    { name: 'a toggle opens a closed row', rows, toggled: [rowKey(rows[2])], gfn: null, want: [0, 1, 2, 3, 4] },
    { name: 'a toggle closes an open row', rows, toggled: [rowKey(rows[1])], gfn: null, want: [0, 1] },
    { name: 'the searched GFN opens its path', rows, toggled: [], gfn: 520, want: [0, 1, 2, 4, 5] },
    { name: 'a changed entry opens its path', rows: rows.map((r, i) => (i === 3 ? { ...r, changed: true } : r)), toggled: [], gfn: null, want: [0, 1, 2, 3, 4] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const { shown } = shownRows(c.rows, new Set(c.toggled), c.gfn, 2);
      expect(shown.map((s) => c.rows.indexOf(s.row))).toEqual(c.want);
    });
  }

  it('opens three depths by default', () => {
    expect(shownRows(rows, new Set(), null).shown.length).toBe(rows.length);
  });

  it('marks only the deepest row holding the GFN as found', () => {
    const { shown } = shownRows(rows, new Set(), 520, 2);
    expect(shown.filter((s) => s.found).map((s) => rows.indexOf(s.row))).toEqual([5]);
  });
});
