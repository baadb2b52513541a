// "State at event N" (page_state.ts explains keyframes and snapshots): the state as of the last
// keyframe at or before N, then the writes after it up to N replayed on top (at most
// KEYFRAME_EVENTS events). The keyframe's state is read two ways:
//   - the full state (stateAtColumns, stateAt): the last snapshot at or before the keyframe
//     (three BLOBs per tree) with the pages written after it, in two statements;
//   - a gfn window (stateRange, the inspector): only the pages crossing the window.
// All streams are sorted by (level desc, gfn) and merged in one pass; no per-entry lookups.
import { TREES, TREE_ID, type Tree } from '../../shared/event.ts';
import type { EntryState, StateRangeQuery, TableState, TableStateRange } from '../../shared/store_types.ts';
import { eventKey, prepared, type ReadableDB } from './db.ts';
import { ENTRY_STRIDE, PAGE_ENTRIES, decodePage, isEmptyValue, pageSpan } from './page_state.ts';

/** One tree's entries, columnar, sorted by (level desc, gfn). */
export interface TreeColumns {
  level: Uint8Array;
  gfn: Float64Array;
  value: Float64Array;
}

export type StateColumns = Record<Exclude<Tree, 'none'>, TreeColumns>;

interface PageRow {
  tree: number;
  level: number;
  entries: Float64Array;
}

const LEVEL_MAX = 5;
/** gfns are below 2^46 (import_run.ts GFN_MAX). */
const GFN_END = 2 ** 46;

/** Entries per stored page of the run (runs.page_entries: 64 before schema version 3). */
function pageEntriesOf(db: ReadableDB, runId: number): number {
  return (prepared(db, 'SELECT page_entries FROM runs WHERE id = ?').pluck().get(runId) as number | undefined) ?? PAGE_ENTRIES;
}

/** The latest keyframe at or before seq: its index and seq, or kf -1 (empty state before seq 0). */
function keyframeAt(db: ReadableDB, runId: number, seq: number): { kf: number; seq: number } {
  const r = prepared(db, 'SELECT kf, seq FROM keyframes WHERE run_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1').get(runId, seq) as { kf: number; seq: number } | undefined;
  return r ?? { kf: -1, seq: -1 };
}

/**
 * Pages of (tree, level) as of keyframe kf whose gfn span meets [gfnStart, gfnEnd): first which
 * version of each page (the covering index alone), then each version's row by that index. One
 * joined statement let SQLite scan every page blob of the run (measured 140 ms on 1M events).
 */
function pagesAt(db: ReadableDB, runId: number, kf: number, tree: number, level: number, gfnStart: number, gfnEnd: number, pageEntries: number): PageRow[] {
  if (kf < 0) return [];
  const span = pageSpan(level, pageEntries);
  const versions = prepared(
    db,
    'SELECT page, max(kf) FROM keyframe_pages WHERE run_id = ? AND tree = ? AND level = ? AND page BETWEEN ? AND ? AND kf <= ? GROUP BY page ORDER BY page',
  ).raw(true).all(runId, tree, level, Math.floor(gfnStart / span), Math.floor((gfnEnd - 1) / span), kf) as [number, number][];
  const one = prepared(db, 'SELECT entries FROM keyframe_pages WHERE run_id = ? AND tree = ? AND level = ? AND page = ? AND kf = ?').pluck();
  return versions.map(([page, v]) => ({ tree, level, entries: decodePage(one.get(runId, tree, level, page, v) as Uint8Array) }));
}

/** Columns being built: `n` entries used; value NaN = an emptied entry (dropped at the end). */
interface Cols {
  level: Uint8Array;
  gfn: Float64Array;
  value: Float64Array;
  n: number;
}

function newCols(capacity: number): Cols {
  return { level: new Uint8Array(capacity), gfn: new Float64Array(capacity), value: new Float64Array(capacity), n: 0 };
}

/**
 * applyPages' output, reused: it lives only until mergeOverlay has copied it. A fresh 5 MB of
 * ArrayBuffers per full read made V8 collect (external memory pressure) inside later queries:
 * the bench saw stateRange's p95 double.
 */
let scratch = newCols(0);

function scratchCols(capacity: number): Cols {
  if (scratch.gfn.length < capacity) scratch = newCols(Math.max(capacity, scratch.gfn.length * 2));
  scratch.n = 0;
  return scratch;
}

/**
 * The last write per entry with seq in (afterSeq, seq] and gfn in the window, per tree (index =
 * tree id), each sorted by (level desc, gfn); value NaN where the write emptied the entry.
 */
function writesAfter(db: ReadableDB, runId: number, afterSeq: number, seq: number, gfnStart: number, gfnEnd: number): Cols[] {
  const rows = prepared(db, 'SELECT tree, level, gfn, new FROM events WHERE key > ? AND key <= ? AND tree != 0 AND gfn >= ? AND gfn < ?')
    .raw(true)
    .all(eventKey(runId, 0) + afterSeq, eventKey(runId, seq), gfnStart, gfnEnd) as [number, number, number, number | null][];
  // entryKey orders (gfn, level) within a tree; the answer wants level desc first, so the sort
  // key puts the level on top: (LEVEL_MAX - level) * 2^46 + gfn, exact below 2^53.
  const last = new Map<number, number>();
  const counts = [0, 0, 0, 0];
  for (const [tree, level, gfn, nw] of rows) {
    const v = nw ?? NaN;
    const key = ((LEVEL_MAX - level) * GFN_END + gfn) * 4 + tree;
    if (!last.has(key)) counts[tree]++;
    last.set(key, isEmptyValue(tree, v) ? NaN : v);
  }
  const out = counts.map((n) => newCols(n));
  const keys = Float64Array.from(last.keys()).sort();
  for (const key of keys) {
    const tree = key % 4;
    const rest = (key - tree) / 4;
    const gfn = rest % GFN_END;
    const c = out[tree];
    c.level[c.n] = LEVEL_MAX - (rest - gfn) / GFN_END;
    c.gfn[c.n] = gfn;
    c.value[c.n] = last.get(key)!;
    c.n++;
  }
  return out;
}

/** First index i in [from, base.n) whose (level desc, gfn) order is not before (level, gfn). */
function lowerBound(base: Cols, from: number, level: number, gfn: number): number {
  let lo = from;
  let hi = base.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (base.level[mid] > level || (base.level[mid] === level && base.gfn[mid] < gfn)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One tree's state: the base (keyframe state, no emptied entries) with the overlay (later
 * writes, a few thousand at most) merged in, both sorted by (level desc, gfn); the overlay wins
 * on equal keys and its emptied entries are dropped. The base is copied in runs between overlay
 * keys (found by binary search), not entry by entry. At most rowsMax rows; one more is looked
 * for to tell whether the answer was cut.
 */
function mergeOverlay(base: Cols, overlay: Cols, rowsMax: number): { cols: TreeColumns; truncated: boolean } {
  const limit = Math.min(base.n + overlay.n, rowsMax + 1);
  const out = newCols(limit);
  let b = 0;
  const copyBase = (end: number): void => {
    const to = Math.min(end, b + limit - out.n);
    out.level.set(base.level.subarray(b, to), out.n);
    out.gfn.set(base.gfn.subarray(b, to), out.n);
    out.value.set(base.value.subarray(b, to), out.n);
    out.n += to - b;
    b = end;
  };
  for (let o = 0; o < overlay.n && out.n < limit; o++) {
    const level = overlay.level[o];
    const gfn = overlay.gfn[o];
    copyBase(lowerBound(base, b, level, gfn));
    if (out.n === limit) break;
    if (b < base.n && base.level[b] === level && base.gfn[b] === gfn) b++;
    if (Number.isNaN(overlay.value[o])) continue;
    out.level[out.n] = level;
    out.gfn[out.n] = gfn;
    out.value[out.n] = overlay.value[o];
    out.n++;
  }
  if (out.n < limit) copyBase(base.n);
  const truncated = out.n > rowsMax;
  const kept = Math.min(out.n, rowsMax);
  return { cols: { level: out.level.subarray(0, kept), gfn: out.gfn.subarray(0, kept), value: out.value.subarray(0, kept) }, truncated };
}

/** The pages of (tree, level) at keyframe kf whose span meets the window, clipped, as one base stream part. */
function windowBase(db: ReadableDB, runId: number, kf: number, tree: number, gfnStart: number, gfnEnd: number, pageEntries: number): Cols {
  const parts: Float64Array[][] = [];
  let capacity = 0;
  for (let l = LEVEL_MAX; l >= 1; l--) {
    const pages = pagesAt(db, runId, kf, tree, l, gfnStart, gfnEnd, pageEntries).map((p) => p.entries);
    for (const e of pages) capacity += e.length / ENTRY_STRIDE;
    parts.push(pages);
  }
  const out = newCols(capacity);
  parts.forEach((pages, k) => {
    const level = LEVEL_MAX - k;
    for (const e of pages) {
      for (let i = 0; i < e.length; i += ENTRY_STRIDE) {
        if (e[i] < gfnStart || e[i] >= gfnEnd || Number.isNaN(e[i + 1])) continue;
        out.level[out.n] = level;
        out.gfn[out.n] = e[i];
        out.value[out.n] = e[i + 1];
        out.n++;
      }
    }
  });
  return out;
}

/** The inspector's windowed form: per tree, the keyframe's pages in the window and the later writes. */
function stateColumnsWindow(db: ReadableDB, runId: number, seq: number, gfnStart: number, gfnEnd: number, rowsMax: number, trees: readonly number[]): { cols: Partial<StateColumns>; truncated: boolean } {
  const kf = keyframeAt(db, runId, seq);
  const overlay = writesAfter(db, runId, kf.seq, seq, gfnStart, gfnEnd);
  const cols: Partial<StateColumns> = {};
  let truncated = false;
  for (const tree of trees) {
    const built = mergeOverlay(windowBase(db, runId, kf.kf, tree, gfnStart, gfnEnd, pageEntriesOf(db, runId)), overlay[tree], rowsMax);
    cols[TREES[tree] as Exclude<Tree, 'none'>] = built.cols;
    truncated ||= built.truncated;
  }
  return { cols, truncated };
}

function float64View(blob: Uint8Array): Float64Array {
  return decodePage(blob);
}

/** The last snapshot at or before keyframe kf: its kf and per tree its columns; kf -1 and empty when none. */
function snapshotAt(db: ReadableDB, runId: number, kf: number): { kf: number; trees: Cols[] } {
  const trees = [0, 1, 2, 3].map(() => newCols(0));
  const at = prepared(db, 'SELECT kf FROM state_snapshots WHERE run_id = ? AND kf <= ? ORDER BY kf DESC LIMIT 1').pluck().get(runId, kf) as number | undefined;
  if (at === undefined) return { kf: -1, trees };
  const rows = prepared(db, 'SELECT tree, entries, levels, gfns, vals FROM state_snapshots WHERE run_id = ? AND kf = ?').raw(true).all(runId, at) as [number, number, Uint8Array, Uint8Array, Uint8Array][];
  for (const [tree, n, levels, gfns, vals] of rows) trees[tree] = { level: levels, gfn: float64View(gfns), value: float64View(vals), n };
  return { kf: at, trees };
}

/**
 * The latest version at or before keyframe kfTo of every page written after keyframe kfAfter,
 * per tree, sorted by (level desc, page). One statement: which versions from the covering index
 * keyframe_pages_kf, then only those rows' blobs.
 */
function pagesWrittenBetween(db: ReadableDB, runId: number, kfAfter: number, kfTo: number): PageVersion[][] {
  const rows = prepared(
    db,
    `SELECT p.tree, p.level, p.page, p.entries FROM
       (SELECT tree, level, page, max(kf) AS kf FROM keyframe_pages WHERE run_id = @runId AND kf > @kfAfter AND kf <= @kfTo GROUP BY tree, level, page) v
       CROSS JOIN keyframe_pages p ON p.run_id = @runId AND p.tree = v.tree AND p.level = v.level AND p.page = v.page AND p.kf = v.kf`,
  )
    .raw(true)
    .all({ runId, kfAfter, kfTo }) as [number, number, number, Uint8Array][];
  const byTree: PageVersion[][] = [[], [], [], []];
  for (const [tree, level, page, entries] of rows) byTree[tree].push({ level, page, entries });
  for (const list of byTree) list.sort((x, y) => y.level - x.level || x.page - y.page);
  return byTree;
}

interface PageVersion {
  level: number;
  page: number;
  entries: Uint8Array;
}

/**
 * A snapshot's entries with the later page versions put in: a page version replaces every
 * snapshot entry in its span (it is the page's whole content). Both sorted by (level desc, gfn).
 */
function applyPages(snap: Cols, pages: PageVersion[], pageEntries: number): Cols {
  const decoded = pages.map((p) => decodePage(p.entries));
  let capacity = snap.n;
  for (const e of decoded) capacity += e.length / ENTRY_STRIDE;
  const out = scratchCols(capacity);
  let s = 0;
  const copySnapTo = (end: number): void => {
    out.level.set(snap.level.subarray(s, end), out.n);
    out.gfn.set(snap.gfn.subarray(s, end), out.n);
    out.value.set(snap.value.subarray(s, end), out.n);
    out.n += end - s;
    s = end;
  };
  pages.forEach((p, k) => {
    const span = pageSpan(p.level, pageEntries);
    const gfnStart = p.page * span;
    let end = s;
    while (end < snap.n && (snap.level[end] > p.level || (snap.level[end] === p.level && snap.gfn[end] < gfnStart))) end++;
    copySnapTo(end);
    while (s < snap.n && snap.level[s] === p.level && snap.gfn[s] < gfnStart + span) s++;
    const e = decoded[k];
    for (let i = 0; i < e.length; i += ENTRY_STRIDE) {
      if (Number.isNaN(e[i + 1])) continue;
      out.level[out.n] = p.level;
      out.gfn[out.n] = e[i];
      out.value[out.n] = e[i + 1];
      out.n++;
    }
  });
  copySnapTo(snap.n);
  return out;
}

const ALL_TREES = [TREE_ID.mirror, TREE_ID.direct, TREE_ID.sept];

/**
 * Every non-empty entry after the writes with seq <= `seq`, columnar (the fast form): the last
 * snapshot at or before the keyframe, the pages written after it up to the keyframe (one
 * statement), then the writes after the keyframe (at most KEYFRAME_EVENTS events), merged.
 */
export function stateAtColumns(db: ReadableDB, runId: number, seq: number): StateColumns {
  const kf = keyframeAt(db, runId, seq);
  const snap = kf.kf < 0 ? { kf: -1, trees: [0, 1, 2, 3].map(() => newCols(0)) } : snapshotAt(db, runId, kf.kf);
  const pages = kf.kf < 0 ? [[], [], [], []] : pagesWrittenBetween(db, runId, snap.kf, kf.kf);
  const overlay = writesAfter(db, runId, kf.seq, seq, 0, GFN_END);
  const pageEntries = pageEntriesOf(db, runId);
  const out: Partial<StateColumns> = {};
  for (const tree of ALL_TREES) out[TREES[tree] as Exclude<Tree, 'none'>] = mergeOverlay(applyPages(snap.trees[tree], pages[tree], pageEntries), overlay[tree], Number.MAX_SAFE_INTEGER).cols;
  return out as StateColumns;
}

function toEntries(c: TreeColumns): EntryState[] {
  const out: EntryState[] = new Array(c.gfn.length);
  for (let i = 0; i < c.gfn.length; i++) out[i] = { level: c.level[i], gfn: c.gfn[i], value: c.value[i] };
  return out;
}

/** stateAtColumns as lists of {level, gfn, value}, sorted by (level desc, gfn). */
export function stateAt(db: ReadableDB, runId: number, seq: number): TableState {
  const c = stateAtColumns(db, runId, seq);
  return { seq, mirror: toEntries(c.mirror), direct: toEntries(c.direct), sept: toEntries(c.sept) };
}

/** The inspector's view: entries with gfn in the window, at most rowsMax per tree. */
export function stateRange(db: ReadableDB, runId: number, q: StateRangeQuery): TableStateRange {
  const trees = (q.trees ?? ['mirror', 'direct', 'sept']).filter((t) => t !== 'none').map((t) => TREE_ID[t]);
  const { cols, truncated } = stateColumnsWindow(db, runId, q.seq, q.gfnStart, q.gfnEnd, Math.max(0, q.rowsMax), trees);
  const empty = (): EntryState[] => [];
  return {
    seq: q.seq,
    mirror: cols.mirror ? toEntries(cols.mirror) : empty(),
    direct: cols.direct ? toEntries(cols.direct) : empty(),
    sept: cols.sept ? toEntries(cols.sept) : empty(),
    truncated,
  };
}

/**
 * seq of the last write to (tree, level, gfn) at or before `seq`, or -1: the writes after the
 * last keyframe (at most KEYFRAME_EVENTS events), else the keyframe page's record of it.
 */
export function lastWriter(db: ReadableDB, runId: number, seq: number, tree: Tree, level: number, gfn: number): number {
  if (seq < 0) return -1;
  const kf = keyframeAt(db, runId, seq);
  const t = TREE_ID[tree];
  const r = prepared(db, 'SELECT max(key) AS key FROM events WHERE key > ? AND key <= ? AND tree = ? AND level = ? AND gfn = ?').get(eventKey(runId, 0) + kf.seq, eventKey(runId, seq), t, level, gfn) as { key: number | null };
  if (r.key !== null) return r.key - eventKey(runId, 0);
  const pageEntries = pageEntriesOf(db, runId);
  const span = pageSpan(level, pageEntries);
  const page = Math.floor(gfn / span);
  for (const p of pagesAt(db, runId, kf.kf, t, level, page * span, (page + 1) * span, pageEntries)) {
    const e = p.entries;
    for (let i = 0; i < e.length; i += ENTRY_STRIDE) if (e[i] === gfn) return e[i + 2];
  }
  return -1;
}
