// The page tables as the events wrote them, for "state at event N".
//
// Model (Trace Compass's state history, with checkpoints): every event with tree != none wrote
// one entry (tree, level, gfn) from `old` to `new`. State at N = the value of every entry after
// all writes with seq <= N. The recorder keeps the current state here and, every
// KEYFRAME_WRITES writes (or KEYFRAME_EVENTS events, whichever comes first), writes a keyframe.
//
// Why paged keyframes. A big run holds ~500k entries (1 GiB at 4K in two trees); a full
// snapshot is 8 MB at 16 bytes an entry, and writing one every few thousand writes would cost
// more than recording the events. So the state is cut into pages, one per page-table page
// (tree, level, gfn / pageSpan(level)), and a keyframe stores only the pages written since the
// previous keyframe. A page's content at keyframe k is its latest stored version with kf <= k.
// A fault-in of sequential gfns dirties a few dozen pages per keyframe, so the cost follows the
// writes; the worst case (every write in a different page) rewrites up to KEYFRAME_WRITES pages.
// State at N = the pages as of the last keyframe at or before N, plus at most KEYFRAME_WRITES
// writes (within at most KEYFRAME_EVENTS events) replayed on top.
//
// Full snapshots. Reading the whole state from pages alone means one row per page (~5000 per
// tree for 300k entries): too slow for the inspector's bar (PRODUCT.md section 5, 50 ms). So
// at some keyframes the recorder also stores the whole state, per tree, as three column BLOBs
// (state_snapshots, migration 0003). State at N then = the last snapshot at or before N's
// keyframe, the pages written after it up to that keyframe, and the events after the keyframe.
// A snapshot is taken once the page entries stored since the previous one (every version
// counted) reach SNAPSHOT_LIVE_RATIO times the live entries, and at least SNAPSHOT_ENTRIES_MIN.
// A read merges the snapshot with the latest version of each page written since, so its work
// stays under about (1 + SNAPSHOT_LIVE_RATIO) times the state, and snapshots cost at most
// 1/SNAPSHOT_LIVE_RATIO of the pages' volume. Measured on the bench's 1M-event run (which zaps
// single entries all over the state, so keyframes rewrite many whole pages): ratio 0.5 made
// snapshots 29 MB against 27 MB of pages; 1 gives 16 MB and a read merging ~5 ms of pages;
// 2 gives 5 MB but reads of up to every page (~20 ms). Counting distinct pages instead of
// versions was worse both ways on that run.
//
// Empty entries are dropped from answers: mirror/direct SHADOW_NONPRESENT_VALUE or 0, S-EPT
// SEPTE_INIT_VALUE (FREE) or 0, and a write whose `new` is absent. Keyframes keep them as
// tombstones carrying their last writer's seq, which answers lastWriter without an index.
import { SHADOW_NONPRESENT_VALUE } from '../../shared/spte.ts';
import { TREE_ID } from '../../shared/event.ts';
import { SEPTE_INIT_VALUE } from '../../shared/sept.ts';

export const KEYFRAME_WRITES = 4096;
export const KEYFRAME_EVENTS = 32768;
/**
 * Entries per stored page: a sixteenth of a page-table page, so a lone write (a zap) re-stores 32
 * entries, not 512. 64 made keyframe pages 7.7 MB per 320k bench events; 32 gives 5.3 MB.
 */
export const PAGE_ENTRIES = 32;
/** Fewest page entries written between two snapshots (small runs need none). */
export const SNAPSHOT_ENTRIES_MIN = 16384;
export const SNAPSHOT_LIVE_RATIO = 1;

export { SEPTE_INIT_VALUE };

export function isEmptyValue(tree: number, value: number): boolean {
  if (Number.isNaN(value) || value === 0) return true;
  if (tree === TREE_ID.sept) return value === SEPTE_INIT_VALUE;
  return value === SHADOW_NONPRESENT_VALUE;
}

/**
 * gfns one stored page of `level` spans: `entries` entries of 512^(level-1) gfns each. A run
 * records its page size (runs.page_entries): runs stored before schema version 3 used 64.
 */
export function pageSpan(level: number, entries = PAGE_ENTRIES): number {
  return entries * 512 ** (Math.max(level, 1) - 1);
}

const PAGE_SPANS = [0, 1, 2, 3, 4, 5, 6, 7].map((level) => pageSpan(level));

export function pageOf(level: number, gfn: number): number {
  return Math.floor(gfn / PAGE_SPANS[level]);
}

/** Entry and page keys pack tree (0..3) and level (0..7) under the gfn / page number. */
export function entryKey(tree: number, level: number, gfn: number): number {
  return (gfn * 8 + level) * 4 + tree;
}

export function pageKey(tree: number, level: number, page: number): number {
  return (page * 8 + level) * 4 + tree;
}

export function unpackKey(key: number): { tree: number; level: number; hi: number } {
  const tree = key % 4;
  const rest = (key - tree) / 4;
  const level = rest % 8;
  return { tree, level, hi: (rest - level) / 8 };
}

/** Stored per entry: gfn, value (NaN once a write emptied it), seq of the last write. */
export const ENTRY_STRIDE = 3;

export function decodePage(blob: Uint8Array): Float64Array {
  if (blob.byteOffset % 8 === 0) return new Float64Array(blob.buffer, blob.byteOffset, blob.byteLength / 8);
  return new Float64Array(blob.slice().buffer);
}

export interface DirtyPage {
  tree: number;
  level: number;
  page: number;
  /** (gfn, value, seq) triples sorted by gfn: the page's whole content, tombstones included. */
  entries: Float64Array;
}

/** One tree's live entries, sorted by (level desc, gfn): a snapshot's columns. */
export interface SnapshotColumns {
  level: Uint8Array;
  gfn: Float64Array;
  value: Float64Array;
}

/** One stored page: its entries as (gfn, value, seq) triples sorted by gfn, kept encoded. */
class Page {
  readonly tree: number;
  readonly level: number;
  readonly page: number;
  n = 0;
  data = new Float64Array(PAGE_ENTRIES * ENTRY_STRIDE);
  dirty = false;
  constructor(tree: number, level: number, page: number) {
    this.tree = tree;
    this.level = level;
    this.page = page;
  }

  /** Index of the first entry with gfn >= `gfn` (n if none). */
  find(gfn: number): number {
    const d = this.data;
    if (this.n === 0 || d[(this.n - 1) * ENTRY_STRIDE] < gfn) return this.n;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (d[mid * ENTRY_STRIDE] < gfn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Makes room for an entry at index `at`. */
  insertAt(at: number): void {
    if ((this.n + 1) * ENTRY_STRIDE > this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data.copyWithin((at + 1) * ENTRY_STRIDE, at * ENTRY_STRIDE, this.n * ENTRY_STRIDE);
    this.n++;
  }
}

/**
 * The current state, by page, each page kept in its stored encoding (sorted typed triples), so
 * a keyframe copies a page instead of re-encoding it. An emptied entry stays as a tombstone
 * (value NaN) so that the keyframe still knows its last writer; tombstones never reach a state
 * answer or a snapshot.
 */
export class PageState {
  readonly #pages = new Map<number, Page>();
  /** Pages by tree (index = tree id), in creation order; sorted when a snapshot is taken. */
  readonly #byTree: Page[][] = [[], [], [], []];
  #dirty: Page[] = [];
  /** Live (non-empty) entries, in all trees and per tree. */
  entryCount = 0;
  readonly liveByTree = [0, 0, 0, 0];

  /** The last page written, and its key: sequential faults hit the same page many times in a row. */
  #lastKey = -1;
  #lastPage: Page | null = null;

  apply(seq: number, tree: number, level: number, gfn: number, value: number): void {
    const pageNo = Math.floor(gfn / PAGE_SPANS[level]);
    const pk = pageKey(tree, level, pageNo);
    let page = pk === this.#lastKey ? this.#lastPage! : this.#pages.get(pk);
    if (page === undefined) {
      page = new Page(tree, level, pageNo);
      this.#pages.set(pk, page);
      this.#byTree[tree].push(page);
    }
    this.#lastKey = pk;
    this.#lastPage = page;
    if (!page.dirty) {
      page.dirty = true;
      this.#dirty.push(page);
    }
    const v = isEmptyValue(tree, value) ? NaN : value;
    const at = page.find(gfn);
    const d = page.data;
    let delta: number;
    if (at < page.n && d[at * ENTRY_STRIDE] === gfn) {
      delta = (Number.isNaN(v) ? 0 : 1) - (Number.isNaN(d[at * ENTRY_STRIDE + 1]) ? 0 : 1);
    } else {
      page.insertAt(at);
      delta = Number.isNaN(v) ? 0 : 1;
    }
    const e = page.data;
    e[at * ENTRY_STRIDE] = gfn;
    e[at * ENTRY_STRIDE + 1] = v;
    e[at * ENTRY_STRIDE + 2] = seq;
    this.entryCount += delta;
    this.liveByTree[tree] += delta;
  }

  /** The pages written since the last call, copied, and their total entry count. */
  takeDirty(): { pages: DirtyPage[]; entries: number } {
    const pages: DirtyPage[] = new Array(this.#dirty.length);
    let entries = 0;
    for (let i = 0; i < this.#dirty.length; i++) {
      const p = this.#dirty[i];
      pages[i] = { tree: p.tree, level: p.level, page: p.page, entries: p.data.slice(0, p.n * ENTRY_STRIDE) };
      entries += p.n;
      p.dirty = false;
    }
    this.#dirty = [];
    return { pages, entries };
  }

  /** Tree `tree`'s live entries as columns, sorted by (level desc, gfn). */
  snapshot(tree: number): SnapshotColumns {
    const pages = this.#byTree[tree];
    pages.sort((a, b) => b.level - a.level || a.page - b.page);
    const n = this.liveByTree[tree];
    const out: SnapshotColumns = { level: new Uint8Array(n), gfn: new Float64Array(n), value: new Float64Array(n) };
    let k = 0;
    for (const p of pages) {
      const d = p.data;
      for (let i = 0; i < p.n * ENTRY_STRIDE; i += ENTRY_STRIDE) {
        if (Number.isNaN(d[i + 1])) continue;
        out.level[k] = p.level;
        out.gfn[k] = d[i];
        out.value[k] = d[i + 1];
        k++;
      }
    }
    return out;
  }
}
