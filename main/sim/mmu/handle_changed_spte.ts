// handle_changed_spte(), called after every SPTE write that goes through the setters
// (kernel-mmu.md 3.2). Derived booleans first, then the checks (WARN range/alignment, BUG on a
// leaf PFN change), then the early returns, then stats and the removal of an unlinked table.
//
// per-op ([B26]/[V3]): nothing mirror-specific; the caller already did (or will do) the hook.
// unified ([UNI]): __handle_changed_spte() sends every mirror change that is not "remove a
// page table" to set_external_spte(old, new), and updates stats only after the hook succeeded
// (Yan's H5 fix). handle_changed_spte() wraps it with KVM_BUG_ON(ret).
import { BUG, KVM_BUG_ON, WARN_ON_ONCE, assert } from '../checks.ts';
import { DONE, errno_name, type Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import type { KvmMmu } from './kvm_mmu.ts';
import { PAGES_PER_LEVEL, PAGES_PER_LEVEL_INV } from './kvm_mmu.ts';
import { rem_pow2_inv } from '../int_rem.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import { call_set_external_spte_unified, SITE_HANDLE_CHANGED_SPTE } from './external_calls.ts';
import { handle_removed_pt } from './handle_removed_pt.ts';
import { is_host_writable_spte, is_mmu_writable_spte } from './spte_make.ts';
import {
  PG_LEVEL_4K,
  PT64_ROOT_MAX_LEVEL,
  VMX_EPT_WRITABLE_MASK,
  is_frozen_spte,
  is_last_spte,
  is_shadow_present_pte,
  spte_to_pfn,
} from '../../../shared/spte.ts';
import { u64_hex, type U64 } from '../../../shared/u64.ts';
import { EventString } from '../event_sink.ts';

/** An event name of every fault (EventString: interned once per run). */
const HANDLE_CHANGED_SPTE = new EventString('handle_changed_spte');

/** What a change is, computed once before any check (the kernel's derived booleans). */
interface SpteChange {
  was_present: boolean;
  is_present: boolean;
  was_leaf: boolean;
  is_leaf: boolean;
  pfn_changed: boolean;
}

function spteChange(old: U64, nw: U64, level: number): SpteChange {
  const was_present = is_shadow_present_pte(old);
  const is_present = is_shadow_present_pte(nw);
  return {
    was_present,
    is_present,
    was_leaf: was_present && is_last_spte(old, level),
    is_leaf: is_present && is_last_spte(nw, level),
    pfn_changed: spte_to_pfn(old) !== spte_to_pfn(nw),
  };
}

/**
 * The checks and early returns common to both versions. Returns true when the change needs no
 * further handling (or the host is already down).
 */
function handleChangedSpteChecks(kvm: KvmMmu, t: SimThread, c: SpteChange, gfn: number, old: U64, nw: U64, level: number): boolean {
  const ctx = kvm.ctx;
  WARN_ON_ONCE(ctx, t, level > PT64_ROOT_MAX_LEVEL || level < PG_LEVEL_4K, 'handle_changed_spte', () => `level ${level} out of range`);
  WARN_ON_ONCE(ctx, t, rem_pow2_inv(gfn, PAGES_PER_LEVEL[level], PAGES_PER_LEVEL_INV[level]) !== 0, 'handle_changed_spte', () => `gfn 0x${gfn.toString(16)} not aligned to level ${level}`);
  // A present leaf turning into a present leaf for another page means KVM lost track of a
  // mapping: the old page may still be in use through stale TLB entries. The kernel crashes.
  if (c.was_leaf && c.is_leaf && c.pfn_changed) {
    BUG(ctx, t, 'handle_changed_spte', `leaf PFN changed at gfn 0x${gfn.toString(16)} level ${level}: ${u64_hex(old)} -> ${u64_hex(nw)}`);
    return true;
  }
  if (old === nw) return true;
  if (c.is_leaf) check_spte_writable_invariants(kvm, t, nw);
  if (!c.was_present && !c.is_present) {
    // Not-present to not-present is only expected when MMIO (not modelled) or FROZEN_SPTE is
    // involved; anything else means two writers disagree about an empty slot.
    WARN_ON_ONCE(ctx, t, !is_frozen_spte(nw), 'handle_changed_spte', () => `!present -> !present ${u64_hex(old)} -> ${u64_hex(nw)}`);
    return true;
  }
  return false;
}

/** check_spte_writable_invariants(): MMU-writable needs host-writable; W needs MMU-writable. */
function check_spte_writable_invariants(kvm: KvmMmu, t: SimThread, spte: U64): void {
  if (is_mmu_writable_spte(spte)) {
    WARN_ON_ONCE(kvm.ctx, t, !is_host_writable_spte(spte), 'check_spte_writable_invariants', 'MMU-writable SPTE is not host-writable');
  } else {
    WARN_ON_ONCE(kvm.ctx, t, (spte & VMX_EPT_WRITABLE_MASK) !== 0, 'check_spte_writable_invariants', 'writable SPTE is not MMU-writable');
  }
}

/** A present non-leaf replaced by a leaf, by nothing, or (WARN) by another table. */
function removesTable(kvm: KvmMmu, t: SimThread, c: SpteChange): boolean {
  if (!c.was_present || c.was_leaf) return false;
  if (c.is_leaf || !c.is_present) return true;
  return WARN_ON_ONCE(kvm.ctx, t, c.pfn_changed, 'handle_changed_spte', 'non-leaf SPTE repointed to another table');
}

/**
 * handle_changed_spte(kvm, sp, gfn, old, new, level, shared). per-op: bookkeeping only.
 * unified: KVM_BUG_ON(__handle_changed_spte(...)). A plain function returning the Proc to run:
 * per-op bookkeeping that unlinks no table has no step point, so it is done here and DONE is
 * returned (no generator for the common case, a leaf mapped by a fault).
 */
export function handle_changed_spte(kvm: KvmMmu, t: SimThread, sp: kvm_mmu_page, gfn: number, old: U64, nw: U64, level: number, shared: boolean): Proc<void> {
  if (kvm.config.ops.kind === 'unified') return handleChangedSpteUnified(kvm, t, sp, gfn, old, nw, level, shared);
  const c = spteChange(old, nw, level);
  if (handleChangedSpteChecks(kvm, t, c, gfn, old, nw, level)) return DONE;
  kvm.ctx.events.begin(t.id, 'mmu', HANDLE_CHANGED_SPTE, gfn, level);
  if (c.is_leaf !== c.was_leaf) kvm.kvm_update_page_stats(level, c.is_leaf ? 1 : -1);
  if (removesTable(kvm, t, c)) return handleRemovedPtThenEnd(kvm, t, old, shared);
  kvm.ctx.events.end(t.id);
  return DONE;
}

/** The per-op tail of handle_changed_spte that unlinks a table: handle_removed_pt, then the span ends. */
function* handleRemovedPtThenEnd(kvm: KvmMmu, t: SimThread, old: U64, shared: boolean): Proc<void> {
  yield* handle_removed_pt(kvm, t, childOf(kvm, old), shared);
  kvm.ctx.events.end(t.id);
}

/** The unified handle_changed_spte: KVM_BUG_ON(__handle_changed_spte(...)). */
function* handleChangedSpteUnified(kvm: KvmMmu, t: SimThread, sp: kvm_mmu_page, gfn: number, old: U64, nw: U64, level: number, shared: boolean): Proc<void> {
  const r = yield* __handle_changed_spte(kvm, t, sp, gfn, old, nw, level, shared);
  KVM_BUG_ON(kvm.ctx, t, r !== 0, 'handle_changed_spte', () => `set_external_spte failed: ${errno_name(r)}`);
}

/**
 * [UNI] __handle_changed_spte(kvm, sp, gfn, old, new, level, shared): returns 0 or the hook's
 * error, in which case no stats changed and the caller restores (atomic) or bugs (write lock).
 * It never re-reads the SPTE: during the atomic path it holds FROZEN_SPTE (H7).
 */
export function* __handle_changed_spte(kvm: KvmMmu, t: SimThread, sp: kvm_mmu_page, gfn: number, old: U64, nw: U64, level: number, shared: boolean): Proc<number> {
  const c = spteChange(old, nw, level);
  if (handleChangedSpteChecks(kvm, t, c, gfn, old, nw, level)) return 0;
  const ops = kvm.config.ops;
  kvm.ctx.events.begin(t.id, 'mmu', HANDLE_CHANGED_SPTE, gfn, level);
  let r = 0;
  if (removesTable(kvm, t, c)) {
    // The strawman sends the table's removal through the one hook, before the children are
    // visited: the S-EPT is asked to drop a table whose leaves are still mapped.
    if (ops.kind === 'unified' && ops.nonleafRemovalViaSetExternal && sp.role.is_mirror) {
      r = yield* call_set_external_spte_unified(kvm, t, ops, SITE_HANDLE_CHANGED_SPTE, gfn, old, nw, level);
    }
    // A failed hook in the atomic path restores the parent SPTE, so the table stays linked. Under
    // the write lock the parent is already cleared: the table must still be reaped.
    if (r === 0 || !shared) yield* handle_removed_pt(kvm, t, childOf(kvm, old), shared);
  } else if (ops.kind === 'unified' && sp.role.is_mirror) {
    r = yield* call_set_external_spte_unified(kvm, t, ops, SITE_HANDLE_CHANGED_SPTE, gfn, old, nw, level);
  }
  // Stats move only once the external update succeeded (H5 fix).
  if (r === 0 && c.is_leaf !== c.was_leaf) kvm.kvm_update_page_stats(level, c.is_leaf ? 1 : -1);
  kvm.ctx.events.end(t.id, r !== 0 ? errno_name(r) : '');
  return r;
}

function childOf(kvm: KvmMmu, spte: U64): kvm_mmu_page {
  const child = kvm.spte_to_child_sp(spte);
  assert(child !== null, () => `spte_to_child_sp: no table behind ${u64_hex(spte)}`);
  return child;
}
