// The SPTE setters of tdp_mmu.c, with the kernel's layering (kernel-mmu.md 3.1):
//   __tdp_mmu_set_spte_atomic   the cmpxchg (read lock); per-op: freeze + hook for mirrors
//   tdp_mmu_set_spte_atomic     + handle_changed_spte (unified: freeze, hook, then store)
//   tdp_mmu_set_spte            write lock, non-atomic store, then handle_changed_spte
//   tdp_mmu_iter_set_spte       the same through an iterator
// The hook seam is whatever config.ops is; both kernel versions are modelled here.
import { KVM_BUG_ON, WARN_ON_ONCE, lockdep_assert_held_read, lockdep_assert_held_write } from '../checks.ts';
import { EBUSY, STEP, mustYieldStep, errno_name, errno_text, type Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import type { KvmMmu } from './kvm_mmu.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import type { tdp_iter } from './tdp_iter.ts';
import type { PerOpExternalOps } from './external_ops.ts';
import { remove_external_spte, set_external_spte_present, split_external_spte, splitsUnderReadLock, SITE_TDP_MMU_SET_SPTE } from './external_calls.ts';
import { __handle_changed_spte, handle_changed_spte } from './handle_changed_spte.ts';
import { is_mmu_writable_spte } from './spte_make.ts';
import {
  FROZEN_SPTE,
  VMX_EPT_ACCESS_BIT,
  VMX_EPT_DIRTY_BIT,
  VMX_EPT_WRITABLE_MASK,
  is_frozen_spte,
  is_last_spte,
  is_shadow_present_pte,
} from '../../../shared/spte.ts';
import { u64_hex, type U64 } from '../../../shared/u64.ts';
import { EventString, type EventText } from '../event_sink.ts';

/** Event texts of every fault (EventString: interned once per run). */
const TDP_MMU_SET_SPTE_ATOMIC = new EventString('tdp_mmu_set_spte_atomic');
const TRY_CMPXCHG64 = new EventString('try_cmpxchg64');
const WRITE_ONCE = new EventString('WRITE_ONCE');
const XCHG = new EventString('xchg');

/** The SPTE-write event: an `mmu` instant named after the primitive, on the table's tree. */
export function emitSpteWrite(kvm: KvmMmu, t: SimThread, sp: kvm_mmu_page, name: EventText, gfn: number, level: number, old: U64, nw: U64, status = ''): void {
  kvm.ctx.events.instant(t.id, 'mmu', name, gfn, level, sp.role.is_mirror ? 'mirror' : 'direct', old, nw, status);
}

/**
 * try_cmpxchg64(sptep, &iter->old_spte, new): succeeds only if the SPTE still holds the
 * snapshot. On failure the snapshot is refreshed (unless `updateOld` is false, [B26]'s stale
 * local copy, H3) and the event has status -EBUSY and tree 'none'.
 */
function try_cmpxchg64(kvm: KvmMmu, t: SimThread, iter: tdp_iter, nw: U64, updateOld: boolean): number {
  const cur = iter.sp.spt[iter.index];
  if (cur !== iter.old_spte) {
    kvm.ctx.events.instant(t.id, 'mmu', 'try_cmpxchg64', iter.gfn, iter.level, 'none', iter.old_spte, nw, '-EBUSY', `found ${u64_hex(cur)}`);
    if (updateOld) iter.old_spte = cur;
    return -EBUSY;
  }
  iter.sp.spt[iter.index] = nw;
  emitSpteWrite(kvm, t, iter.sp, TRY_CMPXCHG64, iter.gfn, iter.level, cur, nw);
  return 0;
}

/**
 * __tdp_mmu_set_spte_atomic(kvm, iter, new). Caller holds mmu_lock for read.
 * Returns 0 on success; -EBUSY if the SPTE changed since iter.old_spte was read (the only side
 * effect is refreshing iter.old_spte) or, per-op, if the mirror change is unsupported; per-op,
 * a failing hook's error after the old value was put back.
 */
export function __tdp_mmu_set_spte_atomic(kvm: KvmMmu, t: SimThread, iter: tdp_iter, nw: U64): Proc<number> {
  // A walk that yielded must restart before writing; a frozen snapshot means the caller read
  // another thread's in-flight update and should have retried.
  WARN_ON_ONCE(kvm.ctx, t, iter.yielded || is_frozen_spte(iter.old_spte), '__tdp_mmu_set_spte_atomic', 'set from a yielded iterator or a frozen SPTE');
  const ops = kvm.config.ops;
  if (ops.kind === 'per-op' && iter.sp.role.is_mirror && !is_frozen_spte(nw)) return setMirrorSpteAtomicPerOp(kvm, t, ops, iter, nw);
  return cmpxchgStep(kvm, t, iter, nw);
}

function* cmpxchgStep(kvm: KvmMmu, t: SimThread, iter: tdp_iter, nw: U64): Proc<number> {
  // Step point: the cmpxchg; another reader may have changed the SPTE since the walk read it.
  if (mustYieldStep()) yield STEP;
  return try_cmpxchg64(kvm, t, iter, nw, true);
}

/**
 * [B26] mirror branch of __tdp_mmu_set_spte_atomic: freeze the SPTE so no other thread can
 * touch it while the S-EPT is updated, call set_external_spte_present(), then restore `old`
 * on failure or store `new` on success.
 */
function* setMirrorSpteAtomicPerOp(kvm: KvmMmu, t: SimThread, ops: PerOpExternalOps, iter: tdp_iter, nw: U64): Proc<number> {
  // Under read lock the mirror may only go !present -> present: zapping it would need S-EPT
  // operations that require the write lock. [V3] 09/24 also lets a leaf -> non-leaf split
  // through, for TDX to refuse (tdx_sept_split_private_spte under the shared lock).
  const splitting = splitsUnderReadLock(ops, iter.old_spte, nw, iter.level);
  if (KVM_BUG_ON(kvm.ctx, t, !is_shadow_present_pte(nw) || (is_shadow_present_pte(iter.old_spte) && !splitting), '__tdp_mmu_set_spte_atomic', 'mirror SPTE zap/split under read lock')) return -EBUSY;
  const old = iter.old_spte;
  // Step point: the freeze cmpxchg races with other vCPUs linking or mapping the same SPTE.
  if (mustYieldStep()) yield STEP;
  if (try_cmpxchg64(kvm, t, iter, FROZEN_SPTE, kvm.config.freezeUpdatesOldSpte) !== 0) return -EBUSY;
  const r = yield* set_external_spte_present(kvm, t, ops, iter.gfn, old, nw, iter.level);
  // Step point: the store that ends the freeze; walkers that saw FROZEN_SPTE retry after it.
  if (mustYieldStep()) yield STEP;
  const value = r !== 0 ? old : nw;
  iter.sp.spt[iter.index] = value;
  emitSpteWrite(kvm, t, iter.sp, WRITE_ONCE, iter.gfn, iter.level, FROZEN_SPTE, value, r !== 0 ? 'restore' : '');
  return r;
}

/**
 * tdp_mmu_set_spte_atomic(kvm, iter, new): __must_check. Caller holds mmu_lock for read.
 * Returns 0 when the SPTE is `new` and bookkeeping is done; -EBUSY (iter.old_spte refreshed)
 * or a hook's error when nothing changed and the caller must retry or give up. A dispatcher
 * (a plain function returning the Proc of the design's version): every fault sets a leaf
 * through here, and a generator level fewer is a resume fewer per fault.
 */
export function tdp_mmu_set_spte_atomic(kvm: KvmMmu, t: SimThread, iter: tdp_iter, nw: U64): Proc<number> {
  lockdep_assert_held_read(kvm.ctx, t, 'tdp_mmu_set_spte_atomic');
  return kvm.config.ops.kind === 'per-op' ? setSpteAtomicPerOp(kvm, t, iter, nw) : setSpteAtomicUnified(kvm, t, iter, nw);
}

/** [B26]: the external update (if any) already happened in __tdp_mmu_set_spte_atomic; handle_changed_spte is bookkeeping. */
function* setSpteAtomicPerOp(kvm: KvmMmu, t: SimThread, iter: tdp_iter, nw: U64): Proc<number> {
  kvm.ctx.events.begin(t.id, 'mmu', TDP_MMU_SET_SPTE_ATOMIC, iter.gfn, iter.level);
  const r = yield* __tdp_mmu_set_spte_atomic(kvm, t, iter, nw);
  if (r === 0) yield* handle_changed_spte(kvm, t, iter.sp, iter.gfn, iter.old_spte, nw, iter.level, true);
  kvm.ctx.events.end(t.id, errno_text(r));
  return r;
}

/**
 * [UNI]: a mirror SPTE is frozen for the whole external operation (including
 * handle_removed_pt of a zapped table), then restored on failure or set on success. A direct
 * SPTE is set first; its bookkeeping cannot fail (KVM_BUG_ON if it does).
 */
function* setSpteAtomicUnified(kvm: KvmMmu, t: SimThread, iter: tdp_iter, nw: U64): Proc<number> {
  kvm.ctx.events.begin(t.id, 'mmu', TDP_MMU_SET_SPTE_ATOMIC, iter.gfn, iter.level);
  // FROZEN_SPTE is the setter's own tool; a caller asking for it is confused.
  WARN_ON_ONCE(kvm.ctx, t, is_frozen_spte(nw), 'tdp_mmu_set_spte_atomic', 'new SPTE is FROZEN_SPTE');
  const mirror = iter.sp.role.is_mirror;
  const old = iter.old_spte;
  let r = yield* __tdp_mmu_set_spte_atomic(kvm, t, iter, mirror ? FROZEN_SPTE : nw);
  if (r === 0) {
    r = yield* __handle_changed_spte(kvm, t, iter.sp, iter.gfn, old, nw, iter.level, true);
    if (mirror) {
      // Step point: the store that ends the freeze; walkers that saw FROZEN_SPTE retry after it.
      if (mustYieldStep()) yield STEP;
      const value = r !== 0 ? old : nw;
      iter.sp.spt[iter.index] = value;
      emitSpteWrite(kvm, t, iter.sp, WRITE_ONCE, iter.gfn, iter.level, FROZEN_SPTE, value, r !== 0 ? 'restore' : '');
    } else {
      KVM_BUG_ON(kvm.ctx, t, r !== 0, 'tdp_mmu_set_spte_atomic', () => `direct SPTE bookkeeping failed: ${errno_name(r)}`);
    }
  }
  kvm.ctx.events.end(t.id, errno_text(r));
  return r;
}

/**
 * spte_needs_atomic_update(): with A/D bits enabled, hardware may still set A or D (or the
 * fast-PF path W) on a present leaf, so the write must be an xchg to not lose them.
 */
function spte_needs_atomic_update(spte: U64, level: number): boolean {
  if (!is_shadow_present_pte(spte) || !is_last_spte(spte, level)) return false;
  const writable = (spte & VMX_EPT_WRITABLE_MASK) !== 0;
  if (!writable && is_mmu_writable_spte(spte)) return true;
  return (spte & VMX_EPT_ACCESS_BIT) === 0 || (writable && (spte & VMX_EPT_DIRTY_BIT) === 0);
}

/**
 * kvm_tdp_mmu_write_spte(sptep, old, new, level): xchg when the old value has volatile bits,
 * else WRITE_ONCE. Returns the value actually replaced.
 */
export function kvm_tdp_mmu_write_spte(kvm: KvmMmu, t: SimThread, sp: kvm_mmu_page, index: number, gfn: number, level: number, old: U64, nw: U64): U64 {
  const atomic = spte_needs_atomic_update(old, level);
  const replaced = atomic ? sp.spt[index] : old;
  sp.spt[index] = nw;
  emitSpteWrite(kvm, t, sp, atomic ? XCHG : WRITE_ONCE, gfn, level, replaced, nw);
  return replaced;
}

/**
 * tdp_mmu_set_spte(kvm, as_id, sptep, old, new, gfn, level): write lock, non-atomic.
 * Returns the old value. The mirror side is the design's: per-op dispatches after
 * handle_changed_spte; unified propagates inside it.
 */
export function* tdp_mmu_set_spte(kvm: KvmMmu, t: SimThread, sp: kvm_mmu_page, index: number, gfn: number, old: U64, nw: U64, level: number): Proc<U64> {
  lockdep_assert_held_write(kvm.ctx, t, 'tdp_mmu_set_spte');
  kvm.ctx.events.begin(t.id, 'mmu', 'tdp_mmu_set_spte', gfn, level);
  // FROZEN_SPTE is only for read-lock writers; with the write lock held there is none.
  WARN_ON_ONCE(kvm.ctx, t, is_frozen_spte(old) || is_frozen_spte(nw), 'tdp_mmu_set_spte', 'FROZEN_SPTE under write lock');
  // Step point: the store. Only hardware A/D assists and the TDX module run concurrently.
  if (mustYieldStep()) yield STEP;
  const replaced = kvm_tdp_mmu_write_spte(kvm, t, sp, index, gfn, level, old, nw);
  yield* handle_changed_spte(kvm, t, sp, gfn, replaced, nw, level, false);
  const ops = kvm.config.ops;
  if (ops.kind === 'per-op' && sp.role.is_mirror) yield* setMirrorSpteWriteLockedPerOp(kvm, t, ops, gfn, replaced, nw, level);
  kvm.ctx.events.end(t.id);
  return replaced;
}

/**
 * The per-op mirror branch of tdp_mmu_set_spte. With split_external_spte ([V3] 07/24) it is a
 * dispatch: zap -> remove, leaf -> table -> split (return value ignored, H16), else bug.
 * Without it ([B26] mainline) a present `new` bugs the VM and removal runs regardless.
 */
function* setMirrorSpteWriteLockedPerOp(kvm: KvmMmu, t: SimThread, ops: PerOpExternalOps, gfn: number, old: U64, nw: U64, level: number): Proc<void> {
  if (ops.split_external_spte === undefined) {
    // Under write lock the mirror may only be zapped; a map or split has no S-EPT path here.
    KVM_BUG_ON(kvm.ctx, t, is_shadow_present_pte(nw), 'tdp_mmu_set_spte', 'present mirror SPTE set under write lock');
    yield* remove_external_spte(kvm, t, ops, SITE_TDP_MMU_SET_SPTE, gfn, old, level);
    return;
  }
  if (!is_shadow_present_pte(nw)) {
    yield* remove_external_spte(kvm, t, ops, SITE_TDP_MMU_SET_SPTE, gfn, old, level);
  } else if (is_last_spte(old, level) && !is_last_spte(nw, level)) {
    yield* split_external_spte(kvm, t, ops, SITE_TDP_MMU_SET_SPTE, gfn, old, nw, level, false);
  } else {
    // Valid write-lock transitions are leaf -> !present, table -> !present and leaf -> table.
    KVM_BUG_ON(kvm.ctx, t, true, 'tdp_mmu_set_spte', 'unexpected mirror SPTE transition under write lock');
  }
}

/** tdp_mmu_iter_set_spte(kvm, iter, new): refreshes iter.old_spte with the replaced value. */
export function* tdp_mmu_iter_set_spte(kvm: KvmMmu, t: SimThread, iter: tdp_iter, nw: U64): Proc<void> {
  // The walk dropped the lock since it read old_spte; writing now could clobber a change.
  WARN_ON_ONCE(kvm.ctx, t, iter.yielded, 'tdp_mmu_iter_set_spte', 'set from a yielded iterator');
  iter.old_spte = yield* tdp_mmu_set_spte(kvm, t, iter.sp, iter.index, iter.gfn, iter.old_spte, nw, iter.level);
}
