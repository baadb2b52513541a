// Huge page split (kernel-mmu.md 3.6): tdp_mmu_split_huge_page fills a new table directly,
// then links it in place of the huge leaf; tdp_mmu_split_huge_pages_root walks a range and
// splits every huge leaf above the target level; [V3]'s kvm_split_cross_boundary_leafs splits
// only the leaves that straddle a range boundary, under write lock, before a partial zap.
import { SPIN, STEP, mustYieldStep, errno_name, type Proc } from '../proc.ts';
import { read_lock, read_unlock, write_lock, write_unlock } from '../mmu_lock.ts';
import { MMU_LOCK_READ, type SimThread } from '../sim_thread.ts';
import { lockdep_assert_held_write } from '../checks.ts';
import type { KvmMmu } from './kvm_mmu.ts';
import { KVM_FILTER_PRIVATE, KVM_FILTER_SHARED, PAGES_PER_LEVEL } from './kvm_mmu.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import { newTdpIter, tdp_iter_in_range, tdp_iter_next, tdp_iter_start, type tdp_iter } from './tdp_iter.ts';
import { tdp_mmu_link_sp } from './tdp_mmu_map.ts';
import { tdp_mmu_iter_cond_resched } from './tdp_mmu_zap.ts';
import { emitSpteWrite } from './tdp_mmu_set_spte.ts';
import { make_small_spte } from './spte_make.ts';
import { PG_LEVEL_4K, SHADOW_NONPRESENT_VALUE, SPTE_ENT_PER_PAGE, is_large_pte, is_shadow_present_pte } from '../../../shared/spte.ts';

/**
 * tdp_mmu_split_huge_page(kvm, iter, sp, shared): `sp` is placed (init_child_sp) below
 * iter's huge leaf. Returns 0, or the link's error (nothing changed; the caller frees or reuses
 * sp). The 512 children go through no setter and no hook: the S-EPT side must create matching
 * entries itself when it learns of the split.
 */
export function* tdp_mmu_split_huge_page(kvm: KvmMmu, t: SimThread, iter: tdp_iter, sp: kvm_mmu_page, shared: boolean): Proc<number> {
  const huge = iter.old_spte;
  const level = iter.level;
  const childLevel = sp.role.level;
  kvm.ctx.events.begin(t.id, 'mmu', 'tdp_mmu_split_huge_page', iter.gfn, level);
  // No step points while filling: nobody can reach the table before it is linked.
  for (let i = 0; i < SPTE_ENT_PER_PAGE; i++) {
    const child = make_small_spte(huge, childLevel, i);
    sp.spt[i] = child;
    emitSpteWrite(kvm, t, sp, 'fill', sp.gfn + i * PAGES_PER_LEVEL[childLevel], childLevel, SHADOW_NONPRESENT_VALUE, child);
  }
  const r = yield* tdp_mmu_link_sp(kvm, t, iter, sp, shared);
  // The huge leaf's -1 was counted by handle_changed_spte; the 512 new leaves are counted here.
  if (r === 0) kvm.kvm_update_page_stats(childLevel, SPTE_ENT_PER_PAGE);
  kvm.ctx.events.end(t.id, errno_name(r));
  return r;
}

/**
 * tdp_mmu_split_huge_pages_root(kvm, root, start, end, target_level, shared): split every
 * present huge leaf in [start, end) above target_level. With `straddleGfn` >= 0, split only a
 * leaf that begins below it (one that straddles that boundary, [V3] cross-boundary split).
 * Caller holds mmu_lock (read if shared, else write). Returns 0.
 */
export function* tdp_mmu_split_huge_pages_root(
  kvm: KvmMmu,
  t: SimThread,
  root: kvm_mmu_page,
  start: number,
  end: number,
  target_level: number,
  shared: boolean,
  straddleGfn = -1,
): Proc<number> {
  kvm.ctx.events.begin(t.id, 'mmu', 'tdp_mmu_split_huge_pages_root', start, target_level);
  kvm.rcu.rcu_read_lock(t);
  const iter = newTdpIter(root);
  let sp: kvm_mmu_page | null = null;
  // Step point: the walk's first SPTE read.
  if (mustYieldStep()) yield STEP;
  tdp_iter_start(kvm, iter, root, target_level + 1, start, kvm.gfnRootBits(root));
  while (tdp_iter_in_range(iter, end)) {
    const split = !(yield* tdp_mmu_iter_cond_resched(kvm, t, iter, false, shared)) && wantsSplit(iter, straddleGfn);
    if (split && sp === null) {
      // Allocating may sleep: drop mmu_lock and RCU, allocate, re-take, restart the walk.
      sp = yield* allocSpForSplitUnlocked(kvm, t, root.role.is_mirror);
      iter.yielded = true;
    } else if (split && sp !== null) {
      kvm.tdp_mmu_init_child_sp(sp, iter.sp, iter.index, iter.gfn);
      if ((yield* tdp_mmu_split_huge_page(kvm, t, iter, sp, shared)) !== 0) {
        // goto retry: iter.old_spte was refreshed; re-check this SPTE. A failed retry is a spin.
        yield SPIN;
        continue;
      }
      sp = null;
    }
    // Step point: the next SPTE read.
    if (mustYieldStep()) yield STEP;
    tdp_iter_next(kvm, iter);
  }
  kvm.rcu.rcu_read_unlock(t);
  if (sp !== null) kvm.tdp_mmu_free_sp(sp);
  kvm.ctx.events.end(t.id);
  return 0;
}

function wantsSplit(iter: tdp_iter, straddleGfn: number): boolean {
  if (!is_shadow_present_pte(iter.old_spte) || !is_large_pte(iter.old_spte)) return false;
  return straddleGfn < 0 || iter.gfn < straddleGfn;
}

/** The sleeping allocation of tdp_mmu_split_huge_pages_root, with locks dropped around it. */
function* allocSpForSplitUnlocked(kvm: KvmMmu, t: SimThread, mirror: boolean): Proc<kvm_mmu_page> {
  const shared = t.mmuLock === MMU_LOCK_READ;
  kvm.rcu.rcu_read_unlock(t);
  if (shared) yield* read_unlock(kvm.ctx, kvm.mmu_lock, t);
  else yield* write_unlock(kvm.ctx, kvm.mmu_lock, t);
  const sp = kvm.tdp_mmu_alloc_sp_for_split(mirror);
  if (shared) yield* read_lock(kvm.ctx, kvm.mmu_lock, t);
  else yield* write_lock(kvm.ctx, kvm.mmu_lock, t);
  kvm.rcu.rcu_read_lock(t);
  return sp;
}

/** A GFN range with the kvm_gfn_range.attr_filter that picks the roots. */
export interface GfnRange {
  start: number;
  end: number;
  attr_filter: number;
}

/**
 * [V3] kvm_split_cross_boundary_leafs(kvm, range): under write lock, split to 4K every huge
 * leaf that straddles range.start or range.end, so that a following zap of the range removes
 * exactly the range (a 2M private leaf zapped whole would lose the guest's ACCEPT state, H8).
 */
export function* kvm_split_cross_boundary_leafs(kvm: KvmMmu, t: SimThread, range: GfnRange): Proc<void> {
  lockdep_assert_held_write(kvm.ctx, t, 'kvm_split_cross_boundary_leafs');
  const roots = kvm.roots.filter((r) => !r.role.invalid && rootMatchesFilter(r, range.attr_filter));
  for (const root of roots) {
    for (const boundary of [range.start, range.end]) {
      if (boundary % PAGES_PER_LEVEL[2] === 0 && boundary % PAGES_PER_LEVEL[3] === 0) continue;
      yield* tdp_mmu_split_huge_pages_root(kvm, t, root, boundary, boundary + 1, PG_LEVEL_4K, false, boundary);
    }
  }
}

/** kvm_gfn_range_filter_to_root_types(): private -> mirror roots, shared -> direct roots. */
export function rootMatchesFilter(root: kvm_mmu_page, attr_filter: number): boolean {
  return root.role.is_mirror ? (attr_filter & KVM_FILTER_PRIVATE) !== 0 : (attr_filter & KVM_FILTER_SHARED) !== 0;
}
