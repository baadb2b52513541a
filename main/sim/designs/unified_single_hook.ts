// Design `unified-single-hook`: a strawman, the naive funnel at prune time. Like `unified`, but
// without the dedicated hook for freeing a page table: a pruned non-leaf SPTE also goes through
// set_external_spte(old, new) at the moment its parent SPTE changes, before handle_removed_pt()
// reaps the children. The TDX module requires every leaf of an S-EPT page removed before the page
// itself (TDH.MEM.SEPT.REMOVE needs all 512 entries FREE), while KVM prunes the parent first. At
// teardown it happens to work (RECLAIM ignores S-EPT state); while the TD runs, the module refuses
// with TDX_EPT_PAGE_NOT_FREE. It is not the alternative [SC] weighs: funnelling the removal after
// call_rcu(), once the children are reaped, which Sean calls gross and a leak of TDX details into
// the MMU, not broken; that variant is not modelled.
import type { UnifiedExternalOps } from '../mmu/external_ops.ts';
import type { Design } from './design.ts';
import type { KvmTdx } from './kvm_tdx.ts';
import { tdx_sept_set_private_spte } from './tdx_glue_kx.ts';

export const unifiedSingleHookDesign: Design = {
  id: 'unified-single-hook',
  title: 'Strawman: one callback for everything, table removal included',
  summary:
    'Every mirror change, including pruning a page table, goes through set_external_spte(gfn, old, new, level); ' +
    'there is no free_external_spt. The table removal reaches TDX when the parent SPTE is cleared, before its ' +
    'children are removed, which the TDX module forbids while the TD runs: the naive place to funnel it. ([SC] ' +
    'weighs funnelling it after call_rcu() instead and keeps a dedicated hook to keep TDX details out of the MMU.)',
  sources: ['[SC] "removal of a non-leaf S-EPT page ... worth keeping separate"', 'kernel-mmu.md H20'],
  surface: {
    hooks: ['set_external_spte'],
    mmuCallSites: ['handle_changed_spte: set_external_spte (also for a pruned table, before its children)'],
    tdxChecks: [
      'set: lockdep_assert_held',
      'set: KVM_BUG_ON(!is_shadow_present_pte(new)) when old is not present',
      'split: lockdep_assert_held_write',
      'split: KVM_BUG_ON(present -> present unless a 2M leaf becomes a table) ([KX]; see unified)',
      'split: tdx_spte_to_external_spt() level/gfn checks',
      'map: tdx_spte_to_sept_pt() level/gfn checks',
      'map: KVM_BUG_ON(level > PG_LEVEL_2M)',
      'map: WARN_ON_ONCE(!RWX)',
      'remove: lockdep_assert_held_write',
      'remove: KVM_BUG_ON(!is_hkid_assigned)',
      'remove table: KVM_BUG_ON(no external page table)',
    ],
  },
  supportsPrivateHugePages: true,
  makeOps(kt: KvmTdx): UnifiedExternalOps {
    return {
      kind: 'unified',
      set_external_spte: (t, gfn, old, nw, level) => tdx_sept_set_private_spte(kt, t, gfn, old, nw, level, { nonleafRemoval: true }),
      nonleafRemovalViaSetExternal: true,
    };
  },
};
