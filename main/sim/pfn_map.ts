// Map<pfn, V> for the simulation's per-page tables (the PAMT, the MMU's tables by PFN), stored
// in blocks of consecutive pfns. Shared by main/sim/tdx and main/sim/mmu, so it lives beside
// neither.

/** Slots per PfnMap block: one 2M range of 4K pfns. */
const PFN_BLOCK = 512;

interface PfnBlock<V> {
  readonly slots: (V | undefined)[];
  count: number;
}

/**
 * The part of Map<pfn, V> the PAMT needs, stored in blocks of 512 consecutive pfns. A plain Map
 * of a quarter million 4K entries (1 GiB of guest memory) costs ~200 ns per insert as it grows
 * and rehashes, as much as the rest of a TDH.MEM.PAGE.AUG; here an insert is an array store.
 * Iterates in ascending pfn order (not insertion order).
 */
export class PfnMap<V> {
  readonly #blocks = new Map<number, PfnBlock<V>>();
  #size = 0;
  /** The block last used, by index: the common access is the neighbour of the last one. */
  #lastIndex = -1;
  #last: PfnBlock<V> | undefined = undefined;

  get size(): number {
    return this.#size;
  }

  #block(pfn: number): PfnBlock<V> | undefined {
    const index = Math.floor(pfn / PFN_BLOCK);
    if (index !== this.#lastIndex) {
      this.#last = this.#blocks.get(index);
      this.#lastIndex = index;
    }
    return this.#last;
  }

  get(pfn: number): V | undefined {
    return this.#block(pfn)?.slots[pfn % PFN_BLOCK];
  }

  has(pfn: number): boolean {
    return this.get(pfn) !== undefined;
  }

  set(pfn: number, value: V): this {
    let block = this.#block(pfn);
    if (block === undefined) {
      block = { slots: new Array<V | undefined>(PFN_BLOCK).fill(undefined), count: 0 };
      this.#blocks.set(Math.floor(pfn / PFN_BLOCK), block);
      this.#last = block;
    }
    const i = pfn % PFN_BLOCK;
    if (block.slots[i] === undefined) {
      block.count++;
      this.#size++;
    }
    block.slots[i] = value;
    return this;
  }

  delete(pfn: number): boolean {
    const block = this.#block(pfn);
    const i = pfn % PFN_BLOCK;
    if (block === undefined || block.slots[i] === undefined) return false;
    block.slots[i] = undefined;
    block.count--;
    this.#size--;
    if (block.count === 0) {
      this.#blocks.delete(Math.floor(pfn / PFN_BLOCK));
      this.#lastIndex = -1;
      this.#last = undefined;
    }
    return true;
  }

  *entries(): IterableIterator<[number, V]> {
    const indexes = [...this.#blocks.keys()].sort((a, b) => a - b);
    for (const index of indexes) {
      const block = this.#blocks.get(index);
      if (block === undefined) continue;
      for (let i = 0; i < PFN_BLOCK; i++) {
        const v = block.slots[i];
        if (v !== undefined) yield [index * PFN_BLOCK + i, v];
      }
    }
  }

  *keys(): IterableIterator<number> {
    for (const [pfn] of this.entries()) yield pfn;
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[number, V]> {
    return this.entries();
  }
}
