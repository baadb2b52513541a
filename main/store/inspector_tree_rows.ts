// The inspector's rows: one tree's ranges cut where a mark starts or ends, in pre-order.
//
// An entry at (level, gfn) is a child of the non-leaf entry at (level + 1, gfn aligned down to
// its span), and a row follows its table with depth + 1. Contiguous sibling leaves whose
// attributes match and whose pfns follow each other stay one row (the ranges already are); a
// row is cut only where the cursor's write or a disagreement starts or ends, so the renderer
// gets a few hundred rows, never a whole table. Labels use KVM's and the module's words.
import type { InspectorRow, InspectorTreeName } from '../../shared/api/runs.ts';
import type { U64 } from '../../shared/u64.ts';
import { disagreesAt, type Disagreements } from './inspector_disagreements.ts';
import { lowerBound, newRanges, nonLeafIndex, parentKey, valueAt, type EntryRanges } from './inspector_ranges.ts';
import { PAGES, hex, key, kindOf, levelName, pfnOf } from './inspector_values.ts';

/** What the cursor event did to one tree: the entry it wrote, and the one it emptied (old value). */
export interface CursorWrite {
  level: number;
  gfn: number;
  /** The value before the event when the event emptied the entry, else null. */
  removedValue: U64 | null;
}

/** Entry indices of range i where the disagreement mark flips, within (0, count). */
function disagreementCuts(d: Disagreements, level: number, gfn0: number, count: number): number[] {
  const span = PAGES[level];
  const cuts: number[] = [];
  let lo = 0;
  let hi = d.level.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (d.level[mid] > level || (d.level[mid] === level && d.gfnEnd[mid] <= gfn0)) lo = mid + 1;
    else hi = mid;
  }
  for (let j = lo; j < d.level.length && d.level[j] === level && d.gfnStart[j] < gfn0 + count * span; j++) {
    cuts.push(Math.ceil((d.gfnStart[j] - gfn0) / span), Math.ceil((d.gfnEnd[j] - gfn0) / span));
  }
  return cuts.filter((k) => k > 0 && k < count);
}

interface RowBuild {
  tree: InspectorTreeName;
  r: EntryRanges;
  /** Index in r of the entry the cursor event emptied, -1 when none. */
  removedAt: number;
  nonLeaf: Map<number, number>;
  changed: CursorWrite | null;
  dis: Disagreements;
  rows: InspectorRow[];
  rowsMax: number;
}

function makeRow(b: RowBuild, i: number, depth: number, k: number, n: number, leaf: boolean): InspectorRow {
  const level = b.r.level[i];
  const gfnStart = b.r.gfn[i] + k * PAGES[level];
  const value = valueAt(b.r.value[i], level, k);
  const removed = i === b.removedAt;
  return {
    depth,
    level,
    gfnStart,
    gfnEnd: gfnStart + n * PAGES[level],
    count: n,
    value,
    valueLast: valueAt(b.r.value[i], level, k + n - 1),
    leaf,
    kind: removed ? 'removed' : kindOf(b.tree, value, level),
    label: '',
    changed: b.changed !== null && b.changed.level === level && b.changed.gfn === gfnStart && n === 1,
    removed,
    mismatch: disagreesAt(b.dis, level, gfnStart),
  };
}

/** Emits range i (cut at its marks) and, for a non-leaf, its subtree. Returns false once rowsMax is hit. */
function emitRange(b: RowBuild, i: number, depth: number): boolean {
  const level = b.r.level[i];
  const count = b.r.count[i];
  if (i !== b.removedAt && count === 1 && b.nonLeaf.get(key(level, b.r.gfn[i])) === i) {
    if (b.rows.length >= b.rowsMax) return false;
    b.rows.push(makeRow(b, i, depth, 0, 1, false));
    const span = PAGES[level];
    return emitSlice(b, lowerBound(b.r, level - 1, b.r.gfn[i]), lowerBound(b.r, level - 1, b.r.gfn[i] + span), depth + 1);
  }
  const cuts = disagreementCuts(b.dis, level, b.r.gfn[i], count);
  const c = b.changed;
  if (c !== null && c.level === level) {
    const k = (c.gfn - b.r.gfn[i]) / PAGES[level];
    if (Number.isInteger(k) && k >= 0 && k < count) cuts.push(k, k + 1);
  }
  const edges = [0, ...cuts.filter((k) => k > 0 && k < count).sort((x, y) => x - y), count];
  for (let e = 0; e + 1 < edges.length; e++) {
    if (edges[e + 1] === edges[e]) continue;
    if (b.rows.length >= b.rowsMax) return false;
    b.rows.push(makeRow(b, i, depth, edges[e], edges[e + 1] - edges[e], true));
  }
  return true;
}

/** Emits ranges [from, to) (all children of one table) in order. */
function emitSlice(b: RowBuild, from: number, to: number, depth: number): boolean {
  for (let i = from; i < to; i++) if (!emitRange(b, i, depth)) return false;
  return true;
}

/** The ranges with the emptied entry put back (as its old value) so it can be shown once. */
function withRemoved(r: EntryRanges, c: CursorWrite | null): { r: EntryRanges; removedAt: number } {
  if (c === null || c.removedValue === null) return { r, removedAt: -1 };
  const at = lowerBound(r, c.level, c.gfn);
  const out = newRanges(r.n + 1);
  for (const [src, dst] of [[r.level, out.level], [r.gfn, out.gfn], [r.count, out.count], [r.value, out.value]] as const) {
    (dst as Float64Array).set((src as Float64Array).subarray(0, at), 0);
    (dst as Float64Array).set((src as Float64Array).subarray(at, r.n), at + 1);
  }
  out.level[at] = c.level;
  out.gfn[at] = c.gfn;
  out.count[at] = 1;
  out.value[at] = c.removedValue;
  out.n = r.n + 1;
  return { r: out, removedAt: at };
}

/** The entries of the ranges whose gfn span meets [gfnStart, gfnEnd): the path to the window and what is in it. */
export function clipRanges(r: EntryRanges, gfnStart: number, gfnEnd: number): EntryRanges {
  const out = newRanges(r.n);
  for (let i = 0; i < r.n; i++) {
    const span = PAGES[r.level[i]];
    const kFirst = Math.max(0, Math.floor((gfnStart - r.gfn[i]) / span));
    const kEnd = Math.min(r.count[i], Math.ceil((gfnEnd - r.gfn[i]) / span));
    if (kEnd <= kFirst) continue;
    out.level[out.n] = r.level[i];
    out.gfn[out.n] = r.gfn[i] + kFirst * span;
    out.count[out.n] = kEnd - kFirst;
    out.value[out.n] = valueAt(r.value[i], r.level[i], kFirst);
    out.n++;
  }
  return out;
}

/** Pre-order rows of one tree at the cursor, marks applied, at most rowsMax. */
export function treeRows(tree: InspectorTreeName, ranges: EntryRanges, changed: CursorWrite | null, dis: Disagreements, rowsMax: number): { rows: InspectorRow[]; truncated: boolean } {
  const { r, removedAt } = withRemoved(ranges, changed);
  const nonLeaf = nonLeafIndex(tree, r);
  if (removedAt >= 0 && nonLeaf.get(key(r.level[removedAt], r.gfn[removedAt])) === removedAt) nonLeaf.delete(key(r.level[removedAt], r.gfn[removedAt]));
  const b: RowBuild = { tree, r, removedAt, nonLeaf, changed, dis, rows: [], rowsMax };
  let complete = true;
  for (let i = 0; i < r.n && complete; i++) {
    // A root: no present non-leaf above it (the top level, or a table not linked).
    if (!nonLeaf.has(parentKey(r.level[i], r.gfn[i]))) complete = emitRange(b, i, 0);
  }
  const topLevel = r.n === 0 ? 0 : r.level[0];
  for (const row of b.rows) row.label = (row.depth === 0 && row.level < topLevel ? '(unlinked) ' : '') + labelOf(tree, row);
  return { rows: b.rows, truncated: !complete };
}

/** The row's text, in KVM's and the module's words (kvm_mmu_page "sp gfn .. l.." header; S-EPT state). */
export function labelOf(tree: InspectorTreeName, r: InspectorRow): string {
  const range = r.count === 1 ? `gfn ${hex(r.gfnStart)}` : `gfn ${hex(r.gfnStart)}-${hex(r.gfnEnd - 1)} (${r.count}x${levelName(r.level)})`;
  const head = `${levelName(r.level)} ${range}`;
  const pfnFirst = pfnOf(tree, r.value);
  const pfnLast = pfnOf(tree, r.valueLast);
  const pfns = pfnFirst === 0 ? '' : r.count === 1 ? ` pfn ${hex(pfnFirst)}` : ` pfn ${hex(pfnFirst)}-${hex(pfnLast)}`;
  if (tree === 'sept') return `${head} ${r.removed ? 'removed' : r.kind}${pfns}`;
  if (r.removed) return `${head} removed${pfns}`;
  if (!r.leaf) return `${head} -> sp gfn ${r.gfnStart.toString(16)} l${r.level - 1} mirror${pfns}`;
  return `${head} ${r.kind}${pfns}`;
}
