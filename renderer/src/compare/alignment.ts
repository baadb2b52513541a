// Mapping a cursor between two runs aligned by scenario operation (shared/api/compare.ts). The
// shared axis is the operation ordinal: an event of run A at a fraction f through its operation
// maps to the event at the same fraction through that operation in run B. Events outside every
// operation map to the nearest operation boundary. Pure: tested without a browser.
import type { AlignedOp, OpSpan } from '../../../shared/api/compare.ts';
import type { SimEvent } from '../../../shared/event.ts';

export type Side = 'a' | 'b';

export function other(side: Side): Side {
  return side === 'a' ? 'b' : 'a';
}

/** The aligned operation whose span on `side` holds `seq`, else the last one starting before it. */
export function opAt(ops: readonly AlignedOp[], side: Side, seq: number): AlignedOp | null {
  let best: AlignedOp | null = null;
  for (const op of ops) {
    const span = op[side];
    if (span === null) continue;
    if (seq >= span.seqFirst && seq <= span.seqLast) return op;
    if (span.seqFirst <= seq && (best === null || (best[side]?.seqFirst ?? -1) < span.seqFirst)) best = op;
  }
  return best;
}

/** The event of the other run aligned with `seq` of `side`. */
export function mapCursor(ops: readonly AlignedOp[], side: Side, seq: number): number {
  const op = opAt(ops, side, seq);
  if (op === null) return 0;
  const from = op[side] as OpSpan;
  const to = op[other(side)];
  if (to === null) return nearestSpanEnd(ops, other(side), op.ordinal);
  const width = from.seqLast - from.seqFirst;
  const fraction = width === 0 ? 0 : Math.min(1, Math.max(0, (seq - from.seqFirst) / width));
  return to.seqFirst + Math.round(fraction * (to.seqLast - to.seqFirst));
}

/** Where the other run was last, at or before operation `ordinal` (it may have stopped early). */
function nearestSpanEnd(ops: readonly AlignedOp[], side: Side, ordinal: number): number {
  let seq = 0;
  for (const op of ops) {
    if (op.ordinal > ordinal) break;
    const span = op[side];
    if (span !== null) seq = Math.max(seq, span.seqLast);
  }
  return seq;
}

/**
 * The x position (0..1 within the visible operations [opFrom, opTo]) of each event: each
 * visible operation gets an equal slot, and an operation's events share its slot by rank. So
 * the same operation lines up in both runs however many events each design took for it.
 */
export function layoutEvents(events: readonly SimEvent[], opFrom: number, opTo: number): Map<number, number> {
  const slots = Math.max(1, opTo - opFrom + 1);
  const byOp = new Map<number, SimEvent[]>();
  for (const e of events) {
    if (e.op < opFrom || e.op > opTo) continue;
    let list = byOp.get(e.op);
    if (list === undefined) byOp.set(e.op, (list = []));
    list.push(e);
  }
  const x = new Map<number, number>();
  for (const [op, list] of byOp) {
    const slot = op - opFrom;
    list.forEach((e, rank) => x.set(e.seq, (slot + (rank + 0.5) / list.length) / slots));
  }
  return x;
}

/** The visible range after zooming around `center` by `factor` (< 1 zooms in), clamped. */
export function zoomRange(opFrom: number, opTo: number, center: number, factor: number, opMax: number): [number, number] {
  const width = opTo - opFrom + 1;
  const widthNext = Math.min(opMax + 1, Math.max(1, Math.round(width * factor)));
  let from = Math.round(center - (center - opFrom) * (widthNext / width));
  from = Math.min(Math.max(0, from), Math.max(0, opMax + 1 - widthNext));
  return [from, from + widthNext - 1];
}

/** The range shifted by `delta` operations, clamped to [0, opMax]. */
export function panRange(opFrom: number, opTo: number, delta: number, opMax: number): [number, number] {
  const width = opTo - opFrom;
  const from = Math.min(Math.max(0, opFrom + delta), Math.max(0, opMax - width));
  return [from, from + width];
}
