// The PAMT: one metadata entry per host page, at 4K, 2M and 1G, saying who owns it and as what
// (module src/common/memory_handlers/pamt_manager.{h,c}; tdx-module.md sections 2 and 4).
//
// An absent entry is PT_NDA (free). A page assigned at 2M has its 2M entry set and its 4K entries
// free, and pamt_walk to any 4K page inside it stops at the 2M entry, as the module's walk stops at
// the first non-NDA level. `count4kIn2m` keeps, per 2M block, how many 4K entries are assigned, so
// that pamt_is_2mb_range_free is O(1) (the module scans the 512 entries).
//
// DYNAMIC_PAMT (feature bit 36: 4K PAMT backing installed with TDH.PHYMEM.PAMT.ADD) is not
// modeled: every 4K PAMT entry always exists.
import { assert } from '../checks.ts';
import { PfnMap } from '../pfn_map.ts';
import { reciprocals, rem_pow2, rem_pow2_inv } from '../int_rem.ts';

export { PfnMap };

/** PAMT page types (pamt_manager.h). */
export const PT_NDA = 0;
export const PT_RSVD = 1;
export const PT_REG = 3;
export const PT_TDR = 4;
export const PT_TDCX = 5;
export const PT_TDVPR = 6;
export const PT_EPT = 8;

/** Page sizes (page_size_t): the TDX level of a leaf of that size. */
export const PT_4KB = 0;
export const PT_2MB = 1;
export const PT_1GB = 2;

/** 4K pages per page of each size. */
export const PAGES_PER_SIZE: readonly number[] = [1, 512, 262144];
/** PAGES_PER_SIZE[PT_2MB] as a constant: V8 turns a division by it into a multiply. */
const PAGES_PER_2M = 512;

/** The index of the 2M block holding `pfn`: count4kIn2m's key. */
function index2m(pfn: number): number {
  return Math.floor(pfn / PAGES_PER_2M);
}
/** 1 / PAGES_PER_SIZE[size] (int_rem.ts: a multiply for the division). */
export const PAGES_PER_SIZE_INV = reciprocals(PAGES_PER_SIZE);

/**
 * One PAMT entry. Immutable: a change replaces the entry (pamt_set_bepoch), so that entries with
 * the same contents can be one object. Every AUG assigns a page, and a quarter million entries,
 * each its own object surviving into the old generation, were about 4 % of a 1 GiB fault run's
 * time in allocation and garbage collection.
 */
export interface PamtEntry {
  /** Page type (PT_*); never PT_NDA, which is represented by absence. */
  readonly pt: number;
  /** Owner: the TDR's pfn (the module stores the TDR PA). */
  readonly owner: number;
  /** TD_EPOCH when an entry pointing at this page was last blocked (RANGE.BLOCK). */
  readonly bepoch: number;
}

/** The entry pamtEntry() made last with BEPOCH 0: the next one is usually the same. */
let lastFreshEntry: PamtEntry = Object.freeze({ pt: PT_NDA, owner: -1, bepoch: 0 });

/** An entry with these contents; frozen, and shared when BEPOCH is 0 (a page never blocked). */
function pamtEntry(pt: number, owner: number, bepoch: number): PamtEntry {
  if (bepoch === 0 && lastFreshEntry.pt === pt && lastFreshEntry.owner === owner) return lastFreshEntry;
  const e = Object.freeze({ pt, owner, bepoch });
  if (bepoch === 0) lastFreshEntry = e;
  return e;
}


export interface Pamt {
  /** Entries by size; each keyed by the page's first 4K pfn (aligned to the size). */
  readonly bySize: [PfnMap<PamtEntry>, PfnMap<PamtEntry>, PfnMap<PamtEntry>];
  /**
   * Per 2M block, keyed by its index (first pfn / 512): how many of its 4K entries are assigned.
   * A PfnMap for the same reason as bySize: every AUG counts one.
   */
  readonly count4kIn2m: PfnMap<number>;
}

export function newPamt(): Pamt {
  return { bySize: [new PfnMap(), new PfnMap(), new PfnMap()], count4kIn2m: new PfnMap() };
}

export function pamtClone(p: Pamt): Pamt {
  const c = newPamt();
  for (let size = 0; size < 3; size++) {
    for (const [pfn, e] of p.bySize[size]) c.bySize[size].set(pfn, e);
  }
  for (const [k, n] of p.count4kIn2m) c.count4kIn2m.set(k, n);
  return c;
}

function alignDown(pfn: number, size: number): number {
  return pfn - rem_pow2_inv(pfn, PAGES_PER_SIZE[size], PAGES_PER_SIZE_INV[size]);
}

/** The result of pamt_walk: the entry covering a 4K pfn and its size, or null when free. */
export interface PamtLeaf {
  entry: PamtEntry;
  size: number;
  /** The first pfn of the page the entry describes. */
  pfnBase: number;
}

/** pamt_walk: the first assigned entry covering `pfn`, from 1G down to 4K; null if all free. */
export function pamt_walk(p: Pamt, pfn: number): PamtLeaf | null {
  for (let size = PT_1GB; size >= PT_4KB; size--) {
    const base = alignDown(pfn, size);
    const entry = p.bySize[size].get(base);
    if (entry !== undefined) return { entry, size, pfnBase: base };
  }
  return null;
}

/** The entry for the page of `size` starting at `pfn`, undefined when that entry is free. */
export function pamt_get(p: Pamt, pfn: number, size: number): PamtEntry | undefined {
  return p.bySize[size].get(pfn);
}

/** A free 4K page: no assigned entry covers it at any size. */
export function pamt_is_4k_free(p: Pamt, pfn: number): boolean {
  // pamt_walk(p, pfn) === null, without allocating: this is on every AUG and SEPT.ADD.
  return !p.bySize[PT_4KB].has(pfn) && !p.bySize[PT_2MB].has(pfn - rem_pow2(pfn, 512)) && !p.bySize[PT_1GB].has(pfn - rem_pow2(pfn, 262144));
}

/** pamt_is_2mb_range_free: the 1G and 2M entries and all 512 4K entries are free. */
export function pamt_is_2mb_range_free(p: Pamt, pfn2m: number): boolean {
  if (p.bySize[PT_1GB].has(alignDown(pfn2m, PT_1GB))) return false;
  if (p.bySize[PT_2MB].has(pfn2m)) return false;
  return (p.count4kIn2m.get(index2m(pfn2m)) ?? 0) === 0;
}

/** Whether a page of `size` at `pfn` is free for assignment (alignment checked by the caller). */
export function pamt_is_range_free(p: Pamt, pfn: number, size: number): boolean {
  if (size === PT_4KB) return pamt_is_4k_free(p, pfn);
  if (size === PT_2MB) return pamt_is_2mb_range_free(p, pfn);
  return false; // No leaf in the model assigns a fresh 1G page (AUG stops at 2M).
}

/** Assigns a page. The caller has checked that it is free. */
export function pamt_assign(p: Pamt, pfn: number, size: number, pt: number, owner: number): void {
  assert(pt !== PT_NDA, 'pamt_assign: PT_NDA');
  const entries = p.bySize[size];
  const sizeBefore = entries.size;
  entries.set(pfn, pamtEntry(pt, owner, 0));
  // The entry was free: the set added one (checked after, to look the pfn up once).
  assert(entries.size === sizeBefore + 1, () => `pamt_assign: pfn ${pfn} size ${size} already assigned`);
  if (size === PT_4KB) {
    const k = index2m(pfn);
    p.count4kIn2m.set(k, (p.count4kIn2m.get(k) ?? 0) + 1);
  }
}

/** Records in the entry of the page of `size` at `pfn` the TD epoch it was blocked in (RANGE.BLOCK). */
export function pamt_set_bepoch(p: Pamt, pfn: number, size: number, bepoch: number): void {
  const e = p.bySize[size].get(pfn);
  assert(e !== undefined, () => `pamt_set_bepoch: pfn ${pfn} size ${size} not assigned`);
  p.bySize[size].set(pfn, pamtEntry(e.pt, e.owner, bepoch));
}

/** Frees a page (back to PT_NDA). */
export function pamt_free(p: Pamt, pfn: number, size: number): void {
  const had = p.bySize[size].delete(pfn);
  assert(had, () => `pamt_free: pfn ${pfn} size ${size} not assigned`);
  if (size === PT_4KB) {
    const k = index2m(pfn);
    const n = (p.count4kIn2m.get(k) ?? 0) - 1;
    assert(n >= 0, 'pamt_free: count4kIn2m underflow');
    if (n === 0) p.count4kIn2m.delete(k);
    else p.count4kIn2m.set(k, n);
  }
}

/** pamt_demote: one entry of `size` becomes 512 entries of size-1, same type and owner, BEPOCH 0. */
export function pamt_demote(p: Pamt, pfn: number, size: number): void {
  const e = p.bySize[size].get(pfn);
  assert(e !== undefined, 'pamt_demote: not assigned');
  assert(size > PT_4KB, 'pamt_demote: 4K');
  pamt_free(p, pfn, size);
  const stride = PAGES_PER_SIZE[size - 1];
  for (let i = 0; i < 512; i++) pamt_assign(p, pfn + i * stride, size - 1, e.pt, e.owner);
}

/** pamt_promote: 512 entries of size-1 become one entry of `size` (type/owner of the first). */
export function pamt_promote(p: Pamt, pfn: number, size: number): void {
  const first = p.bySize[size - 1].get(pfn);
  assert(first !== undefined, 'pamt_promote: first child not assigned');
  const stride = PAGES_PER_SIZE[size - 1];
  for (let i = 0; i < 512; i++) pamt_free(p, pfn + i * stride, size - 1);
  pamt_assign(p, pfn, size, first.pt, first.owner);
}
