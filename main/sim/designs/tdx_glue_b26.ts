// KVM's TDX glue for the callback-per-operation designs (`per-op`, `mainline-4k`): the
// tdx_sept_* functions of arch/x86/kvm/vmx/tdx.c as of [B26], plus [V3] 08/24's
// tdx_sept_split_private_spte(), in the order tdx.c has them. The two designs share this tdx.c;
// they differ in the largest private mapping (4K before [V3]) and in whether the split hook
// exists at all. Not a design itself: designs import it, and it imports no design.
import { PG_LEVEL_2M, PG_LEVEL_4K, VMX_EPT_RWX_MASK, spte_to_pfn } from '../../../shared/spte.ts';
import type { U64 } from '../../../shared/u64.ts';
import { KVM_BUG_ON, WARN_ON_ONCE, lockdep_assert_held_write } from '../checks.ts';
import { EINVAL, EIO, EOPNOTSUPP, returnNow, type Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import type { kvm_mmu_page } from '../mmu/kvm_mmu_page.ts';
import {
  tdx_mem_page_add, tdx_mem_page_aug, tdx_reclaim_page, tdx_sept_add, tdx_sept_demote, tdx_sept_remove_table, tdx_sept_zap_leaf,
  type KvmTdx,
} from './kvm_tdx.ts';

export { PG_LEVEL_2M, PG_LEVEL_4K };


/**
 * tdx_sept_link_private_spt(kvm, gfn, level, void *private_spt) ([B26] tdx.c): TDH.MEM.SEPT.ADD
 * of the page it is handed; BUSY is -EBUSY, any other error TDX_BUG_ON. It gets a bare S-EPT
 * page, not the kvm_mmu_page, so it checks nothing about the table: in [B26] the level/gfn
 * checks are WARN_ON_ONCEs in the MMU's get_external_spt() and the missing-page check is the
 * MMU's KVM_BUG_ON in set_external_spte_present(). TDX-side KVM_BUG_ONs on the table arrive
 * only with [V5] 05/45's tdx_spte_to_external_spt() (the unified glue, tdx_glue_kx.ts). The
 * model passes the child table; this reads only its external_spt, the kernel's `private_spt`.
 */
export function* tdx_sept_link_private_spt(kt: KvmTdx, t: SimThread, gfn: number, level: number, child: kvm_mmu_page): Proc<number> {
  // The MMU KVM_BUG_ONs and returns before calling with no page (set_external_spte_present).
  return yield* tdx_sept_add(kt, t, gfn, level, child.external_spt as number);
}

/**
 * tdx_sept_set_private_spte(): map a leaf, AUG once runnable, PAGE.ADD before finalize. A plain
 * function returning the chosen SEAMCALL's Proc (one generator level fewer per fault).
 */
export function tdx_sept_set_private_spte(kt: KvmTdx, t: SimThread, gfn: number, level: number, mirror_spte: U64, maxLevel: number): Proc<number> {
  if (KVM_BUG_ON(kt.ctx, t, level > maxLevel, 'tdx_sept_set_private_spte', () => `level ${level}`)) return returnNow(-EIO);
  // TDX maps private memory RWX; a mirror leaf without it means the MMU built it wrongly.
  WARN_ON_ONCE(kt.ctx, t, (mirror_spte & VMX_EPT_RWX_MASK) !== VMX_EPT_RWX_MASK, 'tdx_sept_set_private_spte:rwx', 'mirror leaf is not RWX');
  const pfn = spte_to_pfn(mirror_spte);
  if (kt.state === 'runnable') return tdx_mem_page_aug(kt, t, gfn, level, pfn);
  if (KVM_BUG_ON(kt.ctx, t, level !== PG_LEVEL_4K, 'tdx_mem_page_add', () => `PAGE.ADD is 4K only, level ${level}`)) return returnNow(-EIO);
  return tdx_mem_page_add(kt, t, gfn, level, pfn);
}

/**
 * [V3] 08/24 tdx_sept_split_private_spte(): BLOCK, TRACK, DEMOTE into the child's page. Under
 * the shared mmu_lock ([V3] 09/24, a split from the fault path) it cannot kick vCPUs to clear a
 * BUSY from DEMOTE, so it WARNs and returns -EOPNOTSUPP; the MMU restores the huge leaf.
 */
export function* tdx_sept_split_private_spte(kt: KvmTdx, t: SimThread, gfn: number, level: number, _old: U64, child: kvm_mmu_page, mmuLockShared: boolean): Proc<number> {
  if (KVM_BUG_ON(kt.ctx, t, kt.state !== 'runnable' || level !== PG_LEVEL_2M, 'tdx_sept_split_private_spte', `state ${kt.state}, level ${level}`)) return -EIO;
  if (WARN_ON_ONCE(kt.ctx, t, mmuLockShared, 'tdx_sept_split_private_spte:shared', () => `split of gfn 0x${gfn.toString(16)} level ${level} under shared mmu_lock`)) return -EOPNOTSUPP;
  // [V3] 08/24 asserts the write lock inside tdh_do_no_vcpus(); it has no !new_external_spt
  // check of its own: the MMU's split_external_spte() KVM_BUG_ONs that before calling.
  lockdep_assert_held_write(kt.ctx, t, 'tdx_sept_split_private_spte');
  return (yield* tdx_sept_demote(kt, t, gfn, level, child.external_spt as number)) ? 0 : -EIO;
}

/** tdx_sept_remove_private_spte() ([B26], void): BLOCK, TRACK, REMOVE, WBINVD, clear. */
export function* tdx_sept_remove_private_spte(kt: KvmTdx, t: SimThread, gfn: number, level: number, mirror_spte: U64, maxLevel: number): Proc<void> {
  lockdep_assert_held_write(kt.ctx, t, 'tdx_sept_remove_private_spte');
  // "HKID is released after all private pages have been removed": a leaf left after it is a bug.
  if (KVM_BUG_ON(kt.ctx, t, !kt.is_hkid_assigned(), 'tdx_sept_remove_private_spte', 'HKID already released')) return;
  if (KVM_BUG_ON(kt.ctx, t, level > maxLevel, 'tdx_sept_remove_private_spte', () => `level ${level}`)) return;
  yield* tdx_sept_zap_leaf(kt, t, gfn, level, spte_to_pfn(mirror_spte));
}

/**
 * tdx_sept_free_private_spt() ([B26]): an S-EPT page can be reclaimed only once the HKID is
 * freed (TD_TEARDOWN). Non-zero makes handle_removed_pt() WARN and leak the page. The mirror
 * page and external_spt are freed by the MMU's RCU callback in this era.
 */
export function* tdx_sept_free_private_spt(kt: KvmTdx, t: SimThread, gfn: number, level: number, sp: kvm_mmu_page): Proc<number> {
  const pfn = sp.external_spt;
  if (pfn === null) return 0;
  if (kt.is_hkid_assigned()) {
    if (kt.options.runtimeTableRemoval) return (yield* tdx_sept_remove_table(kt, t, gfn, level + 1, pfn)) ? 0 : -EIO;
    // KVM doesn't zap page tables of a mirror table while the TD is active.
    KVM_BUG_ON(kt.ctx, t, true, 'tdx_sept_free_private_spt', 'is_hkid_assigned');
    return -EINVAL;
  }
  return (yield* tdx_reclaim_page(kt, t, pfn, gfn, level + 1)) ? 0 : -EIO;
}
