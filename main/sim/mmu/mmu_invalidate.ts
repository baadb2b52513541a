// The MMU invalidation sequence (virt/kvm/kvm_main.c kvm_mmu_invalidate_begin/_range_add/_end,
// include/linux/kvm_host.h mmu_invalidate_retry_gfn): how a page fault learns that the GFN it
// resolved may have been zapped, converted or truncated while it was not holding mmu_lock.
//
// An invalidation (KVM_SET_MEMORY_ATTRIBUTES, a guest_memfd punch hole) begins under the write
// lock, adds its GFN range, zaps, changes the memory, and ends under the write lock again, which
// bumps the sequence. A fault snapshots the sequence before it reads the memory attributes and
// the PFN (kvm_mmu_faultin_pfn, kernel v6.18 mmu.c), and under mmu_lock gives up with
// RET_PF_RETRY if an invalidation covering its GFN is in progress or one ended since the
// snapshot (is_page_fault_stale). Without it a fault queued behind a conversion would map the
// GFN with the attribute and PFN it read before the conversion.
import { KVM_BUG_ON, WARN_ON_ONCE, lockdep_assert_held_write } from '../checks.ts';
import type { SimThread } from '../sim_thread.ts';
import type { KvmMmu } from './kvm_mmu.ts';

/** INVALID_GPA as the "no range yet" marker of mmu_invalidate_range_start/end. */
const NO_RANGE = -1;

/** struct kvm's mmu_invalidate_* fields. */
export interface MmuInvalidate {
  /** mmu_invalidate_seq: bumped by every kvm_mmu_invalidate_end(). */
  seq: number;
  /** mmu_invalidate_in_progress: invalidations begun and not yet ended. */
  in_progress: number;
  /** The union of the in-progress invalidations' GFN ranges, [range_start, range_end). */
  range_start: number;
  range_end: number;
}

export function newMmuInvalidate(): MmuInvalidate {
  return { seq: 0, in_progress: 0, range_start: NO_RANGE, range_end: NO_RANGE };
}

/** kvm_mmu_invalidate_begin(kvm): under the write lock; the first one starts an empty range. */
export function kvm_mmu_invalidate_begin(kvm: KvmMmu, t: SimThread): void {
  lockdep_assert_held_write(kvm.ctx, t, 'kvm_mmu_invalidate_begin');
  const inv = kvm.invalidate;
  inv.in_progress++;
  if (inv.in_progress === 1) {
    inv.range_start = NO_RANGE;
    inv.range_end = NO_RANGE;
  }
}

/** kvm_mmu_invalidate_range_add(kvm, start, end): widens the in-progress range. */
export function kvm_mmu_invalidate_range_add(kvm: KvmMmu, t: SimThread, start: number, end: number): void {
  const inv = kvm.invalidate;
  WARN_ON_ONCE(kvm.ctx, t, inv.in_progress === 0, 'kvm_mmu_invalidate_range_add', 'no invalidation in progress');
  if (inv.range_start === NO_RANGE) {
    inv.range_start = start;
    inv.range_end = end;
  } else {
    inv.range_start = Math.min(inv.range_start, start);
    inv.range_end = Math.max(inv.range_end, end);
  }
}

/** kvm_mmu_invalidate_end(kvm): under the write lock; bumps the sequence, then ends the invalidation. */
export function kvm_mmu_invalidate_end(kvm: KvmMmu, t: SimThread): void {
  lockdep_assert_held_write(kvm.ctx, t, 'kvm_mmu_invalidate_end');
  const inv = kvm.invalidate;
  inv.seq++;
  inv.in_progress--;
  KVM_BUG_ON(kvm.ctx, t, inv.in_progress < 0, 'kvm_mmu_invalidate_end', 'mmu_invalidate_in_progress < 0');
  WARN_ON_ONCE(kvm.ctx, t, inv.range_start === NO_RANGE, 'kvm_mmu_invalidate_end', 'invalidation ended without a range');
}

/**
 * mmu_invalidate_retry_gfn(kvm, mmu_seq, gfn): true when a fault that snapshotted `mmu_seq`
 * must not install a mapping for `gfn`. The caller holds mmu_lock; the kernel's lockless
 * variant (mmu_invalidate_retry_gfn_unsafe) reads the same fields.
 */
export function mmu_invalidate_retry_gfn(kvm: KvmMmu, mmu_seq: number, gfn: number): boolean {
  const inv = kvm.invalidate;
  if (inv.in_progress > 0 && gfn >= inv.range_start && gfn < inv.range_end) return true;
  return inv.seq !== mmu_seq;
}
