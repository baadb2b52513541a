// The S-EPT walk (secure_ept_walk in [M] src/common/memory_handlers/sept_manager.c) and the
// read-only lookup API for checkers and the UI.
//
// The module's walk starts at the root and stops early at an entry whose RWX is 0 (FREE, any
// BLOCKED, NL_BLOCKED, PENDING) or that is a leaf; "walk to level" succeeds only if it reaches
// exactly the requested level (tdx-module.md 1.4). Among the states the model uses only NL_MAPPED
// lets the walk go down. The lookup API instead follows child pages structurally (NL_BLOCKED too),
// so the inspector can show what sits below a blocked entry, and marks what the module could reach.
import { SEPT_STATE_FREE, SEPT_STATE_NL_MAPPED, SEPTE_INIT_VALUE, SEPT_STATE_NAMES } from '../../../shared/sept.ts';
import type { U64 } from '../../../shared/u64.ts';
import { sept_entry_get, sept_entry_gfn, sept_index, type SeptPage, type Td } from './td.ts';

/** Where a walk stopped: the entry, its page, its TDX level, and whether that is the target. */
export interface SeptWalk {
  page: SeptPage;
  idx: number;
  level: number;
  reached: boolean;
}

/** secure_ept_walk to `targetLevel` for `gfn`; bounded by the tree depth. */
export function secure_ept_walk(td: Td, gfn: number, targetLevel: number): SeptWalk {
  let page = td.root;
  for (let level = page.level; level >= 0; level--) {
    const idx = sept_index(gfn, level);
    if (level === targetLevel) return { page, idx, level, reached: true };
    const child = page.child[idx];
    if (page.state[idx] !== SEPT_STATE_NL_MAPPED || child === null) return { page, idx, level, reached: false };
    page = child;
  }
  throw new Error(`secure_ept_walk: target level ${targetLevel} below 0`);
}

/** One entry as the lookup API reports it. */
export interface SeptEntryView {
  /** First GFN the entry covers. */
  gfn: number;
  /** KVM pg_level (TDX level + 1). */
  pgLevel: number;
  state: number;
  stateName: string;
  /** Target pfn (child page or guest page); 0 when FREE. */
  pfn: number;
  /** Architectural value (packed U64). */
  value: U64;
  /** Whether the module's walk reaches this entry (no NL_BLOCKED above it). */
  reachable: boolean;
}

function view(page: SeptPage, idx: number, reachable: boolean): SeptEntryView {
  const state = page.state[idx];
  return {
    gfn: sept_entry_gfn(page, idx), pgLevel: page.level + 1, state, stateName: SEPT_STATE_NAMES[state],
    pfn: page.target[idx], value: sept_entry_get(page, idx), reachable,
  };
}

/**
 * The entry at `pgLevel` covering `gfn`, following child pages structurally; null when no page
 * exists at that level for this GFN (an entry above it is FREE or a leaf).
 */
export function sept_lookup(td: Td, gfn: number, pgLevel: number): SeptEntryView | null {
  const targetLevel = pgLevel - 1;
  let page = td.root;
  let reachable = true;
  for (let level = page.level; level >= targetLevel; level--) {
    const idx = sept_index(gfn, level);
    if (level === targetLevel) return view(page, idx, reachable);
    const child = page.child[idx];
    if (child === null) return null;
    reachable &&= page.state[idx] === SEPT_STATE_NL_MAPPED;
    page = child;
  }
  return null;
}

/**
 * The page holding the entry sept_lookup(td, gfn, pgLevel) reports (its index is
 * sept_index(gfn, pgLevel - 1)), or null when it reports null. Allocates nothing: the invariant
 * checker calls it for every entry written.
 */
export function sept_lookup_page(td: Td, gfn: number, pgLevel: number): SeptPage | null {
  const targetLevel = pgLevel - 1;
  let page = td.root;
  if (targetLevel > page.level) return null;
  for (let level = page.level; level > targetLevel; level--) {
    const child = page.child[sept_index(gfn, level)];
    if (child === null) return null;
    page = child;
  }
  return page;
}

/** For a GFN: the entry at each level from the root down to the first leaf or FREE entry. */
export function sept_walk_gfn(td: Td, gfn: number): SeptEntryView[] {
  const out: SeptEntryView[] = [];
  let page: SeptPage | null = td.root;
  let reachable = true;
  while (page !== null) {
    const idx = sept_index(gfn, page.level);
    out.push(view(page, idx, reachable));
    reachable &&= page.state[idx] === SEPT_STATE_NL_MAPPED;
    page = page.child[idx];
  }
  return out;
}

/** Calls `fn` for every entry whose value is not SEPTE_INIT_VALUE, depth-first in GFN order. */
export function sept_for_each_entry(td: Td, fn: (gfn: number, pgLevel: number, value: U64, state: number, pfn: number) => void): void {
  forEachInPage(td.root, fn);
}

function forEachInPage(page: SeptPage, fn: (gfn: number, pgLevel: number, value: U64, state: number, pfn: number) => void): void {
  for (let i = 0; i < 512; i++) {
    if (page.state[i] === SEPT_STATE_FREE && page.lock[i] === 0) continue;
    const value = sept_entry_get(page, i);
    if (value !== SEPTE_INIT_VALUE) fn(sept_entry_gfn(page, i), page.level + 1, value, page.state[i], page.target[i]);
    const child = page.child[i];
    if (child !== null) forEachInPage(child, fn);
  }
}

/** A numeric key for (gfn, pgLevel), exact for GFNs below 2^49. */
export function sept_entry_key(gfn: number, pgLevel: number): number {
  return gfn * 8 + pgLevel;
}

/** Every populated entry as key -> value (for replay comparisons and snapshots). */
export function sept_populated_entries(td: Td): Map<number, U64> {
  const m = new Map<number, U64>();
  sept_for_each_entry(td, (gfn, pgLevel, value) => m.set(sept_entry_key(gfn, pgLevel), value));
  return m;
}

/** Every S-EPT page reachable structurally from the root, root first. */
export function sept_pages(td: Td): SeptPage[] {
  const out: SeptPage[] = [];
  const stack: SeptPage[] = [td.root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    for (let i = 511; i >= 0; i--) {
      const c = p.child[i];
      if (c !== null) stack.push(c);
    }
  }
  return out;
}
