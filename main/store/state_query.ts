// "State at event N" (page_state.ts explains the keyframes): the pages of the last keyframe at
// or before N, then the writes after it up to N replayed on top. Reads at most one keyframe's
// pages (the full state, or those crossing a gfn window) and at most KEYFRAME_EVENTS events.
import { TREES, TREE_ID, type Tree } from '../../shared/event.ts';
import type { EntryState, StateRangeQuery, TableState, TableStateRange } from '../../shared/store_types.ts';
import { eventKey, prepared, type ReadableDB } from './db.ts';
import { ENTRY_STRIDE, decodePage, entryKey, isEmptyValue, pageOf, pageSpan, unpackKey } from './page_state.ts';

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
function pagesAt(db: ReadableDB, runId: number, kf: number, tree: number, level: number, gfnStart: number, gfnEnd: number): PageRow[] {
  if (kf < 0) return [];
  const span = pageSpan(level);
  const versions = prepared(
    db,
    'SELECT page, max(kf) FROM keyframe_pages WHERE run_id = ? AND tree = ? AND level = ? AND page BETWEEN ? AND ? AND kf <= ? GROUP BY page ORDER BY page',
  ).raw(true).all(runId, tree, level, Math.floor(gfnStart / span), Math.floor((gfnEnd - 1) / span), kf) as [number, number][];
  const one = prepared(db, 'SELECT entries FROM keyframe_pages WHERE run_id = ? AND tree = ? AND level = ? AND page = ? AND kf = ?').pluck();
  return versions.map(([page, v]) => ({ tree, level, entries: decodePage(one.get(runId, tree, level, page, v) as Uint8Array) }));
}

/** Writes with seq in (afterSeq, seq] whose gfn is in the window: entryKey -> value (NaN = empty). */
function writesAfter(db: ReadableDB, runId: number, afterSeq: number, seq: number, gfnStart: number, gfnEnd: number): Map<number, number> {
  const rows = prepared(db, 'SELECT tree, level, gfn, new FROM events WHERE key > ? AND key <= ? AND tree != 0 AND gfn >= ? AND gfn < ?')
    .raw(true)
    .all(eventKey(runId, 0) + afterSeq, eventKey(runId, seq), gfnStart, gfnEnd) as [number, number, number, number | null][];
  const overlay = new Map<number, number>();
  for (const [tree, level, gfn, nw] of rows) {
    const v = nw ?? NaN;
    overlay.set(entryKey(tree, level, gfn), isEmptyValue(tree, v) ? NaN : v);
  }
  return overlay;
}

/**
 * One tree's state, a merge of two streams sorted by (level desc, gfn): the keyframe pages'
 * entries that the overlay does not touch (pages come in page order within a level), and the
 * overlay's non-empty entries.
 */
function buildTree(tree: number, pagesByLevel: PageRow[][], overlay: Map<number, number>, rowsMax: number): { cols: TreeColumns; truncated: boolean } {
  const added: [number, number, number][] = [];
  for (const [key, v] of overlay) {
    const k = unpackKey(key);
    if (k.tree === tree && !Number.isNaN(v)) added.push([k.level, k.hi, v]);
  }
  added.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
  let capacity = added.length;
  for (const pages of pagesByLevel) for (const p of pages) capacity += p.entries.length / ENTRY_STRIDE;
  // One row past the limit tells whether the answer was cut.
  const limit = Math.min(capacity, rowsMax + 1);
  const level = new Uint8Array(limit);
  const gfn = new Float64Array(limit);
  const value = new Float64Array(limit);
  let n = 0;
  let ai = 0;
  const push = (l: number, g: number, v: number): void => {
    level[n] = l;
    gfn[n] = g;
    value[n] = v;
    n++;
  };
  for (let l = LEVEL_MAX; l >= 1 && n < limit; l--) {
    for (const page of pagesByLevel[l]) {
      const e = page.entries;
      for (let i = 0; i < e.length && n < limit; i += ENTRY_STRIDE) {
        const g = e[i];
        if (Number.isNaN(e[i + 1])) continue;
        for (; ai < added.length && n < limit && (added[ai][0] > l || (added[ai][0] === l && added[ai][1] < g)); ai++) push(added[ai][0], added[ai][1], added[ai][2]);
        if (n < limit && (overlay.size === 0 || !overlay.has(entryKey(tree, l, g)))) push(l, g, e[i + 1]);
      }
    }
  }
  for (; ai < added.length && n < limit; ai++) push(added[ai][0], added[ai][1], added[ai][2]);
  const truncated = n > rowsMax;
  const kept = Math.min(n, rowsMax);
  return { cols: { level: level.subarray(0, kept), gfn: gfn.subarray(0, kept), value: value.subarray(0, kept) }, truncated };
}

function stateColumnsWindow(db: ReadableDB, runId: number, seq: number, gfnStart: number, gfnEnd: number, rowsMax: number, trees: readonly number[]): { cols: Partial<StateColumns>; truncated: boolean } {
  const kf = keyframeAt(db, runId, seq);
  const overlay = writesAfter(db, runId, kf.seq, seq, gfnStart, gfnEnd);
  const cols: Partial<StateColumns> = {};
  let truncated = false;
  for (const tree of trees) {
    const pagesByLevel: PageRow[][] = [];
    for (let l = 0; l <= LEVEL_MAX; l++) pagesByLevel.push(l === 0 ? [] : pagesAt(db, runId, kf.kf, tree, l, gfnStart, gfnEnd).map((p) => clipPage(p, gfnStart, gfnEnd)));
    const built = buildTree(tree, pagesByLevel, overlay, rowsMax);
    cols[TREES[tree] as Exclude<Tree, 'none'>] = built.cols;
    truncated ||= built.truncated;
  }
  return { cols, truncated };
}

/** Keeps the page entries with gfn in [gfnStart, gfnEnd). */
function clipPage(p: PageRow, gfnStart: number, gfnEnd: number): PageRow {
  const e = p.entries;
  if (e.length === 0 || (e[0] >= gfnStart && e[e.length - ENTRY_STRIDE] < gfnEnd)) return p;
  const kept: number[] = [];
  for (let i = 0; i < e.length; i += ENTRY_STRIDE) if (e[i] >= gfnStart && e[i] < gfnEnd) kept.push(e[i], e[i + 1], e[i + 2]);
  return { ...p, entries: Float64Array.from(kept) };
}

const ALL_TREES = [TREE_ID.mirror, TREE_ID.direct, TREE_ID.sept];
const GFN_END = 2 ** 46;

/** Every non-empty entry after the writes with seq <= `seq`, columnar (the fast form). */
export function stateAtColumns(db: ReadableDB, runId: number, seq: number): StateColumns {
  return stateColumnsWindow(db, runId, seq, 0, GFN_END, Number.MAX_SAFE_INTEGER, ALL_TREES).cols as StateColumns;
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
  const page = pageOf(level, gfn);
  for (const p of pagesAt(db, runId, kf.kf, t, level, page * pageSpan(level), (page + 1) * pageSpan(level))) {
    const e = p.entries;
    for (let i = 0; i < e.length; i += ENTRY_STRIDE) if (e[i] === gfn) return e[i + 2];
  }
  return -1;
}
