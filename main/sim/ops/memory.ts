// Host operations on guest memory: KVM_SET_MEMORY_ATTRIBUTES (private <-> shared conversion),
// guest_memfd punch hole, memslot deletion and re-creation (kernel-mmu.md 3.8).
// All zap under mmu_lock held for write. With private huge pages the range is first split so
// that only the converted pages lose their mapping ([V3] kvm_split_cross_boundary_leafs, H8):
// zapping a whole 2M private leaf would throw away the guest's ACCEPT state for 512 pages.
import type { Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import { write_lock, write_unlock } from '../mmu_lock.ts';
import { KVM_FILTER_PRIVATE, KVM_FILTER_SHARED } from '../mmu/kvm_mmu.ts';
import { kvm_split_cross_boundary_leafs, type GfnRange } from '../mmu/tdp_mmu_split.ts';
import { kvm_mmu_zap_memslot_leafs, kvm_tdp_mmu_unmap_gfn_range } from '../mmu/tdp_mmu_zap.ts';
import type { SimVm } from '../sim_vm.ts';
import { gmem_truncate } from '../guest_memory.ts';
import { kvm_mmu_invalidate_begin, kvm_mmu_invalidate_end, kvm_mmu_invalidate_range_add } from '../mmu/mmu_invalidate.ts';

/**
 * The start of an attribute change or a guest_memfd invalidation, under the write lock:
 * kvm_mmu_invalidate_begin() and the range (faults on it now refault), then kvm_unmap_gfn_range():
 * split cross-boundary private leaves first when huge pages are on, then zap leaves in the roots
 * the filter selects. invalidateEnd() closes it once the memory has changed.
 */
export function* invalidateBegin(vm: SimVm, t: SimThread, range: GfnRange): Proc<void> {
  yield* write_lock(vm.ctx, vm.mmu.mmu_lock, t);
  kvm_mmu_invalidate_begin(vm.mmu, t);
  kvm_mmu_invalidate_range_add(vm.mmu, t, range.start, range.end);
  if ((range.attr_filter & KVM_FILTER_PRIVATE) !== 0 && vm.mmu.config.privateHugePages) {
    yield* kvm_split_cross_boundary_leafs(vm.mmu, t, range);
  }
  if (!vm.ctx.vmBugged) yield* kvm_tdp_mmu_unmap_gfn_range(vm.mmu, t, range, true);
  yield* write_unlock(vm.ctx, vm.mmu.mmu_lock, t);
}

/** kvm_mmu_invalidate_end() under the write lock: faults that read the old memory refault. */
export function* invalidateEnd(vm: SimVm, t: SimThread): Proc<void> {
  yield* write_lock(vm.ctx, vm.mmu.mmu_lock, t);
  kvm_mmu_invalidate_end(vm.mmu, t);
  yield* write_unlock(vm.ctx, vm.mmu.mmu_lock, t);
}

/**
 * `convert`: KVM_SET_MEMORY_ATTRIBUTES (kvm_vm_set_mem_attributes). To shared: zap the private
 * (mirror) mappings; to private: zap the shared (direct) ones. The attribute flips between the
 * invalidation's begin and end, so later faults pick the other root and faults that read the
 * old attribute refault.
 */
export function* op_convert(vm: SimVm, t: SimThread, gfn: number, pages: number, to: 'shared' | 'private'): Proc<string> {
  const slot = vm.memory.slotOf(gfn);
  if (slot === null) return 'no-memslot';
  if (vm.ctx.vmBugged) return '-EIO';
  const attr_filter = to === 'shared' ? KVM_FILTER_PRIVATE : KVM_FILTER_SHARED;
  yield* invalidateBegin(vm, t, { start: gfn, end: gfn + pages, attr_filter });
  vm.memory.setAttributes(slot, gfn, pages, to === 'private');
  yield* invalidateEnd(vm, t);
  return 'done';
}

/**
 * `punch-hole`: fallocate(PUNCH_HOLE) on guest_memfd (kvm_gmem_punch_hole): invalidate the
 * private mappings, truncate the pages, which returns them to the host, then end the
 * invalidation. A page the TD still owns at that point is exactly what the checker's "no page
 * back to the host while owned" rule catches.
 */
export function* op_punch_hole(vm: SimVm, t: SimThread, gfn: number, pages: number): Proc<string> {
  const slot = vm.memory.slotOf(gfn);
  if (slot === null || !slot.slot.private) return 'no-guest-memfd';
  yield* invalidateBegin(vm, t, { start: gfn, end: gfn + pages, attr_filter: KVM_FILTER_PRIVATE });
  gmem_truncate(vm.host, slot, gfn - slot.slot.baseGfn, pages);
  yield* invalidateEnd(vm, t);
  return 'done';
}

/** `memslot-delete`: kvm_mmu_zap_memslot_leafs() (TDX never fast-zaps: H15), then the slot is gone. */
export function* op_memslot_delete(vm: SimVm, t: SimThread, id: number): Proc<string> {
  const slot = vm.memory.slotById(id);
  if (slot === null || slot.deleted) return 'no-memslot';
  // KVM_MEMSLOT_INVALID first: faults into the slot stop retrying (6.18 change, [KX]).
  slot.deleted = true;
  yield* kvm_mmu_zap_memslot_leafs(vm.mmu, t, slot.slot.baseGfn, slot.slot.baseGfn + slot.slot.pages);
  return 'done';
}

/** `memslot-create`: the slot comes back; existing mirror tables are reused by later faults. */
export function* op_memslot_create(vm: SimVm, t: SimThread, id: number): Proc<string> {
  const slot = vm.memory.slotById(id);
  if (slot === null) return 'no-memslot';
  void t;
  slot.deleted = false;
  return 'done';
}
