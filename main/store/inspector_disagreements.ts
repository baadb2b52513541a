// Where the mirror tree and the S-EPT disagree, found range against range.
//
// Disagreement follows the invariant checker's rules (PRODUCT.md section 2): a present mirror
// leaf needs a MAPPED or PENDING S-EPT leaf with the same pfn at the same level, a mirror
// non-leaf needs NL_MAPPED, and an S-EPT entry with no present mirror entry is a disagreement.
// A frozen mirror entry is mid-update, so neither side is marked there. Only linked entries
// (reachable from the top level) are compared. Over a piece where both trees' ranges overlap
// the verdict is the same for every entry (see segmentDisagrees), so the work is O(ranges),
// not O(entries), which keeps a cursor on a big run inside its budget.
import type { U64 } from '../../shared/u64.ts';
import { SEPT_STATE_MAPPED, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING, sept_state_of } from '../../shared/sept.ts';
import { is_frozen_spte, is_last_spte, is_shadow_present_pte } from '../../shared/spte.ts';
import { assert } from './db.ts';
import { nonLeafIndex, parentKey, valueAt, type EntryRanges } from './inspector_ranges.ts';
import { PAGES, pfnOf } from './inspector_values.ts';

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

/** Whether (level, gfn) lies in one of the disagreement intervals (binary search). */
export function disagreesAt(d: Disagreements, level: number, gfn: number): boolean {
  let lo = 0;
  let hi = d.level.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (d.level[mid] > level || (d.level[mid] === level && d.gfnStart[mid] <= gfn)) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && d.level[lo - 1] === level && gfn < d.gfnEnd[lo - 1];
}

