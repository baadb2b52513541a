// Zapping (kernel-mmu.md 3.7, 3.8): leaf zaps under write lock (memslot deletion, conversion,
// punch-hole, MMU notifiers) that leave page tables in place, and whole-root zaps at VM
// teardown that remove tables level by level, each table through handle_removed_pt.
import { KVM_BUG_ON, WARN_ON_ONCE, lockdep_assert_held, lockdep_assert_held_write } from '../checks.ts';
import { SPIN, STEP, mustYieldStep, type Proc } from '../proc.ts';
import { cond_resched_rwlock, read_lock, read_unlock, write_lock, write_unlock } from '../mmu_lock.ts';
import type { SimThread } from '../sim_thread.ts';
import type { KvmMmu } from './kvm_mmu.ts';
import { KVM_DIRECT_ROOTS, KVM_INVALID_ROOTS, KVM_MIRROR_ROOTS, KVM_FILTER_PRIVATE, KVM_FILTER_SHARED } from './kvm_mmu.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import { newTdpIter, tdp_iter_in_range, tdp_iter_next, tdp_iter_start, type tdp_iter } from './tdp_iter.ts';
import { tdp_mmu_iter_set_spte, tdp_mmu_set_spte_atomic } from './tdp_mmu_set_spte.ts';
import { tdp_mmu_free_sp_rcu_callback } from './handle_removed_pt.ts';
import type { GfnRange } from './tdp_mmu_split.ts';
import { PG_LEVEL_1G, PG_LEVEL_2M, PG_LEVEL_4K, SHADOW_NONPRESENT_VALUE, is_last_spte, is_shadow_present_pte } from '../../../shared/spte.ts';

/**
 * tdp_mmu_iter_cond_resched(kvm, iter, flush, shared): if someone waits for mmu_lock and the
 * walk moved since it last yielded, drop RCU and the lock, re-take them, and mark the iterator
 * yielded so its next step restarts from the root. Returns whether it yielded.
 */
export function* tdp_mmu_iter_cond_resched(kvm: KvmMmu, t: SimThread, iter: tdp_iter, flush: boolean, _shared: boolean): Proc<boolean> {
  // Yield only after forward progress, or a contended walk would never advance.
  if (iter.next_last_level_gfn === iter.yielded_gfn) return false;
  if (!kvm.mmu_lock.contended()) return false;
  if (flush) kvm.ctx.events.instant(t.id, 'mmu', 'kvm_flush_remote_tlbs');
  kvm.rcu.rcu_read_unlock(t);
  yield* cond_resched_rwlock(kvm.ctx, kvm.mmu_lock, t);
  kvm.rcu.rcu_read_lock(t);
  WARN_ON_ONCE(kvm.ctx, t, iter.gfn > iter.next_last_level_gfn, 'tdp_mmu_iter_cond_resched', 'iterator ran ahead');
  iter.yielded = true;
  return true;
}

/** tdp_mmu_root_match(root, types). */
export function tdp_mmu_root_match(root: kvm_mmu_page, types: number): boolean {
  if (root.role.invalid && (types & KVM_INVALID_ROOTS) === 0) return false;
  return root.role.is_mirror ? (types & KVM_MIRROR_ROOTS) !== 0 : (types & KVM_DIRECT_ROOTS) !== 0;
}

/** kvm_gfn_range_filter_to_root_types(kvm, filter). */
export function kvm_gfn_range_filter_to_root_types(attr_filter: number): number {
  let types = 0;
  if ((attr_filter & KVM_FILTER_PRIVATE) !== 0) types |= KVM_MIRROR_ROOTS;
  if ((attr_filter & KVM_FILTER_SHARED) !== 0) types |= KVM_DIRECT_ROOTS;
  return types;
}

/**
 * tdp_mmu_zap_leafs(kvm, root, start, end, can_yield, flush): write lock. Every present leaf
 * in [start, end) becomes SHADOW_NONPRESENT_VALUE through tdp_mmu_iter_set_spte; page tables
 * stay. Returns whether a TLB flush is needed.
 */
export function* tdp_mmu_zap_leafs(kvm: KvmMmu, t: SimThread, root: kvm_mmu_page, start: number, end: number, can_yield: boolean, flush: boolean): Proc<boolean> {
  lockdep_assert_held_write(kvm.ctx, t, 'tdp_mmu_zap_leafs');
  kvm.ctx.events.begin(t.id, 'mmu', 'tdp_mmu_zap_leafs', start, 0, root.role.is_mirror ? 'mirror' : 'direct');
  const endClamped = Math.min(end, kvm.maxGfnExclusive());
  kvm.rcu.rcu_read_lock(t);
  const iter = newTdpIter(root);
  // Step point: the walk's first SPTE read.
  if (mustYieldStep()) yield STEP;
  tdp_iter_start(kvm, iter, root, PG_LEVEL_4K, start, kvm.gfnRootBits(root));
  while (tdp_iter_in_range(iter, endClamped)) {
    if (can_yield && (yield* tdp_mmu_iter_cond_resched(kvm, t, iter, flush, false))) {
      flush = false;
    } else if (is_shadow_present_pte(iter.old_spte) && is_last_spte(iter.old_spte, iter.level)) {
      yield* tdp_mmu_iter_set_spte(kvm, t, iter, SHADOW_NONPRESENT_VALUE);
      // Zapping in an invalid root needs no flush: no vCPU can use it.
      if (!root.role.invalid) flush = true;
    }
    // Step point: the next SPTE read.
    if (mustYieldStep()) yield STEP;
    tdp_iter_next(kvm, iter);
  }
  kvm.rcu.rcu_read_unlock(t);
  kvm.ctx.events.end(t.id);
  return flush;
}

/** kvm_tdp_mmu_zap_leafs(kvm, start, end, flush): every valid root. Caller holds the write lock. */
export function* kvm_tdp_mmu_zap_leafs(kvm: KvmMmu, t: SimThread, start: number, end: number, flush: boolean): Proc<boolean> {
  lockdep_assert_held_write(kvm.ctx, t, 'kvm_tdp_mmu_zap_leafs');
  for (const root of kvm.roots.slice()) {
    if (!tdp_mmu_root_match(root, KVM_DIRECT_ROOTS | KVM_MIRROR_ROOTS)) continue;
    flush = yield* tdp_mmu_zap_leafs(kvm, t, root, start, end, true, flush);
  }
  return flush;
}

/**
 * kvm_tdp_mmu_unmap_gfn_range(kvm, range, flush): the roots the attribute filter picks
 * (private -> mirror, shared -> direct) plus invalid ones. Caller holds the write lock.
 */
export function* kvm_tdp_mmu_unmap_gfn_range(kvm: KvmMmu, t: SimThread, range: GfnRange, flush: boolean): Proc<boolean> {
  const types = kvm_gfn_range_filter_to_root_types(range.attr_filter) | KVM_INVALID_ROOTS;
  for (const root of kvm.roots.slice()) {
    if (!tdp_mmu_root_match(root, types)) continue;
    flush = yield* tdp_mmu_zap_leafs(kvm, t, root, range.start, range.end, true, flush);
  }
  return flush;
}

/**
 * kvm_mmu_zap_memslot_leafs(kvm, slot): TDX memslot deletion/move. Takes the write lock; zaps
 * leaves only, in both mirror and direct roots; page tables stay until VM destruction.
 */
export function* kvm_mmu_zap_memslot_leafs(kvm: KvmMmu, t: SimThread, gfnStart: number, gfnEnd: number): Proc<void> {
  yield* write_lock(kvm.ctx, kvm.mmu_lock, t);
  const range: GfnRange = { start: gfnStart, end: gfnEnd, attr_filter: KVM_FILTER_PRIVATE | KVM_FILTER_SHARED };
  const flush = yield* kvm_tdp_mmu_unmap_gfn_range(kvm, t, range, false);
  if (flush) kvm.ctx.events.instant(t.id, 'mmu', 'kvm_flush_remote_tlbs_memslot', gfnStart);
  yield* write_unlock(kvm.ctx, kvm.mmu_lock, t);
}

/**
 * __tdp_mmu_zap_root(kvm, root, shared, zap_level): zap every present SPTE whose level is
 * exactly zap_level. Exclusive: tdp_mmu_iter_set_spte. Shared: atomic with `goto retry`; a
 * retry that keeps failing spins (the scheduler ends a run that only spins as a livelock).
 */
function* __tdp_mmu_zap_root(kvm: KvmMmu, t: SimThread, root: kvm_mmu_page, shared: boolean, zap_level: number): Proc<void> {
  const iter = newTdpIter(root);
  // Step point: the walk's first SPTE read.
  if (mustYieldStep()) yield STEP;
  tdp_iter_start(kvm, iter, root, zap_level, 0, 0);
  const end = kvm.maxGfnExclusive();
  while (tdp_iter_in_range(iter, end)) {
    const skip = (yield* tdp_mmu_iter_cond_resched(kvm, t, iter, false, shared)) || !is_shadow_present_pte(iter.old_spte) || iter.level > zap_level;
    if (!skip && !shared) {
      yield* tdp_mmu_iter_set_spte(kvm, t, iter, SHADOW_NONPRESENT_VALUE);
    } else if (!skip && (yield* tdp_mmu_set_spte_atomic(kvm, t, iter, SHADOW_NONPRESENT_VALUE)) !== 0) {
      // goto retry: iter.old_spte holds the current value; re-check it.
      kvm.ctx.metrics.retries++;
      yield SPIN;
      continue;
    }
    // Step point: the next SPTE read.
    if (mustYieldStep()) yield STEP;
    tdp_iter_next(kvm, iter);
  }
}

/**
 * tdp_mmu_zap_root(kvm, root, shared): passes at 4K, 2M, 1G, then the root level, so that
 * each table is empty when its parent is zapped (handle_removed_pt then only runs the
 * per-table hook and frees it).
 */
export function* tdp_mmu_zap_root(kvm: KvmMmu, t: SimThread, root: kvm_mmu_page, shared: boolean): Proc<void> {
  lockdep_assert_held(kvm.ctx, t, 'tdp_mmu_zap_root');
  kvm.ctx.events.begin(t.id, 'mmu', 'tdp_mmu_zap_root', 0, root.role.level, shared ? 'shared' : '');
  kvm.rcu.rcu_read_lock(t);
  yield* __tdp_mmu_zap_root(kvm, t, root, shared, PG_LEVEL_4K);
  yield* __tdp_mmu_zap_root(kvm, t, root, shared, PG_LEVEL_2M);
  yield* __tdp_mmu_zap_root(kvm, t, root, shared, PG_LEVEL_1G);
  yield* __tdp_mmu_zap_root(kvm, t, root, shared, root.role.level);
  kvm.rcu.rcu_read_unlock(t);
  kvm.ctx.events.end(t.id);
}

/** kvm_tdp_mmu_invalidate_roots(kvm, root_types): mark roots invalid and schedule their zap. */
export function kvm_tdp_mmu_invalidate_roots(kvm: KvmMmu, t: SimThread, root_types: number): void {
  for (const root of kvm.roots) {
    if (!tdp_mmu_root_match(root, root_types) || root.role.invalid) continue;
    root.role.invalid = true;
    root.tdp_mmu_scheduled_root_to_zap = true;
    kvm.ctx.events.instant(t.id, 'mmu', 'kvm_tdp_mmu_invalidate_roots', 0, root.role.level, 'none', null, null, '', root.role.is_mirror ? 'mirror' : 'direct');
  }
}

/**
 * kvm_tdp_mmu_zap_invalidated_roots(kvm, shared): takes mmu_lock in the given mode, zaps each
 * scheduled root and puts the reference the invalidation held (the root is freed after RCU).
 */
export function* kvm_tdp_mmu_zap_invalidated_roots(kvm: KvmMmu, t: SimThread, shared: boolean): Proc<void> {
  if (shared) yield* read_lock(kvm.ctx, kvm.mmu_lock, t);
  else yield* write_lock(kvm.ctx, kvm.mmu_lock, t);
  for (const root of kvm.roots.slice()) {
    if (!root.tdp_mmu_scheduled_root_to_zap) continue;
    root.tdp_mmu_scheduled_root_to_zap = false;
    KVM_BUG_ON(kvm.ctx, t, !root.role.invalid, 'kvm_tdp_mmu_zap_invalidated_roots', 'scheduled root is valid');
    yield* tdp_mmu_zap_root(kvm, t, root, shared);
    kvm_tdp_mmu_put_root(kvm, t, root);
  }
  if (shared) yield* read_unlock(kvm.ctx, kvm.mmu_lock, t);
  else yield* write_unlock(kvm.ctx, kvm.mmu_lock, t);
}

/** kvm_tdp_mmu_put_root(): the last reference: unlist the root and free it after RCU. */
function kvm_tdp_mmu_put_root(kvm: KvmMmu, t: SimThread, root: kvm_mmu_page): void {
  const i = kvm.roots.indexOf(root);
  if (i >= 0) kvm.roots.splice(i, 1);
  kvm.rcu.call_rcu(t, 'tdp_mmu_free_sp_rcu_callback', root.gfn, root.role.level, (rt) => tdp_mmu_free_sp_rcu_callback(kvm, rt, root));
}

/**
 * kvm_mmu_uninit_tdp_mmu(kvm) at VM destruction: invalidate every valid root (mirror roots are
 * only ever invalidated here), zap them with shared=false, WARN if tables remain, then
 * rcu_barrier() so every table is freed.
 */
export function* kvm_mmu_uninit_tdp_mmu(kvm: KvmMmu, t: SimThread): Proc<void> {
  kvm.ctx.events.begin(t.id, 'mmu', 'kvm_mmu_uninit_tdp_mmu');
  kvm_tdp_mmu_invalidate_roots(kvm, t, KVM_DIRECT_ROOTS | KVM_MIRROR_ROOTS);
  yield* kvm_tdp_mmu_zap_invalidated_roots(kvm, t, false);
  WARN_ON_ONCE(kvm.ctx, t, kvm.stats.tdp_mmu_pages !== 0, 'kvm_mmu_uninit_tdp_mmu', `${kvm.stats.tdp_mmu_pages} page tables left`);
  WARN_ON_ONCE(kvm.ctx, t, kvm.roots.length !== 0, 'kvm_mmu_uninit_tdp_mmu', 'roots left');
  yield* kvm.rcu.rcu_barrier(t);
  kvm.ctx.events.end(t.id);
}

/** Read-lock wrapper for paths that take mmu_lock for read themselves. */
export function* withReadLock<T>(kvm: KvmMmu, t: SimThread, body: Proc<T>): Proc<T> {
  yield* read_lock(kvm.ctx, kvm.mmu_lock, t);
  const r = yield* body;
  yield* read_unlock(kvm.ctx, kvm.mmu_lock, t);
  return r;
}

/** Write-lock wrapper for paths that take mmu_lock for write themselves. */
export function* withWriteLock<T>(kvm: KvmMmu, t: SimThread, body: Proc<T>): Proc<T> {
  yield* write_lock(kvm.ctx, kvm.mmu_lock, t);
  const r = yield* body;
  yield* write_unlock(kvm.ctx, kvm.mmu_lock, t);
  return r;
}
