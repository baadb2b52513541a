// handle_removed_pt(kvm, pt, shared) (kernel-mmu.md 3.3): a page table whose parent SPTE was
// already replaced is torn down. Each child is frozen and reported through
// handle_changed_spte() (a non-leaf child recurses, so removal is depth-first); then the
// per-table external hook runs; then the table is freed after an RCU grace period, because
// walkers under rcu_read_lock() may still be inside it.
//
// Order matters for TDX: children are removed from the S-EPT (per-child hooks) before the
// per-table hook reclaims the table's S-EPT page, which the module requires (H20).
import { KVM_BUG_ON, WARN_ON } from '../checks.ts';
import { SPIN, STEP, mustYieldStep, type Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import type { KvmMmu } from './kvm_mmu.ts';
import { PAGES_PER_LEVEL } from './kvm_mmu.ts';
import { is_mirror_sp, type kvm_mmu_page } from './kvm_mmu_page.ts';
import {
  SITE_HANDLE_REMOVED_PT,
  call_free_external_spt_perop,
  call_free_external_spt_unified,
  remove_external_spte,
} from './external_calls.ts';
import { handle_changed_spte } from './handle_changed_spte.ts';
import { emitSpteWrite, kvm_tdp_mmu_write_spte } from './tdp_mmu_set_spte.ts';
import { FROZEN_SPTE, SPTE_ENT_PER_PAGE, is_frozen_spte, is_shadow_present_pte } from '../../../shared/spte.ts';
import type { U64 } from '../../../shared/u64.ts';

export function* handle_removed_pt(kvm: KvmMmu, t: SimThread, sp: kvm_mmu_page, shared: boolean): Proc<void> {
  const ctx = kvm.ctx;
  const ops = kvm.config.ops;
  const level = sp.role.level;
  const base_gfn = sp.gfn;
  ctx.events.begin(t.id, 'mmu', 'handle_removed_pt', base_gfn, level, shared ? 'shared' : '');
  tdp_mmu_unlink_sp(kvm, sp);
  for (let i = 0; i < SPTE_ENT_PER_PAGE; i++) {
    const gfn = base_gfn + i * PAGES_PER_LEVEL[level];
    let old: U64;
    if (shared) {
      old = yield* freezeChildShared(kvm, t, sp, i, gfn);
    } else {
      // Step point: the read of a child; under write lock only hardware A/D assists race.
      if (mustYieldStep()) yield STEP;
      old = sp.spt[i];
      if (!is_shadow_present_pte(old)) continue;
      // Still an atomic write when the SPTE has volatile bits: the CPU can set A/D through
      // a TLB entry that predates the unlink.
      old = kvm_tdp_mmu_write_spte(kvm, t, sp, i, gfn, level, old, FROZEN_SPTE);
    }
    yield* handle_changed_spte(kvm, t, sp, gfn, old, FROZEN_SPTE, level, shared);
    if (ops.kind === 'per-op' && is_mirror_sp(sp)) {
      // [LN]/[B26]: removing S-EPT leaves needs the write lock; a shared removal of a mirror
      // table means a read-lock path reached a mirror table.
      KVM_BUG_ON(ctx, t, shared, 'handle_removed_pt', 'mirror page table removed under read lock');
      yield* remove_external_spte(kvm, t, ops, SITE_HANDLE_REMOVED_PT, gfn, old, level);
    }
  }
  if (is_mirror_sp(sp)) yield* freeExternalSpt(kvm, t, sp);
  kvm.rcu.call_rcu(t, 'tdp_mmu_free_sp_rcu_callback', base_gfn, level, (rt) => tdp_mmu_free_sp_rcu_callback(kvm, rt, sp));
  ctx.events.end(t.id);
}

/**
 * Shared mode: xchg the child to FROZEN_SPTE until the value taken was not FROZEN_SPTE.
 * Another reader may hold this child frozen for an in-flight update; it will only ever
 * restore a value, so wait for it. The wait is a spin, bounded by the scheduler's
 * stallStepsMax (a child frozen forever is a livelock).
 */
function* freezeChildShared(kvm: KvmMmu, t: SimThread, sp: kvm_mmu_page, index: number, gfn: number): Proc<U64> {
  for (let spins = 0; ; spins++) {
    // Step point: the xchg races with another reader's freeze/restore of the same child.
    yield spins === 0 ? STEP : SPIN;
    const old = sp.spt[index];
    sp.spt[index] = FROZEN_SPTE;
    if (!is_frozen_spte(old)) {
      emitSpteWrite(kvm, t, sp, 'xchg', gfn, sp.role.level, old, FROZEN_SPTE);
      return old;
    }
  }
}

/** The per-table hook after the child loop, as the design has it. */
function* freeExternalSpt(kvm: KvmMmu, t: SimThread, sp: kvm_mmu_page): Proc<void> {
  const ops = kvm.config.ops;
  if (ops.kind === 'per-op') {
    const r = yield* call_free_external_spt_perop(kvm, t, ops, SITE_HANDLE_REMOVED_PT, sp);
    // [LN]/[B26]: if the S-EPT page could not be reclaimed, leak it on purpose rather than
    // hand an encrypted page still in the module's hands back to the host.
    if (WARN_ON(kvm.ctx, t, r !== 0, 'handle_removed_pt:free_external_spt', 'S-EPT page leaked')) sp.external_spt = null;
    return;
  }
  // The strawman has no per-table hook: the table went through set_external_spte already.
  if (ops.nonleafRemovalViaSetExternal) return;
  yield* call_free_external_spt_unified(kvm, t, ops, SITE_HANDLE_REMOVED_PT, sp);
}

/** tdp_mmu_unlink_sp(): unaccount the table; new walkers can no longer reach it. */
function tdp_mmu_unlink_sp(kvm: KvmMmu, sp: kvm_mmu_page): void {
  kvm.stats.tdp_mmu_pages--;
  sp.unlinked = true;
}

/**
 * tdp_mmu_free_sp_rcu_callback(): after the grace period, free the table's pages (and, in
 * [LN]/[B26], an external_spt the TDX side left set). Emits an event the checker pairs with
 * the table's call_rcu.
 */
export function tdp_mmu_free_sp_rcu_callback(kvm: KvmMmu, t: SimThread, sp: kvm_mmu_page): void {
  kvm.ctx.events.instant(t.id, 'mmu', 'tdp_mmu_free_sp_rcu_callback', sp.gfn, sp.role.level, 'none', null, null, '', sp.role.is_mirror ? 'mirror' : 'direct');
  kvm.tdp_mmu_free_sp(sp);
}
