// One tree's entries, run-length encoded, and the writes of some events merged into them.
//
// Why ranges, not entries (PRODUCT.md section 5: any event of a 1,000,000-event run in under
// 50 ms). A big run's state holds ~100k entries per tree but only a few hundred merged ranges,
// so the inspector never touches entries one by one. Each tree is kept run-length encoded
// (EntryRanges: the merged-row rule without the cursor's marks), and the writes since a
// checkpoint are merged into the ranges in one pass (applyWrites). The lookups over ranges that
// both disagreements and rows need (lowerBound, nonLeafIndex, parentKey) live here too.
//
// Tree model (Trace Compass's attribute tree; gdb-pt-dump's merged ranges): an entry at
// (level, gfn) is a child of the non-leaf entry at (level + 1, gfn aligned down to its span).
import { TREE_ID } from '../../shared/event.ts';
import type { InspectorTreeName } from '../../shared/api/runs.ts';
import type { U64 } from '../../shared/u64.ts';
import { isEmptyValue } from './page_state.ts';
import { PAGES, attributesOf, isNonLeafValue, key, rawPfn } from './inspector_values.ts';

const LEVEL_MAX = 5;
/** gfns are below 2^46 (import_run.ts GFN_MAX): the sort key puts the level above them. */
const GFN_END = 2 ** 46;

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
export function valueAt(first: U64, level: number, k: number): U64 {
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

/** Index of the first range at or after (level, gfn) in (level desc, gfn) order. */
export function lowerBound(r: EntryRanges, level: number, gfn: number): number {
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
export function nonLeafIndex(tree: InspectorTreeName, r: EntryRanges): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < r.n && r.level[i] > 1; i++) if (isNonLeafValue(tree, r.value[i], r.level[i])) m.set(key(r.level[i], r.gfn[i]), i);
  return m;
}

export function parentKey(level: number, gfn: number): number {
  const span = PAGES[level + 1];
  return key(level + 1, Math.floor(gfn / span) * span);
}
