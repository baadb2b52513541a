// Brittleness probes (kernel-mmu.md 3.9, 7 and 8): paths that are unreachable, or allegedly
// unreachable, for mirror roots today. Each runs the real kernel primitive on whichever root
// the target GFN picks, so a scenario can ask "what does each design do if this ever happens?"
// Each takes mmu_lock itself, in the mode its kernel counterpart runs under.
import { WARN_ON_ONCE } from '../checks.ts';
import { SPIN, STEP, mustYieldStep, errno_name, type Proc } from '../proc.ts';
import { read_lock, read_unlock, write_lock, write_unlock } from '../mmu_lock.ts';
import type { SimThread } from '../sim_thread.ts';
import type { KvmMmu } from './kvm_mmu.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import type { U64 } from '../../../shared/u64.ts';
import { newTdpIter, tdp_iter_in_range, tdp_iter_next, tdp_iter_start, type tdp_iter } from './tdp_iter.ts';
import { emitSpteWrite, tdp_mmu_iter_set_spte, tdp_mmu_set_spte_atomic } from './tdp_mmu_set_spte.ts';
import { tdp_mmu_link_sp } from './tdp_mmu_map.ts';
import { make_huge_spte, make_spte, spte_clear_accessed, spte_clear_writable } from './spte_make.ts';
import { PG_LEVEL_4K, SHADOW_NONPRESENT_VALUE, VMX_EPT_ACCESS_BIT, is_last_spte, is_shadow_present_pte } from '../../../shared/spte.ts';

/**
 * What a probe did: 'done', 'absent' (nothing to act on), 'not-accessed' (aging: the leaf is not
 * young), 'disallowed', or an errno name.
 */
export type ProbeResult = string;

/** Local retries of the probes that `goto retry` like wrprot_gfn_range. */
const PROBE_RETRIES_MAX = 10_000;

/**
 * Walks to the SPTE of `gfn` at `level` (stopping early at a leaf or a hole). The iterator is
 * left on the last SPTE read. Caller holds mmu_lock and RCU.
 */
function* walkTo(kvm: KvmMmu, root: kvm_mmu_page, gfn: number, level: number): Proc<tdp_iter> {
  const iter = newTdpIter(root);
  // Step point: the walk's first SPTE read.
  if (mustYieldStep()) yield STEP;
  tdp_iter_start(kvm, iter, root, level, gfn, kvm.gfnRootBits(root));
  while (tdp_iter_in_range(iter, gfn + 1) && iter.level > level) {
    if (!is_shadow_present_pte(iter.old_spte) || is_last_spte(iter.old_spte, iter.level)) break;
    // Step point: the next SPTE read.
    if (mustYieldStep()) yield STEP;
    tdp_iter_next(kvm, iter);
  }
  return iter;
}

function rootFor(kvm: KvmMmu, isPrivate: boolean): kvm_mmu_page | null {
  return kvm.validRoot(isPrivate);
}

/**
 * wrprot-leaf under write lock: clear W on the leaf mapping `gfn` with tdp_mmu_iter_set_spte
 * (a hypothetical write-locked write-protect, scenario 8.1). per-op [B26]: KVM_BUG_ON + removal
 * of the S-EPT leaf; [V3]: KVM_BUG_ON; unified: set_external_spte(leaf, leaf) reaches TDX.
 */
export function* probe_wrprot_leaf_write_locked(kvm: KvmMmu, t: SimThread, gfn: number, isPrivate: boolean): Proc<ProbeResult> {
  const root = rootFor(kvm, isPrivate);
  if (root === null) return 'absent';
  kvm.ctx.events.begin(t.id, 'mmu', 'wrprot_gfn_range', gfn, 0, 'write-locked');
  yield* write_lock(kvm.ctx, kvm.mmu_lock, t);
  kvm.rcu.rcu_read_lock(t);
  const iter = yield* walkTo(kvm, root, gfn, PG_LEVEL_4K);
  let result: ProbeResult = 'absent';
  if (is_shadow_present_pte(iter.old_spte) && is_last_spte(iter.old_spte, iter.level)) {
    yield* tdp_mmu_iter_set_spte(kvm, t, iter, spte_clear_writable(iter.old_spte));
    result = 'done';
  }
  kvm.rcu.rcu_read_unlock(t);
  yield* write_unlock(kvm.ctx, kvm.mmu_lock, t);
  kvm.ctx.events.end(t.id, result);
  return result;
}

/**
 * wrprot-leaf under read lock, as wrprot_gfn_range does it: tdp_mmu_set_spte_atomic with a
 * local `goto retry`. per-op [B26]: KVM_BUG_ON then -EBUSY forever (bounded here); unified:
 * freeze + set_external_spte(leaf, leaf).
 */
export function* probe_wrprot_leaf_read_locked(kvm: KvmMmu, t: SimThread, gfn: number, isPrivate: boolean): Proc<ProbeResult> {
  const root = rootFor(kvm, isPrivate);
  if (root === null) return 'absent';
  kvm.ctx.events.begin(t.id, 'mmu', 'wrprot_gfn_range', gfn, 0, 'read-locked');
  yield* read_lock(kvm.ctx, kvm.mmu_lock, t);
  kvm.rcu.rcu_read_lock(t);
  const iter = yield* walkTo(kvm, root, gfn, PG_LEVEL_4K);
  let result: ProbeResult = 'absent';
  for (let retries = 0; retries < PROBE_RETRIES_MAX; retries++) {
    if (!is_shadow_present_pte(iter.old_spte) || !is_last_spte(iter.old_spte, iter.level)) break;
    const nw = spte_clear_writable(iter.old_spte);
    if (nw === iter.old_spte) {
      result = 'done';
      break;
    }
    const r = yield* tdp_mmu_set_spte_atomic(kvm, t, iter, nw);
    result = r === 0 ? 'done' : errno_name(r);
    if (r === 0) break;
    // goto retry with iter.old_spte as refreshed (or stale, H3): a failed retry is a spin.
    kvm.ctx.metrics.retries++;
    yield SPIN;
  }
  kvm.rcu.rcu_read_unlock(t);
  yield* read_unlock(kvm.ctx, kvm.mmu_lock, t);
  kvm.ctx.events.end(t.id, result);
  return result;
}

/** is_accessed_spte() with A/D bits enabled (TDX requires them): the EPT accessed bit is set. */
function is_accessed_spte(spte: U64): boolean {
  return (spte & VMX_EPT_ACCESS_BIT) !== 0;
}

/**
 * __kvm_tdp_mmu_age_gfn_range() on one GFN, then kvm_tdp_mmu_age_spte() ([LN] tdp_mmu.c): a
 * present leaf whose accessed bit is clear is skipped ('not-accessed'); otherwise the accessed
 * bit is cleared with an atomic bit clear that never calls handle_changed_spte, so no per-op
 * hook sees it (H2, the silent case). [UNI] (Sean, aYYn0nf2cayYu8e7, 2026-02-06) makes
 * kvm_tdp_mmu_age_spte() `if (WARN_ON_ONCE(is_mirror_sptep(...))) return;`, so the unified
 * designs WARN and leave a mirror SPTE unchanged ('disallowed').
 */
export function* kvm_tdp_mmu_age_spte(kvm: KvmMmu, t: SimThread, gfn: number, isPrivate: boolean): Proc<ProbeResult> {
  const root = rootFor(kvm, isPrivate);
  if (root === null) return 'absent';
  kvm.ctx.events.begin(t.id, 'mmu', 'kvm_tdp_mmu_age_spte', gfn, 0);
  yield* read_lock(kvm.ctx, kvm.mmu_lock, t);
  kvm.rcu.rcu_read_lock(t);
  const iter = yield* walkTo(kvm, root, gfn, PG_LEVEL_4K);
  let result: ProbeResult = 'absent';
  if (!is_shadow_present_pte(iter.old_spte) || !is_last_spte(iter.old_spte, iter.level)) {
    // tdp_root_for_each_leaf_pte() visits present leaves only.
  } else if (!is_accessed_spte(iter.old_spte)) {
    // The caller skips SPTEs that are not young before kvm_tdp_mmu_age_spte() is reached.
    result = 'not-accessed';
  } else if (kvm.config.ops.kind === 'unified' && WARN_ON_ONCE(kvm.ctx, t, iter.sp.role.is_mirror, 'kvm_tdp_mmu_age_spte', 'aging a mirror SPTE')) {
    // [UNI]: aging mirror SPTEs is not supported (the S-EPT has no accessed bit KVM could clear).
    result = 'disallowed';
  } else {
    // Step point: the atomic bit clear (tdp_mmu_clear_spte_bits_atomic) races with faults.
    if (mustYieldStep()) yield STEP;
    const old = iter.sp.spt[iter.index];
    const nw = spte_clear_accessed(old);
    iter.sp.spt[iter.index] = nw;
    iter.old_spte = old;
    emitSpteWrite(kvm, t, iter.sp, 'atomic64_fetch_and', iter.gfn, iter.level, old, nw);
    result = 'done';
  }
  kvm.rcu.rcu_read_unlock(t);
  yield* read_unlock(kvm.ctx, kvm.mmu_lock, t);
  kvm.ctx.events.end(t.id, result);
  return result;
}

/**
 * kvm_tdp_mmu_zap_possible_nx_huge_page(kvm, sp): under read lock, zap the non-leaf SPTE at
 * `level` covering `gfn` (at 2M, the one pointing at a table of 4K entries), atomically (NX
 * recovery). per-op: the mirror
 * branch KVM_BUG_ONs; unified: freeze, then handle_removed_pt(shared) sends leaf removals to
 * TDX under the read lock.
 */
export function* kvm_tdp_mmu_zap_possible_nx_huge_page(kvm: KvmMmu, t: SimThread, gfn: number, level: number, isPrivate: boolean): Proc<ProbeResult> {
  const root = rootFor(kvm, isPrivate);
  if (root === null) return 'absent';
  kvm.ctx.events.begin(t.id, 'mmu', 'kvm_tdp_mmu_zap_possible_nx_huge_page', gfn, level);
  yield* read_lock(kvm.ctx, kvm.mmu_lock, t);
  kvm.rcu.rcu_read_lock(t);
  // `level` is the non-leaf SPTE's own level: at 2M it points at the table of 4K entries.
  const iter = yield* walkTo(kvm, root, gfn, level);
  let result: ProbeResult = 'absent';
  const child = is_shadow_present_pte(iter.old_spte) && !is_last_spte(iter.old_spte, iter.level) ? kvm.spte_to_child_sp(iter.old_spte) : null;
  // Zap only if the SPTE still points at the table (another task may have changed it).
  if (iter.level === level && child !== null) {
    const r = yield* tdp_mmu_set_spte_atomic(kvm, t, iter, SHADOW_NONPRESENT_VALUE);
    result = r === 0 ? 'done' : errno_name(r);
  }
  kvm.rcu.rcu_read_unlock(t);
  yield* read_unlock(kvm.ctx, kvm.mmu_lock, t);
  kvm.ctx.events.end(t.id, result);
  return result;
}

/**
 * map-under-write-lock: a hypothetical write-locked prefault (scenario 8.9). Links missing
 * tables with tdp_mmu_link_sp(shared=false) and sets the 4K leaf with tdp_mmu_iter_set_spte.
 * per-op [B26]: KVM_BUG_ON (present new under write lock); unified: set_external_spte under
 * write lock, a BUSY becomes KVM_BUG_ON with the trees diverged (H18/H19).
 */
export function* probe_map_under_write_lock(kvm: KvmMmu, t: SimThread, gfn: number, isPrivate: boolean, pfn: number): Proc<ProbeResult> {
  const root = kvm.validRoot(isPrivate) ?? kvm.kvm_tdp_mmu_alloc_root(isPrivate);
  kvm.ctx.events.begin(t.id, 'mmu', 'map_under_write_lock', gfn, PG_LEVEL_4K);
  yield* write_lock(kvm.ctx, kvm.mmu_lock, t);
  kvm.rcu.rcu_read_lock(t);
  const iter = newTdpIter(root);
  let result: ProbeResult = 'absent';
  // Step point: the walk's first SPTE read.
  if (mustYieldStep()) yield STEP;
  tdp_iter_start(kvm, iter, root, PG_LEVEL_4K, gfn, kvm.gfnRootBits(root));
  while (tdp_iter_in_range(iter, gfn + 1)) {
    if (iter.level === PG_LEVEL_4K) {
      const nw = make_spte(pfn, PG_LEVEL_4K);
      if (nw !== iter.old_spte) yield* tdp_mmu_iter_set_spte(kvm, t, iter, nw);
      result = 'done';
      break;
    }
    if (!is_shadow_present_pte(iter.old_spte)) {
      const sp = kvm.allocChildSp(iter.sp, iter.index, iter.gfn);
      yield* tdp_mmu_link_sp(kvm, t, iter, sp, false);
    }
    // Step point: the next SPTE read.
    if (mustYieldStep()) yield STEP;
    tdp_iter_next(kvm, iter);
  }
  kvm.rcu.rcu_read_unlock(t);
  yield* write_unlock(kvm.ctx, kvm.mmu_lock, t);
  kvm.ctx.events.end(t.id, result);
  return result;
}

/**
 * promote: replace the table at `level` - 1 covering `gfn` by a huge leaf at `level`, as
 * kvm_tdp_mmu_recover_huge_pages does under read lock. For a mirror root promotion is
 * disallowed (H11) and the probe stops, unless `force` asks what the design would do.
 */
export function* probe_promote(kvm: KvmMmu, t: SimThread, gfn: number, level: number, isPrivate: boolean, force = false): Proc<ProbeResult> {
  const root = rootFor(kvm, isPrivate);
  if (root === null) return 'absent';
  kvm.ctx.events.begin(t.id, 'mmu', 'kvm_tdp_mmu_recover_huge_pages', gfn, level);
  if (root.role.is_mirror && !force) {
    kvm.ctx.events.instant(t.id, 'mmu', 'disallowed_hugepage_adjust', gfn, level, 'none', null, null, 'disallowed', 'mirror root');
    kvm.ctx.events.end(t.id, 'disallowed');
    return 'disallowed';
  }
  yield* read_lock(kvm.ctx, kvm.mmu_lock, t);
  kvm.rcu.rcu_read_lock(t);
  const iter = yield* walkTo(kvm, root, gfn, level);
  let result: ProbeResult = 'absent';
  const child = iter.level === level && is_shadow_present_pte(iter.old_spte) && !is_last_spte(iter.old_spte, level) ? kvm.spte_to_child_sp(iter.old_spte) : null;
  const leaf = child === null ? -1 : child.spt.findIndex((s) => is_shadow_present_pte(s) && is_last_spte(s, child.role.level));
  if (child !== null && leaf >= 0) {
    // tdp_mmu_make_huge_spte(): the huge leaf takes a present child leaf's attributes.
    const r = yield* tdp_mmu_set_spte_atomic(kvm, t, iter, make_huge_spte(child.spt[leaf], level));
    result = r === 0 ? 'done' : errno_name(r);
  }
  kvm.rcu.rcu_read_unlock(t);
  yield* read_unlock(kvm.ctx, kvm.mmu_lock, t);
  kvm.ctx.events.end(t.id, result);
  return result;
}
