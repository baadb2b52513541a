// Guest memory as KVM sees it: memslots (KVM_SET_USER_MEMORY_REGION2), each private-capable slot
// backed by a guest_memfd whose pages are host pages, and the per-GFN memory attributes
// (KVM_SET_MEMORY_ATTRIBUTES: private or shared). The engine's faults ask this file which PFN
// backs a GFN and whether the GFN is private now.
import type { Memslot } from '../../shared/scenario.ts';
import { PAGE_GUEST_PRIVATE, PAGE_GUEST_SHARED, type HostMemory } from './host_memory.ts';

export interface SlotState {
  readonly slot: Memslot;
  /** KVM_MEMSLOT_INVALID / deleted: faults into it stop retrying and exit to userspace. */
  deleted: boolean;
  /** First PFN of the guest_memfd pages backing the slot (private memory), 2M-aligned. */
  readonly gmemPfnBase: number;
  /** First PFN of the ordinary (shared) memory backing the slot. */
  readonly sharedPfnBase: number;
  /** Per page: 1 = KVM_MEMORY_ATTRIBUTE_PRIVATE. */
  readonly privateAttr: Uint8Array;
  /** Per page: 1 when the guest_memfd page was truncated (punch hole) and returned to the host. */
  readonly gmemFreed: Uint8Array;
}

export class GuestMemory {
  readonly slots: SlotState[] = [];

  constructor(memslots: readonly Memslot[], host: HostMemory) {
    for (const slot of memslots) {
      // 2M alignment, so a 2M-aligned GFN range can be mapped by one 2M leaf.
      const gmemPfnBase = slot.private ? host.allocGuestRange(slot.pages, 512, PAGE_GUEST_PRIVATE) : 0;
      const sharedPfnBase = host.allocGuestRange(slot.pages, 512, PAGE_GUEST_SHARED);
      const privateAttr = new Uint8Array(slot.pages);
      // A TD's private-capable memory starts private (userspace sets the attribute at setup).
      if (slot.private) privateAttr.fill(1);
      this.slots.push({ slot, deleted: false, gmemPfnBase, sharedPfnBase, privateAttr, gmemFreed: new Uint8Array(slot.pages) });
    }
  }

  /** The slot containing `gfn`, or null (also for a deleted slot when `includeDeleted` is false). */
  slotOf(gfn: number, includeDeleted = false): SlotState | null {
    for (const s of this.slots) {
      if (gfn >= s.slot.baseGfn && gfn < s.slot.baseGfn + s.slot.pages && (includeDeleted || !s.deleted)) return s;
    }
    return null;
  }

  slotById(id: number): SlotState | null {
    return this.slots.find((s) => s.slot.id === id) ?? null;
  }

  /** kvm_mem_is_private(): the GFN's attribute. */
  isPrivate(s: SlotState, gfn: number): boolean {
    return s.privateAttr[gfn - s.slot.baseGfn] === 1;
  }

  /** kvm_gmem_get_pfn() for private, the host mapping for shared. */
  pfnOf(s: SlotState, gfn: number, isPrivate: boolean): number {
    return (isPrivate ? s.gmemPfnBase : s.sharedPfnBase) + (gfn - s.slot.baseGfn);
  }

  setAttributes(s: SlotState, gfnStart: number, pages: number, isPrivate: boolean): void {
    s.privateAttr.fill(isPrivate ? 1 : 0, gfnStart - s.slot.baseGfn, gfnStart - s.slot.baseGfn + pages);
  }
}

/**
 * Truncation of a slot's guest_memfd pages `first` to `first + count - 1` (indices in the slot):
 * each page not truncated before goes back to the host (truncate_inode_pages_range). A punched
 * hole and the release of the whole file both end this way.
 */
export function gmem_truncate(host: HostMemory, s: SlotState, first: number, count: number): void {
  for (let i = first; i < first + count; i++) {
    if (s.gmemFreed[i] === 1) continue;
    s.gmemFreed[i] = 1;
    host.free(s.gmemPfnBase + i);
  }
}
