// Which window of the run to fetch for the timeline (Perfetto's
// components/tracks/buffered_bounds.ts): the visible range padded by one visible width on each
// side, with a power-of-two bucket size (events per pixel, rounded up) and edges aligned to
// whole buckets, so that panning within the padding reuses the loaded window and the same zoom
// level always asks with the same keys.

export interface SeqRange {
  start: number;
  end: number;
}

export interface FetchBounds {
  seqFrom: number;
  seqTo: number;
  bucketSize: number;
  buckets: number;
}

/** Smallest power of two >= n (n >= 1). */
export function pow2AtLeast(n: number): number {
  let p = 1;
  for (let i = 0; i < 53 && p < n; i++) p *= 2;
  return p;
}

/** The bounds to fetch for `visible` drawn over `widthPx` pixels of a run of `eventCount` events. */
export function bufferedBounds(visible: SeqRange, widthPx: number, eventCount: number): FetchBounds {
  const span = Math.max(1, visible.end - visible.start);
  const bucketSize = pow2AtLeast(Math.ceil(span / Math.max(1, widthPx)));
  const from = Math.max(0, Math.floor((visible.start - span) / bucketSize) * bucketSize);
  const toRaw = Math.min(Math.max(eventCount, 1), Math.ceil(visible.end + span));
  const to = Math.max(from + bucketSize, Math.ceil(toRaw / bucketSize) * bucketSize);
  return { seqFrom: from, seqTo: to, bucketSize, buckets: Math.ceil((to - from) / bucketSize) };
}

/** Whether data loaded for `loaded` can draw `wanted`: same resolution and covering it. */
export function boundsCover(loaded: FetchBounds, wanted: FetchBounds, visible: SeqRange): boolean {
  return loaded.bucketSize === wanted.bucketSize && loaded.seqFrom <= Math.max(0, visible.start) && loaded.seqTo >= Math.min(visible.end, wanted.seqTo);
}

export function boundsKey(b: FetchBounds): string {
  return `${b.seqFrom}:${b.seqTo}:${b.bucketSize}`;
}
