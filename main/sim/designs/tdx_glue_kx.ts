// KVM's TDX glue for the unified-callback designs (`unified`, `unified-single-hook`): the
// tdx_sept_* functions of the landed kvm-x86 tdx.c ([KX] @09c6f74ecb86) plus [V5]'s split, in
// the order tdx.c has them. TDX receives (old, new) and decides itself what the change is, as
// the seed message sketches it: both present -> split; old present -> remove; new not present
// -> bug; new non-leaf -> link; else map the leaf. Not a design: designs import it.
import { PG_LEVEL_2M, PG_LEVEL_4K, VMX_EPT_RWX_MASK, is_last_spte, is_shadow_present_pte, spte_to_pfn } from '../../../shared/spte.ts';
import type { U64 } from '../../../shared/u64.ts';
import { KVM_BUG_ON, WARN_ON_ONCE, lockdep_assert_held, lockdep_assert_held_write } from '../checks.ts';
import { EIO, returnNow, type Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import type { kvm_mmu_page } from '../mmu/kvm_mmu_page.ts';
import {
  tdx_mem_page_add, tdx_mem_page_aug, tdx_reclaim_page, tdx_sept_add, tdx_sept_demote, tdx_sept_remove_table, tdx_sept_zap_leaf,
  type KvmTdx,
} from './kvm_tdx.ts';

/** [V5]: 2M private leaves; 1G is not supported for TDX guests. */
const MAX_PRIVATE_LEVEL = PG_LEVEL_2M;

export interface KxGlueOptions {
  /**
   * The strawman: a pruned page table also arrives here as (old non-leaf, new not present),
   * before handle_removed_pt() has removed its children.
   */
  nonleafRemoval: boolean;
}

/** tdx_sept_remove_leaf_spte() ([KX]): the [B26] removal sequence, behind the same checks. */
function* tdx_sept_remove_leaf_spte(kt: KvmTdx, t: SimThread, gfn: number, level: number, old: U64): Proc<number> {
  lockdep_assert_held_write(kt.ctx, t, 'tdx_sept_remove_leaf_spte');
  if (KVM_BUG_ON(kt.ctx, t, !kt.is_hkid_assigned(), 'tdx_sept_remove_leaf_spte', 'HKID already released')) return -EIO;
  if (KVM_BUG_ON(kt.ctx, t, level > MAX_PRIVATE_LEVEL, 'tdx_sept_remove_leaf_spte', () => `level ${level}`)) return -EIO;
  return (yield* tdx_sept_zap_leaf(kt, t, gfn, level, spte_to_pfn(old))) ? 0 : -EIO;
}

/**
 * The strawman's removal of a page table through the single callback. At teardown (HKID freed)
 * the page can simply be reclaimed. While the TD runs, the module needs the table's 512 entries
 * FREE before TDH.MEM.SEPT.REMOVE, but KVM prunes the parent first and reaps the children
 * afterwards ([SC]): the children are still mapped here, so the module refuses.
 */
function* tdx_sept_remove_nonleaf_spte(kt: KvmTdx, t: SimThread, gfn: number, level: number, old: U64): Proc<number> {
  const child = kt.mmu.spte_to_child_sp(old);
  if (KVM_BUG_ON(kt.ctx, t, child === null || child.external_spt === null, 'tdx_sept_remove_nonleaf_spte', 'no external page table')) return -EIO;
  const sp = child as kvm_mmu_page;
  const pfn = sp.external_spt as number;
  sp.external_spt = null;
  if (!kt.is_hkid_assigned()) {
    if (!(yield* tdx_reclaim_page(kt, t, pfn, gfn, level))) return -EIO;
    kt.host.free(pfn);
    return 0;
  }
  lockdep_assert_held_write(kt.ctx, t, 'tdx_sept_remove_nonleaf_spte');
  if (!(yield* tdx_sept_remove_table(kt, t, gfn, level, pfn))) return -EIO;
  kt.host.free(pfn);
  return 0;
}

/** [V5] tdx_sept_split_private_spte(): a huge leaf becoming a table is a demotion. */
function* tdx_sept_split_private_spte(kt: KvmTdx, t: SimThread, gfn: number, level: number, old: U64, nw: U64): Proc<number> {
  lockdep_assert_held_write(kt.ctx, t, 'tdx_sept_split_private_spte');
  // Present to present is only ever a split: anything else is a change TDX cannot express.
  if (KVM_BUG_ON(kt.ctx, t, level !== PG_LEVEL_2M, 'tdx_sept_split_private_spte', `level ${level}`)) return -EIO;
  if (KVM_BUG_ON(kt.ctx, t, !is_last_spte(old, level), 'tdx_sept_split_private_spte', 'old is not a leaf')) return -EIO;
  if (KVM_BUG_ON(kt.ctx, t, is_last_spte(nw, level), 'tdx_sept_split_private_spte', 'new is a leaf (leaf-to-leaf change)')) return -EIO;
  // [V5] tdx_spte_to_external_spt(): the new table must sit one level down and cover `gfn`.
  const child = kt.mmu.spte_to_child_sp(nw);
  if (KVM_BUG_ON(kt.ctx, t, child === null || child.external_spt === null, 'tdx_sept_split_private_spte', 'no external page table')) return -EIO;
  const sp = child as kvm_mmu_page;
  if (KVM_BUG_ON(kt.ctx, t, sp.role.level + 1 !== level || sp.gfn !== gfn, 'tdx_spte_to_external_spt', () => `sp level ${sp.role.level} gfn 0x${sp.gfn.toString(16)}`)) return -EIO;
  return (yield* tdx_sept_demote(kt, t, gfn, level, sp.external_spt as number)) ? 0 : -EIO;
}

/** tdx_sept_map_nonleaf_spte(): the tdx_spte_to_sept_pt() checks, then TDH.MEM.SEPT.ADD. */
function* tdx_sept_map_nonleaf_spte(kt: KvmTdx, t: SimThread, gfn: number, level: number, nw: U64): Proc<number> {
  const child = kt.mmu.spte_to_child_sp(nw);
  if (KVM_BUG_ON(kt.ctx, t, child === null || child.external_spt === null, 'tdx_spte_to_sept_pt', 'no external page table')) return -EIO;
  const sp = child as kvm_mmu_page;
  if (KVM_BUG_ON(kt.ctx, t, sp.role.level + 1 !== level || sp.gfn !== gfn, 'tdx_spte_to_sept_pt', () => `sp level ${sp.role.level} gfn 0x${sp.gfn.toString(16)}`)) return -EIO;
  return yield* tdx_sept_add(kt, t, gfn, level, sp.external_spt as number);
}

/** tdx_sept_map_leaf_spte(): AUG once runnable, PAGE.ADD before finalize. */
function tdx_sept_map_leaf_spte(kt: KvmTdx, t: SimThread, gfn: number, level: number, nw: U64): Proc<number> {
  if (KVM_BUG_ON(kt.ctx, t, level > MAX_PRIVATE_LEVEL, 'tdx_sept_map_leaf_spte', () => `level ${level}`)) return returnNow(-EIO);
  WARN_ON_ONCE(kt.ctx, t, (nw & VMX_EPT_RWX_MASK) !== VMX_EPT_RWX_MASK, 'tdx_sept_map_leaf_spte:rwx', 'mirror leaf is not RWX');
  const pfn = spte_to_pfn(nw);
  if (kt.state === 'runnable') return tdx_mem_page_aug(kt, t, gfn, level, pfn);
  if (KVM_BUG_ON(kt.ctx, t, level !== PG_LEVEL_4K, 'tdx_mem_page_add', () => `PAGE.ADD is 4K only, level ${level}`)) return returnNow(-EIO);
  return tdx_mem_page_add(kt, t, gfn, level, pfn);
}

/**
 * tdx_sept_set_private_spte(kvm, gfn, old_spte, new_spte, level): the one funnel ([SC], [KX]).
 * This and tdx_sept_map_leaf_spte are dispatchers: plain functions returning the Proc of the
 * path they chose, so a fault resumes two generator levels fewer.
 */
export function tdx_sept_set_private_spte(kt: KvmTdx, t: SimThread, gfn: number, old: U64, nw: U64, level: number, options: KxGlueOptions): Proc<number> {
  lockdep_assert_held(kt.ctx, t, 'tdx_sept_set_private_spte');
  const wasPresent = is_shadow_present_pte(old);
  const isPresent = is_shadow_present_pte(nw);
  if (wasPresent && isPresent) return tdx_sept_split_private_spte(kt, t, gfn, level, old, nw);
  if (wasPresent) {
    if (options.nonleafRemoval && !is_last_spte(old, level)) return tdx_sept_remove_nonleaf_spte(kt, t, gfn, level, old);
    if (KVM_BUG_ON(kt.ctx, t, !is_last_spte(old, level), 'tdx_sept_remove_leaf_spte', 'non-leaf old')) return returnNow(-EIO);
    return tdx_sept_remove_leaf_spte(kt, t, gfn, level, old);
  }
  if (KVM_BUG_ON(kt.ctx, t, !isPresent, 'tdx_sept_set_private_spte', 'non-present to non-present')) return returnNow(-EIO);
  if (!is_last_spte(nw, level)) return tdx_sept_map_nonleaf_spte(kt, t, gfn, level, nw);
  return tdx_sept_map_leaf_spte(kt, t, gfn, level, nw);
}

/**
 * tdx_sept_free_private_spt(kvm, sp) ([KX]): reclaim and free the S-EPT page at once ("RCU-time
 * free is unnecessary after TDH.PHYMEM.PAGE.RECLAIM"); with the HKID still assigned it is a
 * KVM_BUG_ON and the page is leaked. external_spt is cleared in every case.
 */
export function* tdx_sept_free_private_spt(kt: KvmTdx, t: SimThread, sp: kvm_mmu_page): Proc<void> {
  const pfn = sp.external_spt;
  if (pfn === null) return;
  sp.external_spt = null;
  const gfn = sp.gfn;
  const level = sp.role.level + 1;
  if (kt.is_hkid_assigned()) {
    if (kt.options.runtimeTableRemoval) {
      if (yield* tdx_sept_remove_table(kt, t, gfn, level, pfn)) kt.host.free(pfn);
      return;
    }
    KVM_BUG_ON(kt.ctx, t, true, 'tdx_sept_free_private_spt', 'is_hkid_assigned: S-EPT page leaked');
    return;
  }
  if (yield* tdx_reclaim_page(kt, t, pfn, gfn, level)) kt.host.free(pfn);
}
