// Map<pfn, V> for the simulation's per-page tables (the PAMT, the MMU's tables by PFN), stored
// in blocks of consecutive pfns. Shared by main/sim/tdx and main/sim/mmu, so it lives beside
// neither.
import { rem_pow2 } from './int_rem.ts';

/** Slots per PfnMap block: one 2M range of 4K pfns. */
const PFN_BLOCK = 512;

/**
 * Blocks with an index below this (pfns below 32M, 128 GiB of host memory) are also found in an
 * array: walks alternate between tables in different blocks, so the last-block cache misses
 * often, and an array load is cheaper than a Map look-up.
 */
const DENSE_BLOCKS_MAX = 65536;

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
  /** #blocks' entries with an index below DENSE_BLOCKS_MAX, by index (holes undefined). */
  readonly #dense: (PfnBlock<V> | undefined)[] = [];
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
      this.#last = index >= 0 && index < DENSE_BLOCKS_MAX ? (index < this.#dense.length ? this.#dense[index] : undefined) : this.#blocks.get(index);
      this.#lastIndex = index;
    }
    return this.#last;
  }

  get(pfn: number): V | undefined {
    return this.#block(pfn)?.slots[rem_pow2(pfn, PFN_BLOCK)];
  }

  has(pfn: number): boolean {
    return this.get(pfn) !== undefined;
  }

  set(pfn: number, value: V): this {
    let block = this.#block(pfn);
    if (block === undefined) {
      block = { slots: new Array<V | undefined>(PFN_BLOCK).fill(undefined), count: 0 };
      const index = Math.floor(pfn / PFN_BLOCK);
      this.#blocks.set(index, block);
      if (index >= 0 && index < DENSE_BLOCKS_MAX) {
        while (this.#dense.length <= index) this.#dense.push(undefined);
        this.#dense[index] = block;
      }
      this.#last = block;
    }
    const i = rem_pow2(pfn, PFN_BLOCK);
    if (block.slots[i] === undefined) {
      block.count++;
      this.#size++;
    }
    block.slots[i] = value;
    return this;
  }

  delete(pfn: number): boolean {
    const block = this.#block(pfn);
    const i = rem_pow2(pfn, PFN_BLOCK);
    if (block === undefined || block.slots[i] === undefined) return false;
    block.slots[i] = undefined;
    block.count--;
    this.#size--;
    if (block.count === 0) {
      const index = Math.floor(pfn / PFN_BLOCK);
      this.#blocks.delete(index);
      if (index >= 0 && index < this.#dense.length) this.#dense[index] = undefined;
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
