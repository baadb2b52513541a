// TLB tracking (tdx-module.md section 3; [M] helpers.h is_tlb_tracked, helpers.c
// adjust_tlb_tracking_state). RANGE.BLOCK stamps BEPOCH = TD_EPOCH on the PAMT entry of the page
// the blocked entry points to; TDH.MEM.TRACK raises TD_EPOCH once no vCPU still runs in the
// previous epoch; a vCPU's guest entry counts it in refcount[epoch & 1] and its exit uncounts it.
import type { Td, VcpuState } from './td.ts';

/**
 * is_tlb_tracked(bepoch): every vCPU that could hold a translation cached before the BLOCK has
 * since left guest mode. True if the block is older than the previous epoch, or it is the
 * previous epoch and nobody is still counted in it.
 */
export function is_tlb_tracked(td: Td, bepoch: number): boolean {
  if (bepoch < td.tdEpoch - 1) return true;
  return bepoch === td.tdEpoch - 1 && td.refcount[bepoch & 1] === 0;
}

/**
 * Guest entry (adjust_tlb_tracking_state): count the vCPU in the current epoch and adopt it. A
 * vCPU whose stored epoch differs flushes all of the TD's EPT translations (INVEPT); a first
 * entry has nothing cached. Returns whether a flush happened.
 */
export function adjust_tlb_tracking_state(td: Td, vcpu: VcpuState): boolean {
  const epoch = td.tdEpoch;
  td.refcount[epoch & 1]++;
  const flush = vcpu.vcpuEpoch !== 0 && vcpu.vcpuEpoch !== epoch;
  vcpu.vcpuEpoch = epoch;
  if (flush) td.stats.tlbFlushes++;
  return flush;
}

/** TD exit: the vCPU no longer counts in the epoch it entered in. */
export function tlb_tracking_exit(td: Td, vcpu: VcpuState): void {
  td.refcount[vcpu.vcpuEpoch & 1]--;
}
