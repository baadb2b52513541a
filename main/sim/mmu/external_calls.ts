// The TDP MMU's side of the hook seam: every call from the MMU into ExternalOps goes through
// here, so every call is recorded the same way. A call is a `hook` span named after the hook,
// detail = the MMU call site, status = its return (errno_name; '' for a void hook), and is
// counted with countHookCall(). A hook the design leaves out is recorded as a `hook` instant
// with status `absent` and acts as KVM_X86_OP_OPTIONAL_RET0: it returns 0.
//
// Also the MMU helpers that sit in front of the per-op hooks in [B26]/[V3] tdp_mmu.c:
// set_external_spte_present(), remove_external_spte(), split_external_spte(), get_external_spt().
import { countHookCall } from '../metrics.ts';
import { EIO, errno_text, returnNow, type Proc } from '../proc.ts';
import { EventString } from '../event_sink.ts';
import { KVM_BUG_ON, WARN_ON_ONCE, lockdep_assert_held_write } from '../checks.ts';
import type { SimThread } from '../sim_thread.ts';
import type { KvmMmu } from './kvm_mmu.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import type { PerOpExternalOps, UnifiedExternalOps } from './external_ops.ts';
import { is_last_spte, is_shadow_present_pte } from '../../../shared/spte.ts';
import type { U64 } from '../../../shared/u64.ts';

/**
 * Call sites, as the `detail` of hook events and the key suffix in metrics.hookCalls. Like the
 * hook names below, EventStrings: a fault names a hook and its site every time.
 */
export const SITE_SET_EXTERNAL_SPTE_PRESENT = new EventString('set_external_spte_present');
export const SITE_TDP_MMU_SET_SPTE = new EventString('tdp_mmu_set_spte');
export const SITE_HANDLE_REMOVED_PT = new EventString('handle_removed_pt');
export const SITE_HANDLE_CHANGED_SPTE = new EventString('handle_changed_spte');

const LINK_EXTERNAL_SPT = new EventString('link_external_spt');
const SET_EXTERNAL_SPTE = new EventString('set_external_spte');
const REMOVE_EXTERNAL_SPTE = new EventString('remove_external_spte');
const SPLIT_EXTERNAL_SPTE = new EventString('split_external_spte');
const FREE_EXTERNAL_SPT = new EventString('free_external_spt');

function hookAbsent(kvm: KvmMmu, t: SimThread, hook: EventString, site: EventString, gfn: number, level: number): void {
  countHookCall(kvm.ctx.metrics, hook.text, site.text);
  kvm.ctx.events.instant(t.id, 'hook', hook, gfn, level, 'none', null, null, 'absent', site);
}

function hookBegin(kvm: KvmMmu, t: SimThread, hook: EventString, site: EventString, gfn: number, level: number): void {
  countHookCall(kvm.ctx.metrics, hook.text, site.text);
  kvm.ctx.events.begin(t.id, 'hook', hook, gfn, level, site);
}

/** per-op link_external_spt(kvm, gfn, level, external_spt) (TDH.MEM.SEPT.ADD). */
export function* call_link_external_spt(kvm: KvmMmu, t: SimThread, ops: PerOpExternalOps, site: EventString, gfn: number, level: number, child: kvm_mmu_page): Proc<number> {
  const fn = ops.link_external_spt;
  if (fn === undefined) {
    hookAbsent(kvm, t, LINK_EXTERNAL_SPT, site, gfn, level);
    return 0;
  }
  hookBegin(kvm, t, LINK_EXTERNAL_SPT, site, gfn, level);
  const r = yield* fn(t, gfn, level, child);
  kvm.ctx.events.end(t.id, errno_text(r));
  return r;
}

/** per-op set_external_spte(kvm, gfn, level, mirror_spte) (PAGE.AUG / PAGE.ADD). */
export function* call_set_external_spte_perop(kvm: KvmMmu, t: SimThread, ops: PerOpExternalOps, site: EventString, gfn: number, level: number, spte: U64): Proc<number> {
  const fn = ops.set_external_spte;
  if (fn === undefined) {
    hookAbsent(kvm, t, SET_EXTERNAL_SPTE, site, gfn, level);
    return 0;
  }
  hookBegin(kvm, t, SET_EXTERNAL_SPTE, site, gfn, level);
  const r = yield* fn(t, gfn, level, spte);
  kvm.ctx.events.end(t.id, errno_text(r));
  return r;
}

/** per-op remove_external_spte(kvm, gfn, level, mirror_spte): void since [B26]. */
export function* call_remove_external_spte(kvm: KvmMmu, t: SimThread, ops: PerOpExternalOps, site: EventString, gfn: number, level: number, spte: U64): Proc<void> {
  const fn = ops.remove_external_spte;
  if (fn === undefined) {
    hookAbsent(kvm, t, REMOVE_EXTERNAL_SPTE, site, gfn, level);
    return;
  }
  hookBegin(kvm, t, REMOVE_EXTERNAL_SPTE, site, gfn, level);
  yield* fn(t, gfn, level, spte);
  kvm.ctx.events.end(t.id);
}

/** [V3] split_external_spte(kvm, gfn, level, old_mirror_spte, new_external_spt, mmu_lock_shared) (09/24 added the flag). */
export function* call_split_external_spte(kvm: KvmMmu, t: SimThread, ops: PerOpExternalOps, site: EventString, gfn: number, level: number, old: U64, child: kvm_mmu_page, shared: boolean): Proc<number> {
  const fn = ops.split_external_spte;
  if (fn === undefined) {
    hookAbsent(kvm, t, SPLIT_EXTERNAL_SPTE, site, gfn, level);
    return 0;
  }
  hookBegin(kvm, t, SPLIT_EXTERNAL_SPTE, site, gfn, level);
  const r = yield* fn(t, gfn, level, old, child, shared);
  kvm.ctx.events.end(t.id, errno_text(r));
  return r;
}

/** per-op free_external_spt(kvm, gfn, level, external_spt): int in [LN]/[B26]. */
export function* call_free_external_spt_perop(kvm: KvmMmu, t: SimThread, ops: PerOpExternalOps, site: EventString, sp: kvm_mmu_page): Proc<number> {
  const fn = ops.free_external_spt;
  if (fn === undefined) {
    hookAbsent(kvm, t, FREE_EXTERNAL_SPT, site, sp.gfn, sp.role.level);
    return 0;
  }
  hookBegin(kvm, t, FREE_EXTERNAL_SPT, site, sp.gfn, sp.role.level);
  const r = yield* fn(t, sp.gfn, sp.role.level, sp);
  kvm.ctx.events.end(t.id, errno_text(r));
  return r;
}

/** unified set_external_spte(kvm, gfn, old_spte, new_spte, level). */
export function* call_set_external_spte_unified(kvm: KvmMmu, t: SimThread, ops: UnifiedExternalOps, site: EventString, gfn: number, old: U64, nw: U64, level: number): Proc<number> {
  const fn = ops.set_external_spte;
  if (fn === undefined) {
    hookAbsent(kvm, t, SET_EXTERNAL_SPTE, site, gfn, level);
    return 0;
  }
  hookBegin(kvm, t, SET_EXTERNAL_SPTE, site, gfn, level);
  const r = yield* fn(t, gfn, old, nw, level);
  kvm.ctx.events.end(t.id, errno_text(r));
  return r;
}

/** unified free_external_spt(kvm, sp): void ([KX]); the TDX side handles errors itself. */
export function* call_free_external_spt_unified(kvm: KvmMmu, t: SimThread, ops: UnifiedExternalOps, site: EventString, sp: kvm_mmu_page): Proc<void> {
  const fn = ops.free_external_spt;
  if (fn === undefined) {
    hookAbsent(kvm, t, FREE_EXTERNAL_SPT, site, sp.gfn, sp.role.level);
    return;
  }
  hookBegin(kvm, t, FREE_EXTERNAL_SPT, site, sp.gfn, sp.role.level);
  yield* fn(t, sp);
  kvm.ctx.events.end(t.id);
}

/**
 * get_external_spt(gfn, new_spte, level) ([LN]/[B26] tdp_mmu.c): the child table a new
 * present non-leaf mirror SPTE points at (null otherwise). The child should sit one level down
 * and cover exactly `gfn`; the kernel WARN_ON_ONCEs if not and still returns its
 * external_spt, so a mismatched table is linked anyway (TDX in [B26] cannot tell). The model
 * returns the child; callers KVM_BUG_ON a missing external_spt.
 */
export function get_external_spt(kvm: KvmMmu, t: SimThread, gfn: number, nw: U64, level: number): kvm_mmu_page | null {
  if (!is_shadow_present_pte(nw) || is_last_spte(nw, level)) return null;
  const child = kvm.spte_to_child_sp(nw);
  if (child === null) return null;
  WARN_ON_ONCE(kvm.ctx, t, child.role.level + 1 !== level, 'get_external_spt:level', () => `sp level ${child.role.level} under level ${level}`);
  WARN_ON_ONCE(kvm.ctx, t, child.gfn !== gfn, 'get_external_spt:gfn', () => `sp gfn 0x${child.gfn.toString(16)} != 0x${gfn.toString(16)}`);
  return child;
}

/**
 * [V3] 09/24's read-lock split: with the split hook, a present leaf becoming a present non-leaf
 * may go through the atomic path (set_external_spte_present -> split_external_spte(shared)),
 * for TDX to refuse; [B26] without the hook lets only !present -> present through.
 */
export function splitsUnderReadLock(ops: PerOpExternalOps, old: U64, nw: U64, level: number): boolean {
  return ops.split_external_spte !== undefined && is_shadow_present_pte(old) && is_last_spte(old, level) && is_shadow_present_pte(nw) && !is_last_spte(nw, level);
}

/**
 * set_external_spte_present() ([B26]; [V3] 09/24 adds the split): called with the mirror SPTE
 * frozen. A !present -> present non-leaf links the child's S-EPT page, a leaf maps the page;
 * with the split hook ([V3]), a leaf -> non-leaf change is a split under the read lock. Returns
 * the hook's result; the caller restores or stores.
 */
export function set_external_spte_present(kvm: KvmMmu, t: SimThread, ops: PerOpExternalOps, gfn: number, old: U64, nw: U64, level: number): Proc<number> {
  const is_present = is_shadow_present_pte(nw);
  const is_leaf = is_present && is_last_spte(nw, level);
  const splitting = splitsUnderReadLock(ops, old, nw, level);
  // [B26]: only !present -> present reaches here. [V3] 09/24 also lets leaf -> non-leaf through.
  if (KVM_BUG_ON(kvm.ctx, t, !is_present || (is_shadow_present_pte(old) && !splitting), 'set_external_spte_present', 'not a !present -> present change or a split')) return returnNow(-EIO);
  if (splitting) return split_external_spte(kvm, t, ops, SITE_SET_EXTERNAL_SPTE_PRESENT, gfn, old, nw, level, true);
  if (is_leaf) return call_set_external_spte_perop(kvm, t, ops, SITE_SET_EXTERNAL_SPTE_PRESENT, gfn, level, nw);
  const child = get_external_spt(kvm, t, gfn, nw, level);
  if (KVM_BUG_ON(kvm.ctx, t, child === null || child.external_spt === null, 'set_external_spte_present', 'no external_spt for the new table')) return returnNow(-EIO);
  return call_link_external_spt(kvm, t, ops, SITE_SET_EXTERNAL_SPTE_PRESENT, gfn, level, child as kvm_mmu_page);
}

/**
 * remove_external_spte() helper: silently returns for a non-leaf `old` (it is reached for
 * non-leaf SPTEs from __tdp_mmu_zap_root, and table removal has its own hook). Note that at
 * 4K is_last_spte() is true even for a non-present `old`, so such a call does reach the hook.
 */
export function* remove_external_spte(kvm: KvmMmu, t: SimThread, ops: PerOpExternalOps, site: EventString, gfn: number, old: U64, level: number): Proc<void> {
  if (!is_last_spte(old, level)) return;
  // Zapping a leaf is allowed only under the write lock.
  lockdep_assert_held_write(kvm.ctx, t, 'remove_external_spte');
  yield* call_remove_external_spte(kvm, t, ops, site, gfn, level, old);
}

/**
 * [V3] split_external_spte() helper: the new non-leaf's child table must carry an S-EPT page
 * (KVM_BUG_ON otherwise). `shared`: called from the fault path under the read lock
 * (set_external_spte_present, [V3] 09/24) rather than from tdp_mmu_set_spte. Its result is
 * returned; tdp_mmu_set_spte ignores it (H16), the atomic path restores the old SPTE on error.
 */
export function* split_external_spte(kvm: KvmMmu, t: SimThread, ops: PerOpExternalOps, site: EventString, gfn: number, old: U64, nw: U64, level: number, shared: boolean): Proc<number> {
  const child = get_external_spt(kvm, t, gfn, nw, level);
  if (KVM_BUG_ON(kvm.ctx, t, child === null || child.external_spt === null, 'split_external_spte', 'no new_external_spt')) return -EIO;
  return yield* call_split_external_spte(kvm, t, ops, site, gfn, level, old, child as kvm_mmu_page, shared);
}
