// The TDP MMU's per-VM state (the parts of struct kvm_arch the TDP MMU uses): the roots, the
// page tables by host PFN, page statistics, and the locks and RCU it runs under. Also the
// allocation side of kvm_mmu_page (tdp_mmu_alloc_sp, tdp_mmu_init_child_sp,
// kvm_mmu_alloc_external_spt, tdp_mmu_free_sp) and the public readers other parts use: the
// invariant checker and the TDX glue read SPTEs through readSpte()/forEachPresentLeaf() and
// follow non-leaf SPTEs with spte_to_child_sp().
import { assert } from '../checks.ts';
import { HostMemory, PAGE_DIRECT_SPT, PAGE_EXTERNAL_SPT, PAGE_MIRROR_SPT } from '../host_memory.ts';
import { MmuLock } from '../mmu_lock.ts';
import { Rcu } from '../rcu.ts';
import { PfnMap } from '../pfn_map.ts';
import type { SimContext } from '../sim_context.ts';
import type { ExternalOps } from './external_ops.ts';
import { newMmuInvalidate, type MmuInvalidate } from './mmu_invalidate.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import type { tdp_iter } from './tdp_iter.ts';
import {
  KVM_PAGES_PER_HPAGE,
  PG_LEVEL_4K,
  PT64_ROOT_MAX_LEVEL,
  SHADOW_NONPRESENT_VALUE,
  SPTE_ENT_PER_PAGE,
  is_last_spte,
  is_shadow_present_pte,
  spte_to_pfn,
} from '../../../shared/spte.ts';
import type { U64 } from '../../../shared/u64.ts';
import { reciprocals, rem_pow2, rem_pow2_inv } from '../int_rem.ts';

export interface MmuConfig {
  /** Root level: 4 (GPAW 48) or 5 (GPAW 52). */
  rootLevel: 4 | 5;
  /** The hook seam the design supplies (per-op or unified). */
  ops: ExternalOps;
  /** [V3]/[V5]: 2M private leaves allowed (1G never is for TDX). */
  privateHugePages: boolean;
  /**
   * [V5] 02/45: a failed freeze cmpxchg on a mirror SPTE updates iter->old_spte. Off reproduces
   * the stale old_spte of [B26] (H3): a caller that retries locally spins forever.
   */
  freezeUpdatesOldSpte: boolean;
}

export type RootTree = 'mirror' | 'direct';

/** enum kvm_tdp_mmu_root_types. */
export const KVM_INVALID_ROOTS = 1;
export const KVM_DIRECT_ROOTS = 2;
export const KVM_MIRROR_ROOTS = 4;
export const KVM_VALID_ROOTS = KVM_DIRECT_ROOTS | KVM_MIRROR_ROOTS;
export const KVM_ALL_ROOTS = KVM_VALID_ROOTS | KVM_INVALID_ROOTS;
/** kvm_gfn_range.attr_filter. */
export const KVM_FILTER_PRIVATE = 1;
export const KVM_FILTER_SHARED = 2;

export interface MmuStats {
  /** kvm_update_page_stats: present leaf mappings per level (index = pg_level). */
  pages: number[];
  /** tdp_mmu_pages: page tables linked below roots (tdp_account_mmu_page). */
  tdp_mmu_pages: number;
}

/** spte_to_child_sp's cache has CHILD_CACHE_MASK + 1 slots, chosen by the low PFN bits. */
const CHILD_CACHE_MASK = 7;

export class KvmMmu {
  readonly config: MmuConfig;
  readonly ctx: SimContext;
  readonly host: HostMemory;
  readonly mmu_lock = new MmuLock();
  readonly rcu: Rcu;
  /** kvm->arch.tdp_mmu_roots, oldest first. */
  readonly roots: kvm_mmu_page[] = [];
  /** Every table not yet freed, by the host PFN of its spt: what spte_to_child_sp follows. */
  readonly spByPfn = new Map<number, kvm_mmu_page>();
  /**
   * The same tables in a PfnMap, for spte_to_child_sp: every walk step follows an SPTE, and a
   * PfnMap look-up near the last one is an array load, where a Map look-up is a hash probe.
   */
  readonly #spIndex = new PfnMap<kvm_mmu_page>();
  /** spte_to_child_sp's cache: by slot, an SPTE value and the (not freed) table it points at. */
  readonly #childCacheSpte = new Float64Array(CHILD_CACHE_MASK + 1);
  readonly #childCacheSp: (kvm_mmu_page | null)[] = new Array<kvm_mmu_page | null>(CHILD_CACHE_MASK + 1).fill(null);
  /** Per thread id: its kvm_tdp_mmu_map iterator (tdp_mmu_map.ts faultIterOf). */
  readonly faultIters: (tdp_iter | undefined)[] = [];
  readonly stats: MmuStats = { pages: [0, 0, 0, 0, 0, 0], tdp_mmu_pages: 0 };
  /** kvm->mmu_invalidate_*: what a fault checks under mmu_lock before mapping (mmu_invalidate.ts). */
  readonly invalidate: MmuInvalidate = newMmuInvalidate();
  /** The TDX shared bit as a GFN bit: GPA bit 47 (4-level) or 51 (5-level). */
  readonly sharedGfnBit: number;
  #nextSpId = 0;

  constructor(ctx: SimContext, config: MmuConfig, host: HostMemory = new HostMemory()) {
    assert(config.rootLevel === 4 || config.rootLevel === 5, 'KvmMmu: root level must be 4 or 5');
    this.ctx = ctx;
    this.config = config;
    this.host = host;
    this.rcu = new Rcu(ctx);
    this.sharedGfnBit = 2 ** (config.rootLevel === 4 ? 47 - 12 : 51 - 12);
  }

  /** Allocates the mirror and direct roots a TDX vCPU loads (kvm_tdp_mmu_alloc_root). */
  allocRoots(): void {
    this.kvm_tdp_mmu_alloc_root(true);
    this.kvm_tdp_mmu_alloc_root(false);
  }

  /** kvm_tdp_mmu_alloc_root(vcpu, mirror): a new root table; the mirror root has no external_spt. */
  kvm_tdp_mmu_alloc_root(mirror: boolean): kvm_mmu_page {
    const root = this.tdp_mmu_alloc_sp(this.config.rootLevel, mirror, 0, false);
    this.roots.push(root);
    return root;
  }

  /** The current valid root of a tree, or null (mmu->root.hpa / mmu->mirror_root_hpa). */
  validRoot(mirror: boolean): kvm_mmu_page | null {
    for (let i = this.roots.length - 1; i >= 0; i--) {
      const r = this.roots[i];
      if (r.role.is_mirror === mirror && !r.role.invalid) return r;
    }
    return null;
  }

  /** kvm_gfn_root_bits(): the shared bit for a direct root of a TDX VM, 0 for a mirror. */
  gfnRootBits(root: kvm_mmu_page): number {
    return root.role.is_mirror ? 0 : this.sharedGfnBit;
  }

  /** tdp_mmu_max_gfn_exclusive(), bounded by what the root level can address. */
  maxGfnExclusive(): number {
    return KVM_PAGES_PER_HPAGE(this.config.rootLevel + 1);
  }

  /**
   * tdp_mmu_alloc_sp() + tdp_mmu_init_sp(): a table of `level` SPTEs, all
   * SHADOW_NONPRESENT_VALUE (the shadow-page cache's init value). For a mirror table below the
   * root, `withExternal` also does kvm_mmu_alloc_external_spt().
   */
  tdp_mmu_alloc_sp(level: number, mirror: boolean, gfn: number, withExternal: boolean): kvm_mmu_page {
    assert(level >= PG_LEVEL_4K && level <= PT64_ROOT_MAX_LEVEL, 'tdp_mmu_alloc_sp: bad level');
    const sptPfn = this.host.alloc(mirror ? PAGE_MIRROR_SPT : PAGE_DIRECT_SPT);
    const spt = new Float64Array(SPTE_ENT_PER_PAGE).fill(SHADOW_NONPRESENT_VALUE);
    const sp: kvm_mmu_page = {
      id: this.#nextSpId++,
      role: { level, is_mirror: mirror, invalid: false },
      gfn,
      spt,
      spt_pfn: sptPfn,
      external_spt: mirror && withExternal ? this.host.alloc(PAGE_EXTERNAL_SPT) : null,
      parent: null,
      parent_index: -1,
      nx_huge_page_disallowed: false,
      tdp_mmu_scheduled_root_to_zap: false,
      unlinked: false,
      freed: false,
    };
    this.spByPfn.set(sptPfn, sp);
    this.#spIndex.set(sptPfn, sp);
    return sp;
  }

  /**
   * tdp_mmu_init_child_sp(child, iter): the table will hang below the SPTE at parent[index]
   * and cover `gfn`; its role is the parent's, one level down.
   */
  tdp_mmu_init_child_sp(child: kvm_mmu_page, parent: kvm_mmu_page, index: number, gfn: number): void {
    assert(child.role.is_mirror === parent.role.is_mirror, 'tdp_mmu_init_child_sp: tree mismatch');
    assert(parent.role.level > PG_LEVEL_4K, 'tdp_mmu_init_child_sp: no table below a 4K table');
    child.role.level = parent.role.level - 1;
    child.parent = parent;
    child.parent_index = index;
    child.gfn = gfn;
  }

  /**
   * tdp_mmu_alloc_sp_for_split() / the fault path's tdp_mmu_alloc_sp(): a table not yet
   * placed, with its external_spt for a mirror ([V3] "Alloc external_spt page for mirror page
   * table splitting"). tdp_mmu_init_child_sp() places it.
   */
  tdp_mmu_alloc_sp_for_split(mirror: boolean): kvm_mmu_page {
    return this.tdp_mmu_alloc_sp(PG_LEVEL_4K, mirror, 0, mirror);
  }

  /** A child table for `parent`'s SPTE at `index` (fault path: alloc + init_child_sp). */
  allocChildSp(parent: kvm_mmu_page, index: number, gfn: number): kvm_mmu_page {
    const child = this.tdp_mmu_alloc_sp(parent.role.level - 1, parent.role.is_mirror, gfn, parent.role.is_mirror);
    this.tdp_mmu_init_child_sp(child, parent, index, gfn);
    return child;
  }

  /**
   * tdp_mmu_free_sp(): returns the table's pages to the host. In [LN]/[B26] this also frees
   * external_spt when the TDX side left it set; a design that reclaims it sets it to null.
   */
  tdp_mmu_free_sp(sp: kvm_mmu_page): void {
    assert(!sp.freed, () => `tdp_mmu_free_sp: sp ${sp.id} freed twice`);
    sp.freed = true;
    this.spByPfn.delete(sp.spt_pfn);
    this.#spIndex.delete(sp.spt_pfn);
    this.host.free(sp.spt_pfn);
    if (sp.external_spt !== null) {
      this.host.free(sp.external_spt);
      sp.external_spt = null;
    }
  }

  /** spte_to_child_sp(spte): the table a present non-leaf SPTE points at, or null. */
  spte_to_child_sp(spte: U64): kvm_mmu_page | null {
    // Walks follow the same few non-leaf SPTEs over and over (the fault path's and the checker's
    // walks from the root): remember the last SPTE seen per slot and the table it led to. While
    // that table is not freed, its PFN maps to it (only tdp_mmu_free_sp removes it), so the same
    // SPTE value leads to it again. Saves spte_to_pfn, whose 64-bit remainder is slow.
    const slot = ((spte / 4096) | 0) & CHILD_CACHE_MASK;
    const cached = this.#childCacheSp[slot];
    if (cached !== null && this.#childCacheSpte[slot] === spte && !cached.freed) return cached;
    const child = this.#spIndex.get(spte_to_pfn(spte)) ?? null;
    if (child !== null) {
      this.#childCacheSpte[slot] = spte;
      this.#childCacheSp[slot] = child;
    }
    return child;
  }

  /** kvm_update_page_stats(kvm, level, delta). */
  kvm_update_page_stats(level: number, delta: number): void {
    this.stats.pages[level] += delta;
  }

  /**
   * Public reader: the SPTE of `tree` at (gfn, level) in the current valid root, or null when
   * the walk stops above `level` (no table there). `gfn` is without the shared bit.
   */
  readSpte(tree: RootTree, gfn: number, level: number): U64 | null {
    const root = this.validRoot(tree === 'mirror');
    if (root === null) return null;
    const bits = this.gfnRootBits(root);
    let sp = root;
    for (let l = root.role.level; ; l--) {
      const spte = sp.spt[spteIndex(gfn + bits, l)];
      if (l === level) return spte;
      if (!is_shadow_present_pte(spte) || is_last_spte(spte, l)) return null;
      const child = this.spte_to_child_sp(spte);
      if (child === null) return null;
      sp = child;
    }
  }

  /**
   * Public reader: calls `visit(gfn, level, spte)` for every present leaf of `tree`'s valid
   * root, in GFN order. `gfn` is without the shared bit.
   */
  forEachPresentLeaf(tree: RootTree, visit: (gfn: number, level: number, spte: U64) => void): void {
    const root = this.validRoot(tree === 'mirror');
    if (root === null) return;
    this.#visitLeaves(root, root.gfn, visit);
  }

  #visitLeaves(sp: kvm_mmu_page, baseGfn: number, visit: (gfn: number, level: number, spte: U64) => void): void {
    const level = sp.role.level;
    const size = KVM_PAGES_PER_HPAGE(level);
    for (let i = 0; i < SPTE_ENT_PER_PAGE; i++) {
      const spte = sp.spt[i];
      if (!is_shadow_present_pte(spte)) continue;
      const gfn = baseGfn + i * size;
      if (is_last_spte(spte, level)) {
        visit(gfn, level, spte);
        continue;
      }
      const child = this.spte_to_child_sp(spte);
      if (child !== null) this.#visitLeaves(child, gfn, visit);
    }
  }

  /** Live tables of a tree (not yet freed), in allocation order. */
  liveTables(tree: RootTree): kvm_mmu_page[] {
    const out: kvm_mmu_page[] = [];
    for (const sp of this.spByPfn.values()) if (sp.role.is_mirror === (tree === 'mirror')) out.push(sp);
    out.sort((a, b) => a.id - b.id);
    return out;
  }

  /** A deterministic hash (16 hex digits) of every live table: ids, roles, GFNs and SPTEs. */
  hashState(): string {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    const mix = (w: number): void => {
      h1 = Math.imul(h1 ^ (w & 0xffff), 16777619);
      h1 = Math.imul(h1 ^ (w >>> 16), 16777619);
      h2 = Math.imul(h2 ^ w, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    };
    const tables = [...this.spByPfn.values()].sort((a, b) => a.id - b.id);
    for (const sp of tables) {
      mix(sp.id);
      mix(sp.role.level | (sp.role.is_mirror ? 16 : 0) | (sp.role.invalid ? 32 : 0));
      mix(sp.gfn >>> 0);
      mix(Math.floor(sp.gfn / 4294967296));
      mix(sp.spt_pfn);
      mix(sp.external_spt ?? -1);
      for (let i = 0; i < SPTE_ENT_PER_PAGE; i++) {
        const v = sp.spt[i];
        mix(v >>> 0);
        mix(Math.floor(v / 4294967296));
      }
    }
    for (const p of this.stats.pages) mix(p);
    mix(this.stats.tdp_mmu_pages);
    mix(this.invalidate.seq);
    mix(this.invalidate.in_progress);
    return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
  }

  /**
   * A copy of the data state (tables, roots, stats, host memory) bound to `ctx`. Only at a
   * quiescent point: no lock held, no RCU reader or callback pending (exhaustive exploration
   * replays from scratch, so generator state is never cloned).
   */
  clone(ctx: SimContext): KvmMmu {
    assert(this.mmu_lock.idle(), 'KvmMmu.clone: mmu_lock is held');
    assert(this.rcu.idle(), 'KvmMmu.clone: RCU is busy');
    const c = new KvmMmu(ctx, this.config, this.host.clone());
    const byId = new Map<number, kvm_mmu_page>();
    const tables = [...this.spByPfn.values()].sort((a, b) => a.id - b.id);
    for (const sp of tables) {
      const copy: kvm_mmu_page = { ...sp, role: { ...sp.role }, spt: sp.spt.slice(), parent: null };
      byId.set(sp.id, copy);
      c.spByPfn.set(copy.spt_pfn, copy);
      c.#spIndex.set(copy.spt_pfn, copy);
    }
    for (const sp of tables) {
      const copy = byId.get(sp.id) as kvm_mmu_page;
      copy.parent = sp.parent === null ? null : (byId.get(sp.parent.id) ?? null);
    }
    for (const r of this.roots) {
      const copy = byId.get(r.id);
      if (copy !== undefined) c.roots.push(copy);
    }
    c.stats.pages = this.stats.pages.slice();
    c.stats.tdp_mmu_pages = this.stats.tdp_mmu_pages;
    Object.assign(c.invalidate, this.invalidate);
    c.#nextSpId = this.#nextSpId;
    return c;
  }
}

/** KVM_PAGES_PER_HPAGE(level) for levels 0..6, precomputed for the hot path. */
export const PAGES_PER_LEVEL: readonly number[] = [0, 1, 512, 512 ** 2, 512 ** 3, 512 ** 4, 512 ** 5];
/** 1 / PAGES_PER_LEVEL[level] (int_rem.ts: a multiply for the division). */
export const PAGES_PER_LEVEL_INV = reciprocals(PAGES_PER_LEVEL);

/** SPTE_INDEX(gfn << PAGE_SHIFT, level), in arithmetic: GFNs may exceed 2^32. */
export function spteIndex(gfn: number, level: number): number {
  return rem_pow2(Math.floor(gfn * PAGES_PER_LEVEL_INV[level]), SPTE_ENT_PER_PAGE);
}

/** gfn_round_for_level(gfn, level). */
export function gfn_round_for_level(gfn: number, level: number): number {
  return gfn - rem_pow2_inv(gfn, PAGES_PER_LEVEL[level], PAGES_PER_LEVEL_INV[level]);
}

/** Which tree's events an SPTE write in `sp` belongs to. */
export function treeOf(sp: kvm_mmu_page): RootTree {
  return sp.role.is_mirror ? 'mirror' : 'direct';
}
