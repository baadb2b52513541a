import { describe, expect, it } from 'vitest';
import type { AlignedOp } from '../../../shared/api/compare.ts';
import type { SimEvent } from '../../../shared/event.ts';
import { layoutEvents, mapCursor, opAt, panRange, zoomRange } from './alignment.ts';

const op = (ordinal: number, a: [number, number] | null, b: [number, number] | null): AlignedOp => ({
  ordinal,
  label: `op ${ordinal}`,
  a: a && { seqFirst: a[0], seqLast: a[1], events: a[1] - a[0] + 1 },
  b: b && { seqFirst: b[0], seqLast: b[1], events: b[1] - b[0] + 1 },
  differs: false,
  hooksDiffer: false,
});

// A takes 10 events for op 0 and 4 for op 1; B takes 20 and 40; B never reaches op 2.
const OPS = [op(0, [0, 9], [0, 19]), op(1, [10, 13], [20, 59]), op(2, [14, 20], null)];

describe('mapCursor (linked cursors by scenario operation)', () => {
  it.each([
    ['start of op 0', 'a', 0, 0],
    ['end of op 0', 'a', 9, 19],
    ['middle of op 1 by fraction (2/3 of the way)', 'a', 12, 46],
    ['from B back to A', 'b', 40, 12],
    ['an op B never reached: where B stopped', 'a', 15, 59],
  ] as const)('%s', (_name, side, seq, want) => {
    expect(mapCursor(OPS, side, seq)).toBe(want);
  });

  it('finds the operation holding a seq, or the last one begun', () => {
    expect(opAt(OPS, 'b', 25)?.ordinal).toBe(1);
    expect(opAt(OPS, 'b', 99)?.ordinal).toBe(1);
    expect(opAt([], 'a', 3)).toBeNull();
  });
});

describe('layoutEvents', () => {
  it('gives each visible operation the same slot, whatever its event count', () => {
    const ev = (seq: number, op: number) => ({ seq, op }) as SimEvent;
    const x = layoutEvents([ev(0, 0), ev(1, 0), ev(2, 1), ev(3, 2)], 0, 1);
    expect([x.get(0), x.get(1), x.get(2)]).toEqual([0.125, 0.375, 0.75]);
    expect(x.has(3)).toBe(false); // op 2 is outside the visible range
  });
});

describe('zoom and pan stay in range', () => {
  it.each([
    ['zoom in around the middle', [0, 99], 50, 0.5, 99, [25, 74]],
    ['zoom out clamps to everything', [10, 20], 15, 100, 99, [0, 99]],
    ['one operation at least', [5, 5], 5, 0.1, 99, [5, 5]],
  ] as const)('%s', (_name, range, center, factor, opMax, want) => {
    expect(zoomRange(range[0], range[1], center, factor, opMax)).toEqual(want);
  });

  it('pans without leaving [0, opMax]', () => {
    expect(panRange(0, 9, -5, 99)).toEqual([0, 9]);
    expect(panRange(90, 99, 5, 99)).toEqual([90, 99]);
    expect(panRange(10, 19, 5, 99)).toEqual([15, 24]);
  });
});
