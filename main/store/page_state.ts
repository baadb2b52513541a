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
// A fault-in of sequential gfns dirties a handful of pages per keyframe, so the cost follows the
// writes; the worst case (every write in a different page) rewrites up to KEYFRAME_WRITES pages.
// State at N = the pages as of the last keyframe at or before N, plus at most KEYFRAME_WRITES
// writes (within at most KEYFRAME_EVENTS events) replayed on top.
//
// Empty entries are dropped from answers: mirror/direct SHADOW_NONPRESENT_VALUE or 0, S-EPT
// SEPTE_INIT_VALUE (FREE) or 0, and a write whose `new` is absent. Keyframes keep them as
// tombstones carrying their last writer's seq, which answers lastWriter without an index.
import { SHADOW_NONPRESENT_VALUE } from '../../shared/spte.ts';
import { TREE_ID } from '../../shared/event.ts';
import { SEPTE_INIT_VALUE } from '../../shared/sept.ts';

export const KEYFRAME_WRITES = 4096;
export const KEYFRAME_EVENTS = 32768;
/** Entries per stored page: an eighth of a page-table page, so a lone write re-encodes 64 entries, not 512. */
export const PAGE_ENTRIES = 64;

export { SEPTE_INIT_VALUE };

export function isEmptyValue(tree: number, value: number): boolean {
  if (Number.isNaN(value) || value === 0) return true;
  if (tree === TREE_ID.sept) return value === SEPTE_INIT_VALUE;
  return value === SHADOW_NONPRESENT_VALUE;
}

/** gfns one stored page of `level` spans: PAGE_ENTRIES entries of 512^(level-1) gfns each. */
export function pageSpan(level: number): number {
  return PAGE_ENTRIES * 512 ** (Math.max(level, 1) - 1);
}

export function pageOf(level: number, gfn: number): number {
  return Math.floor(gfn / pageSpan(level));
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

interface Entry {
  value: number;
  seq: number;
}

/** One page's entries as stored in the BLOB: (gfn, value, seq) triples sorted by gfn. */
export function encodePage(entries: Map<number, Entry>): Float64Array {
  const gfns = Float64Array.from(entries.keys()).sort();
  const out = new Float64Array(gfns.length * ENTRY_STRIDE);
  for (let i = 0; i < gfns.length; i++) {
    const e = entries.get(gfns[i])!;
    out[i * 3] = gfns[i];
    out[i * 3 + 1] = e.value;
    out[i * 3 + 2] = e.seq;
  }
  return out;
}

export function decodePage(blob: Uint8Array): Float64Array {
  if (blob.byteOffset % 8 === 0) return new Float64Array(blob.buffer, blob.byteOffset, blob.byteLength / 8);
  return new Float64Array(blob.slice().buffer);
}

export interface DirtyPage {
  tree: number;
  level: number;
  page: number;
  entries: Float64Array;
}

/**
 * The current state, by page. An emptied entry stays as a tombstone (value NaN) so that the
 * keyframe still knows its last writer; tombstones never reach a state answer.
 */
export class PageState {
  /** pageKey -> (gfn -> entry) */
  readonly #pages = new Map<number, Map<number, Entry>>();
  readonly #dirty = new Set<number>();
  /** Live (non-empty) entries. */
  entryCount = 0;

  /** The last page written, and its key: sequential faults hit the same page many times in a row. */
  #lastKey = -1;
  #lastPage: Map<number, Entry> | null = null;

  apply(seq: number, tree: number, level: number, gfn: number, value: number): void {
    const pk = pageKey(tree, level, pageOf(level, gfn));
    let page = pk === this.#lastKey ? this.#lastPage : this.#pages.get(pk);
    if (page === undefined || page === null) {
      page = new Map();
      this.#pages.set(pk, page);
    }
    if (pk !== this.#lastKey) {
      this.#dirty.add(pk);
      this.#lastKey = pk;
      this.#lastPage = page;
    }
    const v = isEmptyValue(tree, value) ? NaN : value;
    const e = page.get(gfn);
    if (e === undefined) {
      page.set(gfn, { value: v, seq });
      if (!Number.isNaN(v)) this.entryCount++;
    } else {
      this.entryCount += (Number.isNaN(v) ? 0 : 1) - (Number.isNaN(e.value) ? 0 : 1);
      e.value = v;
      e.seq = seq;
    }
  }

  /** The pages written since the last call, encoded. */
  takeDirty(): DirtyPage[] {
    const out: DirtyPage[] = [];
    for (const pk of this.#dirty) {
      const { tree, level, hi } = unpackKey(pk);
      out.push({ tree, level, page: hi, entries: encodePage(this.#pages.get(pk)!) });
    }
    this.#dirty.clear();
    this.#lastKey = -1;
    this.#lastPage = null;
    return out;
  }
}
