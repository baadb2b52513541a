// The simulated host's physical pages: a deterministic allocator with an owner tag per page.
// Page tables (mirror, direct), S-EPT pages handed to the TDX module, TDX control pages and
// guest memory all come from here, so the invariant checker can ask "who owns PFN p now?"
// (e.g. no page goes back to the host while the TD still owns it).
//
// Allocation is a bump pointer plus a LIFO free list of single pages: no randomness, so the
// same run gets the same PFNs. Guest ranges come from the bump pointer only, aligned, so that a
// 2M guest page is 2M-aligned in host memory too. PFNs stay below 2^28 (u64.ts packs PFNs in
// 28 bits).
import { assert } from './checks.ts';

/** Who holds a page. 0 is free. */
export const PAGE_FREE = 0;
export const PAGE_MIRROR_SPT = 1;
export const PAGE_DIRECT_SPT = 2;
/** An S-EPT page (sp->external_spt) handed to or reclaimed from the TDX module. */
export const PAGE_EXTERNAL_SPT = 3;
export const PAGE_GUEST_PRIVATE = 4;
export const PAGE_GUEST_SHARED = 5;
/** TDR/TDCS/TDVPR control pages. */
export const PAGE_TDX_CONTROL = 6;
export const PAGE_OTHER = 7;
export type PageOwner = number;
export const PAGE_OWNER_NAMES = ['free', 'mirror-spt', 'direct-spt', 'external-spt', 'guest-private', 'guest-shared', 'tdx-control', 'other'] as const;

/** First PFN handed out: leaves low memory to the (unmodelled) host kernel. */
export const HOST_PFN_BASE = 0x100000;
/** PFNs must stay below this (u64.ts). */
export const HOST_PFN_LIMIT = 2 ** 28;

export class HostMemory {
  /** Owner per PFN, indexed by pfn - HOST_PFN_BASE, up to the bump pointer. */
  #owner: Uint8Array;
  #next = HOST_PFN_BASE;
  #free: number[] = [];
  /** Pages currently allocated, by owner. */
  readonly inUse: number[] = new Array(PAGE_OWNER_NAMES.length).fill(0);

  constructor(capacityPages = 4096) {
    this.#owner = new Uint8Array(capacityPages);
  }

  /** Allocates one page for `owner`; reuses the most recently freed page first. */
  alloc(owner: PageOwner): number {
    assert(owner !== PAGE_FREE, 'HostMemory.alloc: owner must not be free');
    const pfn = this.#free.length > 0 ? (this.#free.pop() as number) : this.#bump(1, 1);
    this.#owner[pfn - HOST_PFN_BASE] = owner;
    this.inUse[owner]++;
    return pfn;
  }

  /** Allocates `pages` contiguous pages aligned to `alignPages` (a power of two); returns the first PFN. */
  allocGuestRange(pages: number, alignPages: number, owner: PageOwner = PAGE_GUEST_PRIVATE): number {
    assert(pages > 0 && Number.isInteger(pages), 'allocGuestRange: pages must be a positive integer');
    assert(alignPages > 0 && (alignPages & (alignPages - 1)) === 0, 'allocGuestRange: alignment must be a power of two');
    const start = this.#bump(pages, alignPages);
    this.#owner.fill(owner, start - HOST_PFN_BASE, start - HOST_PFN_BASE + pages);
    this.inUse[owner] += pages;
    return start;
  }

  /** Returns a page to the host. Freeing a free page is our bug. */
  free(pfn: number): void {
    const owner = this.ownerOf(pfn);
    assert(owner !== PAGE_FREE, () => `HostMemory.free: pfn 0x${pfn.toString(16)} is already free`);
    this.#owner[pfn - HOST_PFN_BASE] = PAGE_FREE;
    this.inUse[owner]--;
    this.#free.push(pfn);
  }

  /** The owner of a page (PAGE_FREE for pages never handed out). */
  ownerOf(pfn: number): PageOwner {
    if (pfn < HOST_PFN_BASE || pfn >= this.#next) return PAGE_FREE;
    return this.#owner[pfn - HOST_PFN_BASE];
  }

  /** Changes the owner of an allocated page (e.g. an S-EPT page reclaimed by the host). */
  setOwner(pfn: number, owner: PageOwner): void {
    const old = this.ownerOf(pfn);
    assert(old !== PAGE_FREE, 'HostMemory.setOwner: page is free');
    assert(owner !== PAGE_FREE, 'HostMemory.setOwner: use free()');
    this.#owner[pfn - HOST_PFN_BASE] = owner;
    this.inUse[old]--;
    this.inUse[owner]++;
  }

  /** An independent copy. */
  clone(): HostMemory {
    const c = new HostMemory(1);
    c.#owner = this.#owner.slice();
    c.#next = this.#next;
    c.#free = this.#free.slice();
    for (let i = 0; i < this.inUse.length; i++) c.inUse[i] = this.inUse[i];
    return c;
  }

  #bump(pages: number, alignPages: number): number {
    const start = Math.ceil(this.#next / alignPages) * alignPages;
    const end = start + pages;
    assert(end <= HOST_PFN_LIMIT, 'HostMemory: out of simulated host memory');
    if (end - HOST_PFN_BASE > this.#owner.length) {
      let size = this.#owner.length;
      while (size < end - HOST_PFN_BASE) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#owner);
      this.#owner = grown;
    }
    // Pages skipped for alignment are never handed out; they stay PAGE_FREE.
    this.#next = end;
    return start;
  }
}
