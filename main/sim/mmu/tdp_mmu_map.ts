// The fault path (kernel-mmu.md 3.4, 3.5): kvm_tdp_page_fault -> kvm_tdp_mmu_map under
// mmu_lock for read and RCU. Missing tables are linked with tdp_mmu_link_sp (atomic, so two
// vCPUs racing for the same slot: one wins, the other sees FROZEN_SPTE or loses the cmpxchg and
// refaults); the leaf is set with tdp_mmu_map_handle_target_level.
import { KVM_BUG_ON, WARN_ON_ONCE } from '../checks.ts';
import { STEP, mustYieldStep, type Proc } from '../proc.ts';
import { read_lock_slowpath, read_trylock, read_unlock_now } from '../mmu_lock.ts';
import type { SimThread } from '../sim_thread.ts';
import type { KvmMmu } from './kvm_mmu.ts';
import { PAGES_PER_LEVEL, PAGES_PER_LEVEL_INV } from './kvm_mmu.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import { newTdpIter, tdp_iter_in_range, tdp_iter_next, tdp_iter_start, type tdp_iter } from './tdp_iter.ts';
import { tdp_mmu_iter_set_spte, tdp_mmu_set_spte_atomic } from './tdp_mmu_set_spte.ts';
import { tdp_mmu_split_huge_page } from './tdp_mmu_split.ts';
import { make_nonleaf_spte, make_spte } from './spte_make.ts';
import {
  PG_LEVEL_2M, PG_LEVEL_4K, VMX_EPT_EXECUTABLE_MASK, VMX_EPT_WRITABLE_MASK, is_frozen_spte, is_large_pte, is_last_spte, is_shadow_present_pte, spte_to_pfn,
} from '../../../shared/spte.ts';
import type { U64 } from '../../../shared/u64.ts';
import { rem_pow2_inv } from '../int_rem.ts';
import { EventString } from '../event_sink.ts';
import { mmu_invalidate_retry_gfn } from './mmu_invalidate.ts';

/** Event strings of every fault (EventString: interned once per run). */
const KVM_TDP_MMU_MAP = new EventString('kvm_tdp_mmu_map');
const PRIVATE = new EventString('private');
const SHARED = new EventString('shared');

/** enum ret_pf (mmu_internal.h). */
export const RET_PF_CONTINUE = 0;
export const RET_PF_RETRY = 1;
export const RET_PF_EMULATE = 2;
export const RET_PF_WRITE_PROTECTED = 3;
export const RET_PF_INVALID = 4;
export const RET_PF_FIXED = 5;
export const RET_PF_SPURIOUS = 6;
export const RET_PF_NAMES = ['RET_PF_CONTINUE', 'RET_PF_RETRY', 'RET_PF_EMULATE', 'RET_PF_WRITE_PROTECTED', 'RET_PF_INVALID', 'RET_PF_FIXED', 'RET_PF_SPURIOUS'] as const;
/** RET_PF_NAMES as EventStrings, for the status of every kvm_tdp_mmu_map span. */
const RET_PF_EVENT_NAMES = RET_PF_NAMES.map((n) => new EventString(n));

/** struct kvm_page_fault, the fields the TDP MMU map uses. */
export interface kvm_page_fault {
  /** The faulting GFN, without the shared bit. */
  gfn: number;
  /** A private GPA (shared bit clear): mapped through the mirror root. */
  is_private: boolean;
  /** Host PFN backing exactly `gfn` (guest_memfd or the shared mapping). */
  pfnForGfn: number;
  /**
   * The largest level the backing memory and memory attributes allow
   * (kvm_mmu_max_mapping_level; for TDX also the guest's ACCEPT level).
   */
  max_level: number;
  /** The level the fault maps at: set by kvm_mmu_hugepage_adjust, lowered by disallowed_hugepage_adjust. */
  goal_level: number;
  /**
   * The access that faulted (from the EPT violation's exit qualification). The model's guest
   * accesses are writes: the strictest test for "the mapping is already there"
   * (is_access_allowed), and never exec, so the NX workaround never applies.
   */
  write: boolean;
  exec: boolean;
  /** NX huge page workaround: never for TDX private faults, which are never exec faults. */
  huge_page_disallowed: boolean;
  nx_huge_page_workaround_enabled: boolean;
  /**
   * kvm->mmu_invalidate_seq as the fault read it before it looked at the memory attributes and
   * the PFN (kvm_mmu_faultin_pfn); is_page_fault_stale() compares it under mmu_lock.
   */
  mmu_seq: number;
}

export function newPageFault(gfn: number, isPrivate: boolean, pfnForGfn: number, maxLevel: number, mmuSeq: number): kvm_page_fault {
  return { gfn, is_private: isPrivate, pfnForGfn, max_level: maxLevel, goal_level: PG_LEVEL_4K, write: true, exec: false, huge_page_disallowed: false, nx_huge_page_workaround_enabled: false, mmu_seq: mmuSeq };
}

/**
 * kvm_tdp_page_fault -> kvm_tdp_mmu_page_fault: mmu_lock for read around kvm_tdp_mmu_map.
 * Returns a RET_PF_* value; the caller (the vCPU's fault loop) refaults on RET_PF_RETRY.
 */
export function* kvm_tdp_page_fault(kvm: KvmMmu, t: SimThread, fault: kvm_page_fault): Proc<number> {
  // Step point: read_lock(&kvm->mmu_lock) races with writers (zap, split, teardown). The lock
  // is taken inline (hot path): the same step points as read_lock()/read_unlock().
  if (mustYieldStep()) yield STEP;
  if (!read_trylock(kvm.ctx, kvm.mmu_lock, t)) yield* read_lock_slowpath(kvm.ctx, kvm.mmu_lock, t);
  const r = is_page_fault_stale(kvm, t, fault) ? RET_PF_RETRY : yield* kvm_tdp_mmu_map(kvm, t, fault);
  // Step point: read_unlock lets a waiting writer in.
  if (mustYieldStep()) yield STEP;
  read_unlock_now(kvm.ctx, kvm.mmu_lock, t);
  if (r === RET_PF_RETRY) kvm.ctx.metrics.retries++;
  return r;
}

/**
 * is_page_fault_stale(): an invalidation covering the GFN is in progress, or one ended since the
 * fault read the attributes and the PFN (mmu_invalidate.ts): map nothing, refault. The TDP MMU's
 * other staleness case, an obsolete root, does not arise here: the root is looked up under the
 * lock (tdp_mmu_get_root_for_fault).
 */
function is_page_fault_stale(kvm: KvmMmu, t: SimThread, fault: kvm_page_fault): boolean {
  if (!mmu_invalidate_retry_gfn(kvm, fault.mmu_seq, fault.gfn)) return false;
  kvm.ctx.events.instant(t.id, 'mmu', 'is_page_fault_stale', fault.gfn, fault.max_level, 'none', null, null, 'RET_PF_RETRY', 'mmu_invalidate_retry_gfn');
  return true;
}

/**
 * kvm_mmu_hugepage_adjust(): the goal level. Private memory maps at 4K unless the design
 * allows 2M private leaves ([V3]/[V5]); 1G is never used for TDX private memory.
 */
function kvm_mmu_hugepage_adjust(kvm: KvmMmu, fault: kvm_page_fault): void {
  let level = fault.max_level;
  if (fault.is_private) level = Math.min(level, kvm.config.privateHugePages ? PG_LEVEL_2M : PG_LEVEL_4K);
  fault.goal_level = Math.max(PG_LEVEL_4K, level);
}

/**
 * disallowed_hugepage_adjust(): do not replace an existing page table with a huge leaf. For a
 * mirror root this always applies ([V3] 06, [V5] "Prevent hugepage promotion for mirror
 * roots in fault path"), for a direct root only for NX-disallowed tables.
 */
function disallowed_hugepage_adjust(kvm: KvmMmu, fault: kvm_page_fault, spte: U64, level: number, mirror: boolean): void {
  if (level <= PG_LEVEL_4K || level !== fault.goal_level) return;
  if (!is_shadow_present_pte(spte) || is_large_pte(spte)) return;
  const child = kvm.spte_to_child_sp(spte);
  if (mirror || (child !== null && child.nx_huge_page_disallowed)) fault.goal_level--;
}

/** tdp_mmu_get_root_for_fault(): mirror root for private GPAs, direct root otherwise (reloading if gone). */
export function tdp_mmu_get_root_for_fault(kvm: KvmMmu, fault: kvm_page_fault): kvm_mmu_page {
  return kvm.validRoot(fault.is_private) ?? kvm.kvm_tdp_mmu_alloc_root(fault.is_private);
}

/**
 * kvm_tdp_mmu_map(vcpu, fault). Caller holds mmu_lock for read. The walk from the root toward
 * fault.gfn is inline, as in the kernel (one generator per fault fewer than a helper would be).
 */
export function* kvm_tdp_mmu_map(kvm: KvmMmu, t: SimThread, fault: kvm_page_fault): Proc<number> {
  kvm_mmu_hugepage_adjust(kvm, fault);
  kvm.ctx.events.begin(t.id, 'mmu', KVM_TDP_MMU_MAP, fault.gfn, fault.goal_level, fault.is_private ? PRIVATE : SHARED);
  const root = tdp_mmu_get_root_for_fault(kvm, fault);
  const mirror = root.role.is_mirror;
  kvm.rcu.rcu_read_lock(t);
  const iter = faultIterOf(kvm, t, root);
  /** RET_PF_* once the walk decided; -1 while it goes on. */
  let ret = -1;
  // Step point: the walk's SPTE reads race with other vCPUs linking, mapping or freezing.
  if (mustYieldStep()) yield STEP;
  tdp_iter_start(kvm, iter, root, PG_LEVEL_4K, fault.gfn, kvm.gfnRootBits(root));
  while (tdp_iter_in_range(iter, fault.gfn + 1)) {
    if (fault.nx_huge_page_workaround_enabled || mirror) disallowed_hugepage_adjust(kvm, fault, iter.old_spte, iter.level, mirror);
    // Another vCPU froze this SPTE for an update in flight: refault rather than wait.
    if (is_frozen_spte(iter.old_spte)) {
      ret = RET_PF_RETRY;
      break;
    }
    if (iter.level === fault.goal_level) {
      ret = yield* tdp_mmu_map_handle_target_level(kvm, t, fault, iter);
      break;
    }
    // Not a present table: link one (or split the huge leaf in the way); then step into it.
    if (!is_shadow_present_pte(iter.old_spte) || is_large_pte(iter.old_spte)) {
      if ((yield* tdpMmuMapLinkOrSplit(kvm, t, fault, iter, mirror)) !== 0) {
        ret = RET_PF_RETRY;
        break;
      }
    }
    // Step point: the next SPTE read (the child table may be changing under us).
    if (mustYieldStep()) yield STEP;
    tdp_iter_next(kvm, iter);
  }
  if (ret < 0) {
    // The walk ended above the goal level, e.g. an upper SPTE changed under it: refault.
    WARN_ON_ONCE(kvm.ctx, t, iter.level === fault.goal_level, 'kvm_tdp_mmu_map', 'walk ended at the goal level');
    ret = RET_PF_RETRY;
  }
  kvm.rcu.rcu_read_unlock(t);
  kvm.ctx.events.end(t.id, RET_PF_EVENT_NAMES[ret]);
  return ret;
}

/**
 * The thread's iterator for kvm_tdp_mmu_map, reused fault after fault: a thread runs one fault
 * walk at a time, the walk ends before its fault returns, and tdp_iter_start() sets every field
 * the walk reads (pt_path below the root is written on the way down before it is read).
 */
function faultIterOf(kvm: KvmMmu, t: SimThread, root: kvm_mmu_page): tdp_iter {
  let iter = kvm.faultIters[t.id];
  if (iter === undefined) {
    iter = newTdpIter(root);
    kvm.faultIters[t.id] = iter;
  }
  return iter;
}

/** Allocates a child table and links it, or splits the huge leaf in the way. 0 or an error. */
function* tdpMmuMapLinkOrSplit(kvm: KvmMmu, t: SimThread, fault: kvm_page_fault, iter: tdp_iter, mirror: boolean): Proc<number> {
  const sp = kvm.allocChildSp(iter.sp, iter.index, iter.gfn);
  sp.nx_huge_page_disallowed = fault.huge_page_disallowed;
  let r: number;
  if (is_shadow_present_pte(iter.old_spte)) {
    // [LN]/[B26]: no huge mirror leaves upstream, so nothing may split one under read lock.
    // [V3] 09/24 drops this KVM_BUG_ON for the per-op hooks with a split hook: the split
    // reaches TDX, which refuses it under the shared lock, and the fault retries.
    const v3 = kvm.config.ops.kind === 'per-op' && kvm.config.ops.split_external_spte !== undefined;
    if (!v3) KVM_BUG_ON(kvm.ctx, t, mirror, 'kvm_tdp_mmu_map', 'huge mirror leaf split in the fault path');
    r = yield* tdp_mmu_split_huge_page(kvm, t, iter, sp, true);
  } else {
    r = yield* tdp_mmu_link_sp(kvm, t, iter, sp, true);
  }
  // A table that never got linked was never visible: free it at once.
  if (r !== 0) kvm.tdp_mmu_free_sp(sp);
  return r;
}

/**
 * tdp_mmu_link_sp(kvm, iter, sp, shared): point the SPTE at `sp`. Shared: atomic, may fail
 * (returns the error; nothing changed). Exclusive: cannot fail. Accounts the table on success.
 */
export function* tdp_mmu_link_sp(kvm: KvmMmu, t: SimThread, iter: tdp_iter, sp: kvm_mmu_page, shared: boolean): Proc<number> {
  const spte = make_nonleaf_spte(sp.spt_pfn);
  if (shared) {
    const r = yield* tdp_mmu_set_spte_atomic(kvm, t, iter, spte);
    if (r !== 0) return r;
  } else {
    yield* tdp_mmu_iter_set_spte(kvm, t, iter, spte);
  }
  kvm.stats.tdp_mmu_pages++;
  return 0;
}

/** is_access_allowed(fault, spte): the present SPTE already grants the access that faulted. */
function is_access_allowed(fault: kvm_page_fault, spte: U64): boolean {
  if (fault.exec) return (spte & VMX_EPT_EXECUTABLE_MASK) !== 0;
  if (fault.write) return (spte & VMX_EPT_WRITABLE_MASK) !== 0;
  return is_shadow_present_pte(spte);
}

/**
 * tdp_mmu_map_handle_target_level(): RET_PF_SPURIOUS if a present leaf already grants the
 * access (another vCPU mapped it first; v6.18 returns before building a new SPTE, so attribute
 * bits such as a cleared accessed bit never turn into a leaf-to-leaf change); else build the
 * leaf and set it atomically: RET_PF_SPURIOUS if it is already there, RET_PF_RETRY if the
 * cmpxchg (or the external update) failed, RET_PF_FIXED otherwise.
 */
function* tdp_mmu_map_handle_target_level(kvm: KvmMmu, t: SimThread, fault: kvm_page_fault, iter: tdp_iter): Proc<number> {
  if (WARN_ON_ONCE(kvm.ctx, t, iter.sp.role.level !== fault.goal_level, 'tdp_mmu_map_handle_target_level', 'table level != goal level')) return RET_PF_RETRY;
  const old = iter.old_spte;
  const pfn = fault.pfnForGfn - rem_pow2_inv(fault.gfn, PAGES_PER_LEVEL[fault.goal_level], PAGES_PER_LEVEL_INV[fault.goal_level]);
  if (is_shadow_present_pte(old) && is_access_allowed(fault, old) && is_last_spte(old, iter.level)) {
    WARN_ON_ONCE(kvm.ctx, t, pfn !== spte_to_pfn(old), 'tdp_mmu_map_handle_target_level', 'spurious fault on a leaf that maps another pfn');
    return RET_PF_SPURIOUS;
  }
  const nw = make_spte(pfn, fault.goal_level);
  if (nw === old) return RET_PF_SPURIOUS;
  const r = yield* tdp_mmu_set_spte_atomic(kvm, t, iter, nw);
  if (r !== 0) return RET_PF_RETRY;
  // Replacing a table with a leaf leaves stale translations for the old table's range.
  if (is_shadow_present_pte(old) && !is_last_spte(old, iter.level)) kvm.ctx.events.instant(t.id, 'mmu', 'kvm_flush_remote_tlbs_gfn', iter.gfn, iter.level);
  return RET_PF_FIXED;
}
