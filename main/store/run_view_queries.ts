// Queries of the Run view that the general ones (queries.ts) do not answer: the inspector's two
// trees built, merged and compared in main (so the renderer never holds a whole table), counts
// by kind over a range, the timeline's markers, an entry's next write, and the spans still open
// at the left edge of a timeline window.
//
// Tree model (Trace Compass's attribute tree; gdb-pt-dump's merged ranges): an entry at
// (level, gfn) is a child of the non-leaf entry at (level + 1, gfn aligned down to its span).
// Contiguous sibling leaves whose attributes match and whose pfns follow each other become one
// row. Disagreement follows the invariant checker's rules (PRODUCT.md section 2): a present
// mirror leaf needs a MAPPED or PENDING S-EPT leaf with the same pfn at the same level, a mirror
// non-leaf needs NL_MAPPED, and an S-EPT entry with no present mirror entry is a disagreement.
// A frozen mirror entry is mid-update, so neither side is marked there.
//
// Why ranges, not entries (PRODUCT.md section 5: any event of a 1,000,000-event run in under
// 50 ms). A big run's state holds ~100k entries per tree but only a few hundred merged ranges,
// so the inspector never touches entries one by one. Each tree is kept run-length encoded
// (EntryRanges: the merged-row rule without the cursor's marks); the writes since a checkpoint
// are merged into the ranges in one pass; disagreements are found range against range (over a
// piece where both trees' ranges overlap, the verdict is the same for every entry, see
// segmentDisagrees); rows are cut from the ranges where a mark starts or ends. Checkpoints
// (InspectorIndex) are built per run by one sweep over its writes, in background slices, so a
// cursor anywhere reads at most CHECKPOINT_EVENTS events.
import { LAYERS, LAYER_ID, TREE_ID, type SimEvent, type Tree } from '../../shared/event.ts';
import {
  INSPECTOR_ROWS_MAX, MARKERS_MAX, type InspectorRow, type InspectorState, type InspectorTreeName,
  type RangeKindCounts, type RunMarker,
} from '../../shared/api/runs.ts';
import { SEPT_STATE_MAPPED, SEPT_STATE_NAMES, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING, sept_state_is_leaf, sept_state_of } from '../../shared/sept.ts';
import { KVM_PAGES_PER_HPAGE, is_frozen_spte, is_last_spte, is_large_pte, is_shadow_present_pte } from '../../shared/spte.ts';
import { TWO_40, type U64 } from '../../shared/u64.ts';
import { assert, eventKey, prepared, type ReadableDB } from './db.ts';
import { eventAt, runStrings } from './events_read.ts';
import { isEmptyValue } from './page_state.ts';
import { stateAtColumns } from './state_query.ts';

const LEVEL_NAMES = ['', '4K', '2M', '1G', '512G', '256T'];
const LEVEL_MAX = 5;
/** gfns are below 2^46 (import_run.ts GFN_MAX): the sort key puts the level above them. */
const GFN_END = 2 ** 46;
/** KVM_PAGES_PER_HPAGE by level, one past the top so a top entry's "parent span" exists. */
const PAGES = [0, 1, 2, 3, 4, 5, 6, 7].map((l) => (l === 0 ? 0 : KVM_PAGES_PER_HPAGE(l)));

export function levelName(level: number): string {
  return LEVEL_NAMES[level] ?? `L${level}`;
}

function key(level: number, gfn: number): number {
  return gfn * 8 + level;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** The entry with the pfn bits cleared: two entries merge when this matches. */
function attributesOf(v: U64): number {
  return (v % 4096) + Math.floor(v / TWO_40) * TWO_40;
}

/** The value's pfn field (bits 39:12 as packed), present or not: what a range steps. */
function rawPfn(v: U64): number {
  return Math.floor((v % TWO_40) / 4096);
}

/** The pfn an entry holds (bits 51:12, kept up to bit 39 by the packing), 0 for a non-present SPTE. */
function pfnOf(tree: InspectorTreeName, v: U64): number {
  if (tree === 'mirror') return is_shadow_present_pte(v) ? rawPfn(v) : 0;
  return rawPfn(v);
}

/** Whether an entry has a table under it (so rows follow it with depth + 1). */
function isNonLeafValue(tree: InspectorTreeName, v: U64, level: number): boolean {
  if (level === 1) return false;
  if (tree === 'mirror') return is_shadow_present_pte(v) && !is_large_pte(v);
  const state = sept_state_of(v);
  return state >= 0 && !sept_state_is_leaf(state);
}

function mirrorKind(v: U64, level: number): string {
  if (is_frozen_spte(v)) return 'frozen';
  if (!is_shadow_present_pte(v)) return 'other';
  if (!is_last_spte(v, level)) return 'non-leaf';
  return level > 1 ? 'huge' : 'leaf';
}

function kindOf(tree: InspectorTreeName, v: U64, level: number): string {
  if (tree === 'mirror') return mirrorKind(v, level);
  return SEPT_STATE_NAMES[sept_state_of(v)] ?? 'INVALID';
}

// ---------------------------------------------------------------------------------------------
// Ranges: one tree's entries, run-length encoded.

/**
 * One tree's entries as ranges, sorted by (level desc, gfn). Range i stands for count[i]
 * entries at level[i], the k-th at gfn[i] + k * KVM_PAGES_PER_HPAGE(level) with value
 * valueAt(i, k): the pfn field steps with the gfn, or the value repeats when its pfn field is 0.
 * A range never crosses its parent table, and a non-leaf entry is always a range of its own.
 */
export interface EntryRanges {
  n: number;
  level: Uint8Array;
  gfn: Float64Array;
  count: Uint32Array;
  value: Float64Array;
}

export function newRanges(capacity: number): EntryRanges {
  return { n: 0, level: new Uint8Array(capacity), gfn: new Float64Array(capacity), count: new Uint32Array(capacity), value: new Float64Array(capacity) };
}

/** The value of the k-th entry of a range whose first entry is `first`. */
function valueAt(first: U64, level: number, k: number): U64 {
  return rawPfn(first) === 0 ? first : first + k * PAGES[level] * 4096;
}

/**
 * Appends `count` entries from (level, gfn, value) to `out`, joining the last range when the
 * merged-row rule allows: same level and parent table, gfns adjacent, neither a non-leaf, equal
 * attributes, and the pfn field continuing (or both 0 and the values equal). Callers append in
 * (level desc, gfn) order; capacity is theirs to size.
 */
function pushRange(tree: InspectorTreeName, out: EntryRanges, level: number, gfn: number, count: number, value: U64): void {
  const i = out.n - 1;
  if (i >= 0 && out.level[i] === level && !isNonLeafValue(tree, value, level)) {
    const span = PAGES[level];
    const first = out.value[i];
    const adjacent = out.gfn[i] + out.count[i] * span === gfn && Math.floor(out.gfn[i] / PAGES[level + 1]) === Math.floor(gfn / PAGES[level + 1]);
    if (adjacent && attributesOf(first) === attributesOf(value) && !isNonLeafValue(tree, first, level)) {
      const pfn = rawPfn(first);
      if (pfn === 0 ? value === first : rawPfn(value) === pfn + out.count[i] * span) {
        out.count[i] += count;
        return;
      }
    }
  }
  out.level[out.n] = level;
  out.gfn[out.n] = gfn;
  out.count[out.n] = count;
  out.value[out.n] = value;
  out.n++;
}

/** The last write per entry over some events, sorted by (level desc, gfn); value NaN = emptied. */
export interface EntryWrites {
  n: number;
  level: Uint8Array;
  gfn: Float64Array;
  value: Float64Array;
}

/** Whether write w sorts before the entry (level, gfn). */
function writeBefore(w: EntryWrites, i: number, level: number, gfn: number): boolean {
  return w.level[i] > level || (w.level[i] === level && w.gfn[i] < gfn);
}

/**
 * The ranges after the writes: one merge pass over both sorted streams. A write inside a range
 * cuts it (entries before, the write, entries after), and pushRange joins what still follows
 * the rule, so the answer is as merged as if it had been built from entries.
 */
export function applyWrites(tree: InspectorTreeName, base: EntryRanges, writes: EntryWrites): EntryRanges {
  const out = newRanges(base.n + 2 * writes.n + 1);
  const pushWrite = (i: number): void => {
    if (!Number.isNaN(writes.value[i])) pushRange(tree, out, writes.level[i], writes.gfn[i], 1, writes.value[i]);
  };
  let w = 0;
  for (let r = 0; r < base.n; r++) {
    const level = base.level[r];
    const gfn0 = base.gfn[r];
    const count = base.count[r];
    const first = base.value[r];
    const span = PAGES[level];
    for (; w < writes.n && writeBefore(writes, w, level, gfn0); w++) pushWrite(w);
    let k = 0;
    for (; w < writes.n && writes.level[w] === level && writes.gfn[w] < gfn0 + count * span; w++) {
      // An entry gfn is aligned to its span; a misaligned one (only in a hand-made file) sits
      // between two of the range's entries and replaces neither.
      const at = (writes.gfn[w] - gfn0) / span;
      const before = Math.ceil(at);
      if (before > k) pushRange(tree, out, level, gfn0 + k * span, before - k, valueAt(first, level, k));
      pushWrite(w);
      k = Math.max(k, Number.isInteger(at) ? at + 1 : before);
    }
    if (k < count) pushRange(tree, out, level, gfn0 + k * span, count - k, valueAt(first, level, k));
  }
  for (; w < writes.n; w++) pushWrite(w);
  return out;
}

/** Ranges of one tree's state columns (sorted by (level desc, gfn), empty entries dropped). */
export function rangesOfColumns(tree: InspectorTreeName, cols: { level: ArrayLike<number>; gfn: ArrayLike<number>; value: ArrayLike<number> }): EntryRanges {
  const out = newRanges(cols.gfn.length);
  const t = TREE_ID[tree];
  for (let i = 0; i < cols.gfn.length; i++) {
    if (!isEmptyValue(t, cols.value[i])) pushRange(tree, out, cols.level[i], cols.gfn[i], 1, cols.value[i]);
  }
  return out;
}

/**
 * Sorts raw writes (in seq order) into per-tree EntryWrites, the last write per entry winning.
 * `rows` are [tree, level, gfn, new] with `new` null when absent (an emptied entry).
 */
export function writesOf(rows: readonly (readonly [number, number, number, number | null])[]): { mirror: EntryWrites; sept: EntryWrites } {
  const last = [new Map<number, number>(), new Map<number, number>()];
  for (const [tree, level, gfn, nw] of rows) {
    if (tree !== TREE_ID.mirror && tree !== TREE_ID.sept) continue;
    const v = nw === null || isEmptyValue(tree, nw) ? NaN : nw;
    last[tree === TREE_ID.mirror ? 0 : 1].set((LEVEL_MAX - level) * GFN_END + gfn, v);
  }
  const [mirror, sept] = last.map((m) => {
    const out: EntryWrites = { n: m.size, level: new Uint8Array(m.size), gfn: new Float64Array(m.size), value: new Float64Array(m.size) };
    const keys = Float64Array.from(m.keys()).sort();
    for (let i = 0; i < keys.length; i++) {
      const gfn = keys[i] % GFN_END;
      out.level[i] = LEVEL_MAX - (keys[i] - gfn) / GFN_END;
      out.gfn[i] = gfn;
      out.value[i] = m.get(keys[i])!;
    }
    return out;
  });
  return { mirror, sept };
}

// ---------------------------------------------------------------------------------------------
// Linking and disagreement, range against range.

/** Index of the first range at or after (level, gfn) in (level desc, gfn) order. */
function lowerBound(r: EntryRanges, level: number, gfn: number): number {
  let lo = 0;
  let hi = r.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (r.level[mid] > level || (r.level[mid] === level && r.gfn[mid] < gfn)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Non-leaf entries by key(level, gfn) -> range index (a non-leaf is always a range of one). */
function nonLeafIndex(tree: InspectorTreeName, r: EntryRanges): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < r.n && r.level[i] > 1; i++) if (isNonLeafValue(tree, r.value[i], r.level[i])) m.set(key(r.level[i], r.gfn[i]), i);
  return m;
}

function parentKey(level: number, gfn: number): number {
  const span = PAGES[level + 1];
  return key(level + 1, Math.floor(gfn / span) * span);
}

/**
 * Which ranges are reachable from the top level. A range under no present non-leaf is in a
 * table not linked (yet, or any more): KVM fills a split's child page before linking it
 * (tdp_mmu_split_huge_page), so such entries are shown but never compared.
 */
function linkedRanges(r: EntryRanges, nonLeaf: Map<number, number>): Uint8Array {
  const linked = new Uint8Array(r.n);
  const topLevel = r.n === 0 ? 0 : r.level[0];
  for (let i = 0; i < r.n; i++) {
    if (r.level[i] === topLevel) linked[i] = 1;
    else {
      const p = nonLeaf.get(parentKey(r.level[i], r.gfn[i]));
      linked[i] = p !== undefined && linked[p] === 1 ? 1 : 0;
    }
  }
  return linked;
}

/** Entries where the trees disagree, as gfn intervals per level, sorted by (level desc, gfn). */
export interface Disagreements {
  level: number[];
  gfnStart: number[];
  gfnEnd: number[];
  /** Entries covered. */
  entries: number;
}

/**
 * Whether the entries of [gfn, ...) disagree, given the linked mirror and S-EPT values there
 * (null: no linked entry). The checker's rule per entry; over a piece where both ranges
 * overlap it holds for every entry alike, because both pfns step with the gfn (or both are 0,
 * or one is 0 and the other never is).
 */
function segmentDisagrees(m: U64 | null, s: U64 | null, level: number): boolean {
  if (m !== null && is_frozen_spte(m)) return false;
  if (m === null || !is_shadow_present_pte(m)) return s !== null;
  const state = s === null ? -1 : sept_state_of(s);
  if (!is_last_spte(m, level)) return state !== SEPT_STATE_NL_MAPPED;
  return !((state === SEPT_STATE_MAPPED || state === SEPT_STATE_PENDING) && pfnOf('sept', s!) === pfnOf('mirror', m));
}

/** A cursor over one tree's linked ranges in (level desc, gfn) order. */
class LinkedCursor {
  i = -1;
  constructor(
    readonly r: EntryRanges,
    readonly linked: Uint8Array,
  ) {
    this.next();
  }
  next(): void {
    do this.i++;
    while (this.i < this.r.n && this.linked[this.i] === 0);
  }
  get done(): boolean {
    return this.i >= this.r.n;
  }
  get level(): number {
    return this.done ? 0 : this.r.level[this.i];
  }
  get start(): number {
    return this.r.gfn[this.i];
  }
  get end(): number {
    return this.r.gfn[this.i] + this.r.count[this.i] * PAGES[this.r.level[this.i]];
  }
  valueAt(gfn: number): U64 {
    return valueAt(this.r.value[this.i], this.r.level[this.i], (gfn - this.start) / PAGES[this.r.level[this.i]]);
  }
}

/**
 * The disagreements between the linked entries of both trees: a sweep over the pieces where
 * the set of covering ranges stays the same, one level at a time. Work is O(ranges).
 */
export function findDisagreements(mirror: EntryRanges, sept: EntryRanges): Disagreements {
  const out: Disagreements = { level: [], gfnStart: [], gfnEnd: [], entries: 0 };
  const m = new LinkedCursor(mirror, linkedRanges(mirror, nonLeafIndex('mirror', mirror)));
  const s = new LinkedCursor(sept, linkedRanges(sept, nonLeafIndex('sept', sept)));
  // Each turn skips a range, ends one, or reaches one's start: at most 3 * (ranges) turns.
  const turnsMax = 3 * (mirror.n + sept.n) + 2;
  let pos = -1;
  let level = 0;
  for (let turn = 0; turn < turnsMax && !(m.done && s.done); turn++) {
    const top = Math.max(m.level, s.level);
    if (top !== level) {
      level = top;
      pos = -1;
    }
    // Ranges of one tree never overlap, except misaligned entries of a hand-made file: skip
    // a range the sweep has passed rather than step back.
    if (m.level === level && m.end <= pos) {
      m.next();
      continue;
    }
    if (s.level === level && s.end <= pos) {
      s.next();
      continue;
    }
    const mAt = m.level === level;
    const sAt = s.level === level;
    pos = Math.max(pos, Math.min(mAt ? m.start : Infinity, sAt ? s.start : Infinity));
    const mCovers = mAt && m.start <= pos && pos < m.end;
    const sCovers = sAt && s.start <= pos && pos < s.end;
    const end = Math.min(mAt ? (mCovers ? m.end : m.start) : Infinity, sAt ? (sCovers ? s.end : s.start) : Infinity);
    if (segmentDisagrees(mCovers ? m.valueAt(pos) : null, sCovers ? s.valueAt(pos) : null, level)) addInterval(out, level, pos, end);
    pos = end;
    if (mAt && pos >= m.end) m.next();
    if (sAt && pos >= s.end) s.next();
  }
  assert(m.done && s.done, 'findDisagreements ran out of turns');
  return out;
}

function addInterval(out: Disagreements, level: number, gfnStart: number, gfnEnd: number): void {
  const last = out.level.length - 1;
  out.entries += Math.max(1, Math.round((gfnEnd - gfnStart) / PAGES[level]));
  if (last >= 0 && out.level[last] === level && out.gfnEnd[last] === gfnStart) {
    out.gfnEnd[last] = gfnEnd;
    return;
  }
  out.level.push(level);
  out.gfnStart.push(gfnStart);
  out.gfnEnd.push(gfnEnd);
}

// ---------------------------------------------------------------------------------------------
// Rows: the ranges cut where a mark starts or ends, in pre-order.

/** What the cursor event did to one tree: the entry it wrote, and the one it emptied (old value). */
export interface CursorWrite {
  level: number;
  gfn: number;
  /** The value before the event when the event emptied the entry, else null. */
  removedValue: U64 | null;
}

/** Whether (level, gfn) lies in one of the disagreement intervals (binary search). */
function disagreesAt(d: Disagreements, level: number, gfn: number): boolean {
  let lo = 0;
  let hi = d.level.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (d.level[mid] > level || (d.level[mid] === level && d.gfnStart[mid] <= gfn)) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && d.level[lo - 1] === level && gfn < d.gfnEnd[lo - 1];
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

// ---------------------------------------------------------------------------------------------
// Checkpoints: a run's ranges every CHECKPOINT_EVENTS events, built by one sweep of its writes.

/** Events between two checkpoints: a query reads at most this many (3.5 ms on the bench run). */
export const CHECKPOINT_EVENTS = 16384;
/** Ranges a run's checkpoints may hold (~21 bytes each); past it every other checkpoint goes. */
export const CHECKPOINT_RANGES_MAX = 2_000_000;
/** A query this far past the sweep waits for it; farther, it reads the store's state instead. */
const SYNC_SWEEP_EVENTS = 4 * CHECKPOINT_EVENTS;
/** Checkpoints made from the store's state (cold queries ahead of the sweep), kept at most. */
const SEEDS_MAX = 8;
/** Runs whose checkpoints are kept; the least recently asked goes first. */
const INDEXED_RUNS_MAX = 3;

interface Checkpoint {
  /** The state after the writes with seq <= this (-1: the empty start). */
  seq: number;
  mirror: EntryRanges;
  sept: EntryRanges;
}

/** The writes of events (afterSeq, seq], as the two trees' sorted last writes. */
function writesBetween(db: ReadableDB, runId: number, afterSeq: number, seq: number): { mirror: EntryWrites; sept: EntryWrites } {
  const rows = prepared(db, `SELECT tree, level, gfn, new FROM events WHERE key > ? AND key <= ? AND (tree = ${TREE_ID.mirror} OR tree = ${TREE_ID.sept})`)
    .raw(true)
    .all(eventKey(runId, 0) + afterSeq, eventKey(runId, seq)) as [number, number, number, number | null][];
  return writesOf(rows);
}

function advance(db: ReadableDB, runId: number, cp: Checkpoint, seq: number): Checkpoint {
  if (seq === cp.seq) return cp;
  const w = writesBetween(db, runId, cp.seq, seq);
  return { seq, mirror: applyWrites('mirror', cp.mirror, w.mirror), sept: applyWrites('sept', cp.sept, w.sept) };
}

/**
 * One run's checkpoints. The sweep moves `tip` forward CHECKPOINT_EVENTS at a time and keeps
 * every `stride`-th position in `grid`; a cursor reads from the nearest checkpoint at or
 * before it. Ahead of the sweep, a query takes the store's state at the cursor (stateAtColumns)
 * and keeps it as a seed, so the first look at a big run does not wait for the whole sweep.
 */
export class InspectorIndex {
  readonly runId: number;
  eventCount: number;
  #tip: Checkpoint = { seq: -1, mirror: newRanges(0), sept: newRanges(0) };
  /** Checkpoints at seq k * stride * CHECKPOINT_EVENTS - 1, in seq order. */
  #grid: Checkpoint[] = [this.#tip];
  #stride = 1;
  #gridRanges = 0;
  #seeds: Checkpoint[] = [];

  constructor(runId: number, eventCount: number) {
    this.runId = runId;
    this.eventCount = eventCount;
  }

  get sweptTo(): number {
    return this.#tip.seq;
  }

  get swept(): boolean {
    return this.#tip.seq >= this.eventCount - 1;
  }

  /** One sweep step: the next CHECKPOINT_EVENTS events' writes into the tip. */
  sweepStep(db: ReadableDB): void {
    if (this.swept) return;
    const seq = Math.min(this.eventCount - 1, this.#tip.seq + CHECKPOINT_EVENTS);
    this.#tip = advance(db, this.runId, this.#tip, seq);
    if ((seq + 1) % (this.#stride * CHECKPOINT_EVENTS) === 0) this.#keep(this.#tip);
    this.#seeds = this.#seeds.filter((s) => s.seq > this.#tip.seq);
  }

  /** Sweeps to the end (tests, small runs). Bounded by the run's length. */
  sweepAll(db: ReadableDB): void {
    const stepsMax = Math.ceil(this.eventCount / CHECKPOINT_EVENTS) + 1;
    for (let i = 0; i < stepsMax && !this.swept; i++) this.sweepStep(db);
  }

  #keep(cp: Checkpoint): void {
    this.#grid.push(cp);
    this.#gridRanges += cp.mirror.n + cp.sept.n;
    if (this.#gridRanges <= CHECKPOINT_RANGES_MAX) return;
    // Over budget: every other checkpoint goes, so a query may read twice as many events.
    this.#stride *= 2;
    this.#grid = this.#grid.filter((c) => (c.seq + 1) % (this.#stride * CHECKPOINT_EVENTS) === 0);
    this.#gridRanges = this.#grid.reduce((n, c) => n + c.mirror.n + c.sept.n, 0);
  }

  /** The latest checkpoint at or before seq. */
  #nearest(seq: number): Checkpoint {
    let lo = 0;
    let hi = this.#grid.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#grid[mid].seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    let best = this.#grid[Math.max(0, lo - 1)];
    for (const c of [this.#tip, ...this.#seeds]) if (c.seq <= seq && c.seq > best.seq) best = c;
    return best;
  }

  /** Both trees' ranges after the writes with seq <= `seq` (-1: empty). */
  rangesAt(db: ReadableDB, seq: number): Checkpoint {
    const reach = Math.max(2, this.#stride) * CHECKPOINT_EVENTS;
    let cp = this.#nearest(seq);
    if (seq - cp.seq > reach && seq - this.#tip.seq <= SYNC_SWEEP_EVENTS) {
      const stepsMax = SYNC_SWEEP_EVENTS / CHECKPOINT_EVENTS + 1;
      for (let i = 0; i < stepsMax && this.#tip.seq + CHECKPOINT_EVENTS <= seq; i++) this.sweepStep(db);
      cp = this.#nearest(seq);
    }
    if (seq - cp.seq > reach) {
      const cols = stateAtColumns(db, this.runId, seq);
      cp = { seq, mirror: rangesOfColumns('mirror', cols.mirror), sept: rangesOfColumns('sept', cols.sept) };
      this.#seeds = [cp, ...this.#seeds].slice(0, SEEDS_MAX);
    }
    return advance(db, this.runId, cp, seq);
  }
}

/**
 * The checkpoints of the runs the Run view looks at, by run id. With `background`, each query
 * leaves the sweep of its run running in slices of one step (setImmediate), so main stays
 * responsive while a big run is indexed. A closed database stops it.
 */
export class InspectorIndexes {
  readonly #db: ReadableDB;
  readonly #background: boolean;
  readonly #runs = new Map<number, InspectorIndex>();
  #sweeping: InspectorIndex | null = null;

  constructor(db: ReadableDB, opts: { background: boolean }) {
    this.#db = db;
    this.#background = opts.background;
  }

  /** The run's index, its event count brought up to date; the least recently used run beyond INDEXED_RUNS_MAX is dropped. */
  of(runId: number, eventCount: number): InspectorIndex {
    let index = this.#runs.get(runId);
    this.#runs.delete(runId);
    if (index === undefined || eventCount < index.eventCount) index = new InspectorIndex(runId, eventCount);
    index.eventCount = eventCount;
    this.#runs.set(runId, index);
    for (const id of this.#runs.keys()) if (this.#runs.size > INDEXED_RUNS_MAX) this.#runs.delete(id);
    return index;
  }

  forget(runId: number): void {
    this.#runs.delete(runId);
  }

  /** Continues the run's sweep in the background (one slice per macrotask) until it is done. */
  sweepLater(index: InspectorIndex): void {
    if (!this.#background || index.swept || this.#sweeping === index) return;
    this.#sweeping = index;
    const slice = (): void => {
      if (this.#sweeping !== index || !this.#db.open || this.#runs.get(index.runId) !== index || index.swept) {
        if (this.#sweeping === index) this.#sweeping = null;
        return;
      }
      index.sweepStep(this.#db);
      setImmediate(slice);
    };
    setImmediate(slice);
  }
}

/** The entries the event at `seq` wrote, per tree (null when it wrote none there). */
function cursorWrites(db: ReadableDB, runId: number, seq: number): { mirror: CursorWrite | null; sept: CursorWrite | null } {
  const out: { mirror: CursorWrite | null; sept: CursorWrite | null } = { mirror: null, sept: null };
  const e = seq >= 0 ? eventAt(db, runId, seq) : null;
  if (e === null || (e.tree !== 'mirror' && e.tree !== 'sept')) return out;
  const t = TREE_ID[e.tree];
  const emptied = e.new === null || isEmptyValue(t, e.new);
  out[e.tree] = { level: e.level, gfn: e.gfn, removedValue: emptied && e.old !== null && !isEmptyValue(t, e.old) ? e.old : null };
  return out;
}

/**
 * The inspector at `seq` (state after the writes with seq <= `seq`; -1 is the empty start):
 * both trees as merged pre-order rows, the cursor event's writes marked, disagreements marked
 * (over the whole state, also with a window). With a gfn window only entries whose span meets
 * [gfnStart, gfnEnd) are shown, with the tables above them.
 */
export function inspectorState(db: ReadableDB, index: InspectorIndex, seq: number, window?: { gfnStart: number; gfnEnd: number }, rowsMax = INSPECTOR_ROWS_MAX): InspectorState {
  const at = index.rangesAt(db, seq);
  const w = cursorWrites(db, index.runId, seq);
  const dis = findDisagreements(at.mirror, at.sept);
  const shown = (r: EntryRanges) => (window === undefined ? r : clipRanges(r, window.gfnStart, window.gfnEnd));
  const m = treeRows('mirror', shown(at.mirror), w.mirror, dis, rowsMax);
  const s = treeRows('sept', shown(at.sept), w.sept, dis, rowsMax);
  return { seq, mirror: m.rows, sept: s.rows, truncated: m.truncated || s.truncated, mismatchCount: dis.entries };
}

/** Counts by (layer, name, status) over [seqFrom, seqTo): one grouped scan of the range. */
export function rangeKindCounts(db: ReadableDB, runId: number, seqFrom: number, seqTo: number): RangeKindCounts {
  const from = Math.max(0, seqFrom);
  const to = Math.max(from, seqTo);
  const rows = prepared(db, 'SELECT layer, name, status, count(*) FROM events WHERE key >= ? AND key < ? GROUP BY layer, name, status').raw(true).all(eventKey(runId, from), eventKey(runId, to)) as [number, number, number, number][];
  const strings = runStrings(db, runId);
  let events = 0;
  const out = rows.map(([layer, name, status, count]) => {
    events += count;
    return { layer: LAYERS[layer], name: strings[name], status: strings[status], count };
  });
  out.sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { seqFrom: from, seqTo: to, events, rows: out };
}

/** Status texts that mark a contention retry: -EBUSY and TDX_OPERAND_BUSY with any operand. */
export function isBusyStatus(status: string): boolean {
  return status === '-EBUSY' || status.startsWith('TDX_OPERAND_BUSY');
}

/** Checks (layer `check`) and contention retries, in seq order, at most MARKERS_MAX. */
export function runMarkers(db: ReadableDB, runId: number): { markers: RunMarker[]; truncated: boolean } {
  const strings = runStrings(db, runId);
  const busyIds: number[] = [];
  for (let i = 0; i < strings.length; i++) if (isBusyStatus(strings[i])) busyIds.push(i);
  const busyList = busyIds.length === 0 ? '-1' : busyIds.join(',');
  const rows = prepared(db, `SELECT key, thread, layer, name, status FROM events WHERE key >= ? AND key < ? AND (layer = ${LAYER_ID.check} OR status IN (${busyList})) ORDER BY key LIMIT ?`)
    .raw(true)
    .all(eventKey(runId, 0), eventKey(runId + 1, 0), MARKERS_MAX + 1) as [number, number, number, number, number][];
  const base = eventKey(runId, 0);
  const markers = rows.slice(0, MARKERS_MAX).map(([k, thread, layer, name, status]): RunMarker => ({
    seq: k - base,
    thread,
    layer: LAYERS[layer],
    kind: layer === LAYER_ID.check ? 'check' : 'busy',
    name: strings[name],
    status: strings[status],
  }));
  return { markers, truncated: rows.length > MARKERS_MAX };
}

/** seq of the first write to (tree, level, gfn) after `seq`, within `scanMax` events, else -1. */
export function nextWrite(db: ReadableDB, runId: number, seq: number, tree: Tree, level: number, gfn: number, scanMax: number): number {
  const r = prepared(db, 'SELECT min(key) AS key FROM events WHERE key > ? AND key <= ? AND tree = ? AND level = ? AND gfn = ?')
    .get(eventKey(runId, seq), eventKey(runId, seq + scanMax), TREE_ID[tree], level, gfn) as { key: number | null };
  return r.key === null ? -1 : r.key - eventKey(runId, 0);
}

/** At most this many spans are returned as open at a window's left edge. */
export const OPEN_SPANS_MAX = 64;

/**
 * Spans that begin before `seqFrom` and enclose the first event of a thread in `events` (the
 * window's events): without them a window inside a long op would show no op slice.
 */
export function openSpansAt(db: ReadableDB, runId: number, seqFrom: number, events: readonly SimEvent[]): SimEvent[] {
  const seen = new Set<number>();
  const out: SimEvent[] = [];
  for (const e of events) {
    if (seen.has(e.thread)) continue;
    seen.add(e.thread);
    let parent = e.parent;
    while (parent >= 0 && out.length < OPEN_SPANS_MAX) {
      if (parent >= seqFrom) {
        const inside = events[parent - events[0].seq];
        parent = inside === undefined ? -1 : inside.parent;
        continue;
      }
      const p = eventAt(db, runId, parent);
      if (p === null) break;
      out.push(p);
      parent = p.parent;
    }
  }
  return out;
}
