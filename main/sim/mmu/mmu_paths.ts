// The MMU paths as operations a simulated thread can run: each takes kvm->mmu_lock itself in
// the mode the kernel's caller does, and names the kernel chain it models. The engine wraps
// them in scenario operations (fault, zap-range, convert, punch-hole, memslot-delete, split,
// teardown, and the brittleness probes in probes.ts).
import type { Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import type { KvmMmu } from './kvm_mmu.ts';
import { KVM_FILTER_PRIVATE, KVM_FILTER_SHARED } from './kvm_mmu.ts';
import { RET_PF_RETRY, kvm_tdp_page_fault, newPageFault } from './tdp_mmu_map.ts';
import { PG_LEVEL_4K } from '../../../shared/spte.ts';
import { kvm_split_cross_boundary_leafs, tdp_mmu_split_huge_pages_root, type GfnRange } from './tdp_mmu_split.ts';
import { kvm_tdp_mmu_unmap_gfn_range, kvm_tdp_mmu_zap_leafs, withWriteLock } from './tdp_mmu_zap.ts';

export { kvm_tdp_page_fault, newPageFault, RET_PF_RETRY } from './tdp_mmu_map.ts';
export { kvm_mmu_zap_memslot_leafs, kvm_mmu_uninit_tdp_mmu } from './tdp_mmu_zap.ts';
export {
  kvm_tdp_mmu_age_spte,
  kvm_tdp_mmu_zap_possible_nx_huge_page,
  probe_map_under_write_lock,
  probe_promote,
  probe_wrprot_leaf_read_locked,
  probe_wrprot_leaf_write_locked,
} from './probes.ts';

export interface FaultArgs {
  gfn: number;
  isPrivate: boolean;
  /** Host PFN backing exactly `gfn`. */
  pfn: number;
  /** Largest level the backing memory allows (1 = 4K, 2 = 2M). */
  maxLevel?: number;
}

export interface FaultOutcome {
  /** The last RET_PF_* value. */
  ret: number;
  /** How many times the fault was retried (RET_PF_RETRY). */
  retries: number;
}

/**
 * A vCPU's EPT violation with TDX's local retry: kvm_tdp_page_fault until it stops returning
 * RET_PF_RETRY, the VM is dead, or `retriesMax` is spent (the vCPU would then exit to
 * userspace; the caller decides). Each attempt builds a fresh kvm_page_fault.
 */
export function* faultWithRetries(kvm: KvmMmu, t: SimThread, args: FaultArgs, retriesMax: number): Proc<FaultOutcome> {
  let ret = RET_PF_RETRY;
  let retries = 0;
  for (let attempt = 0; attempt <= retriesMax; attempt++) {
    ret = yield* kvm_tdp_page_fault(kvm, t, newPageFault(args.gfn, args.isPrivate, args.pfn, args.maxLevel ?? PG_LEVEL_4K, kvm.invalidate.seq));
    if (ret !== RET_PF_RETRY || kvm.ctx.vmBugged) break;
    retries++;
  }
  return { ret, retries };
}

export interface RangeArgs {
  gfnStart: number;
  gfnEnd: number;
  /** Which roots: KVM_FILTER_PRIVATE (mirror), KVM_FILTER_SHARED (direct), or both. */
  filter: number;
}

function gfnRange(args: RangeArgs): GfnRange {
  return { start: args.gfnStart, end: args.gfnEnd, attr_filter: args.filter };
}

/**
 * kvm_mmu_unmap_gfn_range under KVM_MMU_LOCK (MMU-notifier / guest_memfd invalidation,
 * KVM_SET_MEMORY_ATTRIBUTES): write lock, kvm_tdp_mmu_unmap_gfn_range, flush.
 */
export function* unmapGfnRange(kvm: KvmMmu, t: SimThread, args: RangeArgs): Proc<void> {
  yield* withWriteLock(kvm, t, unmapGfnRangeLocked(kvm, t, args));
}

function* unmapGfnRangeLocked(kvm: KvmMmu, t: SimThread, args: RangeArgs): Proc<void> {
  const flush = yield* kvm_tdp_mmu_unmap_gfn_range(kvm, t, gfnRange(args), false);
  if (flush) kvm.ctx.events.instant(t.id, 'mmu', 'kvm_flush_remote_tlbs', args.gfnStart);
}

/**
 * [V3] conversion / punch-hole with private huge pages: under one write lock, split the
 * leaves straddling the range (kvm_split_cross_boundary_leafs), then zap the range.
 */
export function* splitThenUnmapGfnRange(kvm: KvmMmu, t: SimThread, args: RangeArgs): Proc<void> {
  yield* withWriteLock(kvm, t, splitThenUnmapLocked(kvm, t, args));
}

function* splitThenUnmapLocked(kvm: KvmMmu, t: SimThread, args: RangeArgs): Proc<void> {
  yield* kvm_split_cross_boundary_leafs(kvm, t, gfnRange(args));
  yield* unmapGfnRangeLocked(kvm, t, args);
}

/** kvm_tdp_mmu_zap_leafs on every valid root, under the write lock (kvm_zap_gfn_range). */
export function* zapLeafs(kvm: KvmMmu, t: SimThread, gfnStart: number, gfnEnd: number): Proc<void> {
  yield* withWriteLock(kvm, t, zapLeafsLocked(kvm, t, gfnStart, gfnEnd));
}

function* zapLeafsLocked(kvm: KvmMmu, t: SimThread, gfnStart: number, gfnEnd: number): Proc<void> {
  const flush = yield* kvm_tdp_mmu_zap_leafs(kvm, t, gfnStart, gfnEnd, false);
  if (flush) kvm.ctx.events.instant(t.id, 'mmu', 'kvm_flush_remote_tlbs', gfnStart);
}

export interface SplitArgs {
  gfnStart: number;
  gfnEnd: number;
  isPrivate: boolean;
  /** Split down to this level (1 = 4K). */
  targetLevel: number;
}

/** A write-lock split of a range ([V3]/[V5]): tdp_mmu_split_huge_pages_root(shared=false). */
export function* splitRange(kvm: KvmMmu, t: SimThread, args: SplitArgs): Proc<void> {
  const root = kvm.validRoot(args.isPrivate);
  if (root === null) return;
  yield* withWriteLock(kvm, t, tdp_mmu_split_huge_pages_root(kvm, t, root, args.gfnStart, args.gfnEnd, args.targetLevel, false));
}

/** kvm_split_cross_boundary_leafs for a range, under the write lock. */
export function* splitCrossBoundaryLeafs(kvm: KvmMmu, t: SimThread, args: RangeArgs): Proc<void> {
  yield* withWriteLock(kvm, t, kvm_split_cross_boundary_leafs(kvm, t, gfnRange(args)));
}

/** Both root filters, for memslot-wide operations. */
export const KVM_FILTER_ALL = KVM_FILTER_PRIVATE | KVM_FILTER_SHARED;
