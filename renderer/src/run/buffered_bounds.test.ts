import { describe, expect, it } from 'vitest';
import { boundsCover, bufferedBounds, pow2AtLeast } from './buffered_bounds.ts';

describe('bufferedBounds', () => {
  const table: { name: string; visible: [number, number]; width: number; count: number; want: { seqFrom: number; seqTo: number; bucketSize: number } }[] = [
    { name: 'whole small run, one event per pixel or less', visible: [0, 500], width: 1000, count: 500, want: { seqFrom: 0, seqTo: 500, bucketSize: 1 } },
    { name: 'padded by one width each side, aligned to buckets', visible: [10_000, 11_000], width: 250, count: 1_000_000, want: { seqFrom: 9_000, seqTo: 12_000, bucketSize: 4 } },
    { name: 'clamped at the run end', visible: [999_000, 1_000_000], width: 1000, count: 1_000_000, want: { seqFrom: 998_000, seqTo: 1_000_000, bucketSize: 1 } },
    { name: 'a million events on 1000 px: 1024 per bucket', visible: [0, 1_000_000], width: 1000, count: 1_000_000, want: { seqFrom: 0, seqTo: 1_000_448, bucketSize: 1024 } },
  ];
  for (const c of table) {
    it(c.name, () => {
      const b = bufferedBounds({ start: c.visible[0], end: c.visible[1] }, c.width, c.count);
      expect({ seqFrom: b.seqFrom, seqTo: b.seqTo, bucketSize: b.bucketSize }).toEqual(c.want);
      expect(b.buckets * b.bucketSize).toBe(b.seqTo - b.seqFrom);
    });
  }

  it('a small pan stays inside the loaded window; a zoom changes the resolution', () => {
    const loaded = bufferedBounds({ start: 10_000, end: 11_000 }, 250, 1_000_000);
    const panned = { start: 10_300, end: 11_300 };
    expect(boundsCover(loaded, bufferedBounds(panned, 250, 1_000_000), panned)).toBe(true);
    const far = { start: 13_000, end: 14_000 };
    expect(boundsCover(loaded, bufferedBounds(far, 250, 1_000_000), far)).toBe(false);
    const zoomed = { start: 10_200, end: 10_400 };
    expect(boundsCover(loaded, bufferedBounds(zoomed, 250, 1_000_000), zoomed)).toBe(false);
  });

  it('pow2AtLeast', () => {
    expect([1, 2, 3, 1000, 1024, 1025].map(pow2AtLeast)).toEqual([1, 2, 4, 1024, 1024, 2048]);
  });
});
