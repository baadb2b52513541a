// struct tdp_iter and its walk, after arch/x86/kvm/mmu/tdp_iter.{h,c}: a pre-order walk from
// the root down to min_level over [start, end). tdp_iter_next() is a loop over try_step_down,
// try_step_side and try_step_up, as in the kernel.
//
// The iterator itself has no step points: it reads SPTEs as plain loads. Callers put one
// `yield STEP` before each tdp_iter_start()/tdp_iter_next(), because that is where a walker
// reads SPTEs another thread may be changing (a cmpxchg winner, a freeze, a zap).
import type { KvmMmu } from './kvm_mmu.ts';
import { PAGES_PER_LEVEL, gfn_round_for_level, spteIndex } from './kvm_mmu.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import { SPTE_ENT_PER_PAGE, is_last_spte, is_shadow_present_pte } from '../../../shared/spte.ts';
import type { U64 } from '../../../shared/u64.ts';

export interface tdp_iter {
  /**
   * The GFN the walk is heading for at the lowest level: where it resumes after a yield. Moves
   * forward as the walk steps sideways.
   */
  next_last_level_gfn: number;
  /**
   * next_last_level_gfn when the walk last yielded. Yielding only when the two differ ensures
   * forward progress: a walker that yields at the same GFN again would never advance.
   */
  yielded_gfn: number;
  /** The tables from the root down: pt_path[level - 1] is the table at `level`. */
  pt_path: (kvm_mmu_page | null)[];
  /** The table holding the current SPTE (pt_path[level - 1]); with `index`, the kernel's sptep. */
  sp: kvm_mmu_page;
  /** Index of the current SPTE in sp.spt. */
  index: number;
  /**
   * The current SPTE as last read: a snapshot, possibly stale under read lock. A cmpxchg
   * compares against it and, on failure, refreshes it.
   */
  old_spte: U64;
  /** The root the walk started from. */
  root: kvm_mmu_page;
  /** The root's level. */
  root_level: number;
  /** The lowest level the walk steps down to. */
  min_level: number;
  /** The level of the current SPTE. */
  level: number;
  /** Base GFN of the range the current SPTE maps, without gfn_bits. */
  gfn: number;
  /** Bits ORed into the GFN to index the tables: the shared bit for a TDX direct root, else 0. */
  gfn_bits: number;
  /** The walk has not run off the end of the root table. */
  valid: boolean;
  /**
   * The thread dropped mmu_lock and RCU since the last step (tdp_mmu_iter_cond_resched); the
   * tables may have changed, so the next step restarts from the root. Setting an SPTE while
   * this is set is a bug (WARN).
   */
  yielded: boolean;
}

/** An iterator ready for tdp_iter_start(); reuse one per walk to avoid allocation. */
export function newTdpIter(root: kvm_mmu_page): tdp_iter {
  return {
    next_last_level_gfn: 0,
    yielded_gfn: 0,
    pt_path: [null, null, null, null, null],
    sp: root,
    index: 0,
    old_spte: 0,
    root,
    root_level: root.role.level,
    min_level: 1,
    level: root.role.level,
    gfn: 0,
    gfn_bits: 0,
    valid: false,
    yielded: false,
  };
}

/** tdp_iter_start(iter, root, min_level, next_last_level_gfn, gfn_bits). */
export function tdp_iter_start(kvm: KvmMmu, iter: tdp_iter, root: kvm_mmu_page, min_level: number, gfn: number, gfn_bits: number): void {
  iter.root = root;
  iter.next_last_level_gfn = gfn;
  iter.gfn_bits = gfn_bits;
  iter.root_level = root.role.level;
  iter.min_level = min_level;
  iter.pt_path[iter.root_level - 1] = root;
  tdp_iter_restart(kvm, iter);
}

/** tdp_iter_restart(): back to the root, heading for next_last_level_gfn. */
export function tdp_iter_restart(_kvm: KvmMmu, iter: tdp_iter): void {
  iter.yielded = false;
  iter.yielded_gfn = iter.next_last_level_gfn;
  iter.level = iter.root_level;
  iter.gfn = gfn_round_for_level(iter.next_last_level_gfn, iter.level);
  tdp_iter_refresh_sptep(iter);
  iter.valid = true;
}

/** tdp_iter_refresh_sptep(): point at the SPTE for gfn at level and read it. */
function tdp_iter_refresh_sptep(iter: tdp_iter): void {
  const sp = iter.pt_path[iter.level - 1] as kvm_mmu_page;
  iter.sp = sp;
  iter.index = spteIndex(iter.gfn + iter.gfn_bits, iter.level);
  iter.old_spte = sp.spt[iter.index];
}

/**
 * try_step_down(): re-read the SPTE first, so the walk never enters a table that was unlinked
 * since the last read, then follow it if it is a present non-leaf.
 */
function try_step_down(kvm: KvmMmu, iter: tdp_iter): boolean {
  if (iter.level === iter.min_level) return false;
  iter.old_spte = iter.sp.spt[iter.index];
  const spte = iter.old_spte;
  if (!is_shadow_present_pte(spte) || is_last_spte(spte, iter.level)) return false;
  const child = kvm.spte_to_child_sp(spte);
  if (child === null) return false;
  iter.level--;
  iter.pt_path[iter.level - 1] = child;
  iter.gfn = gfn_round_for_level(iter.next_last_level_gfn, iter.level);
  tdp_iter_refresh_sptep(iter);
  return true;
}

/** try_step_side(): the next SPTE in the same table, unless this was the last one. */
function try_step_side(iter: tdp_iter): boolean {
  if (iter.index === SPTE_ENT_PER_PAGE - 1) return false;
  iter.gfn += PAGES_PER_LEVEL[iter.level];
  iter.next_last_level_gfn = iter.gfn;
  iter.index++;
  iter.old_spte = iter.sp.spt[iter.index];
  return true;
}

/** try_step_up(): back to the parent table's SPTE. */
function try_step_up(iter: tdp_iter): boolean {
  if (iter.level === iter.root_level) return false;
  iter.level++;
  iter.gfn = gfn_round_for_level(iter.gfn, iter.level);
  tdp_iter_refresh_sptep(iter);
  return true;
}

/**
 * tdp_iter_next(): the next SPTE in pre-order. After a yield, restart from the root. Else step
 * down if possible; otherwise step sideways, climbing up while at the end of a table. The
 * climb is bounded by the root level.
 */
export function tdp_iter_next(kvm: KvmMmu, iter: tdp_iter): void {
  if (iter.yielded) {
    tdp_iter_restart(kvm, iter);
    return;
  }
  if (try_step_down(kvm, iter)) return;
  do {
    if (try_step_side(iter)) return;
  } while (try_step_up(iter));
  iter.valid = false;
}

/** The loop condition of for_each_tdp_pte_min_level: valid and still below `end`. */
export function tdp_iter_in_range(iter: tdp_iter, end: number): boolean {
  return iter.valid && iter.gfn < end;
}
