// Design `per-op`: one callback per operation, as in Yan Zhao's "TDX huge page support v3"
// ([V3], 2026-01-06) on top of kvm-x86-next-2026.01.23 ([B26]).
//
// The TDP MMU decides which operation a mirror change is and calls the matching hook:
// set_external_spte_present() in the atomic path links a table (link_external_spt) or maps a
// leaf (set_external_spte) while the SPTE is frozen; tdp_mmu_set_spte() under the write lock
// dispatches to remove_external_spte or, new in [V3] 07/24, split_external_spte (its return
// value ignored, H16); handle_removed_pt() removes each child leaf and then frees the table
// (free_external_spt). Every change the MMU did not anticipate reaches no hook: the TDX side
// instead carries sanity checks that the "right" hook was called ([SC]: "the TDX code has sanity
// checks all over the place to ensure the 'right' API is called").
import type { PerOpExternalOps } from '../mmu/external_ops.ts';
import type { Design } from './design.ts';
import type { KvmTdx } from './kvm_tdx.ts';
import {
  PG_LEVEL_2M, tdx_sept_free_private_spt, tdx_sept_link_private_spt, tdx_sept_remove_private_spte, tdx_sept_set_private_spte,
  tdx_sept_split_private_spte,
} from './tdx_glue_b26.ts';

/** [V3]: private memory may be mapped at 4K or 2M; 1G is not supported for TDX. */
const MAX_PRIVATE_LEVEL = PG_LEVEL_2M;

export const perOpDesign: Design = {
  id: 'per-op',
  title: 'Callback per operation (TDX huge page support v3)',
  summary:
    'The TDP MMU classifies each mirror change and calls one hook per operation: link_external_spt and ' +
    'set_external_spte from set_external_spte_present() in the atomic path (SPTE frozen around the SEAMCALL), ' +
    'remove_external_spte or split_external_spte from the dispatch in tdp_mmu_set_spte() under the write lock, ' +
    'remove_external_spte per child and free_external_spt per table in handle_removed_pt(). A change no call ' +
    'site anticipates reaches no hook. The link hook gets a bare S-EPT page: its level/gfn sanity checks are the ' +
    'MMU\'s (get_external_spt() WARNs and links anyway). A split the fault path meets under the read lock goes ' +
    'to split_external_spte(shared) from set_external_spte_present(), and TDX refuses it (WARN, -EOPNOTSUPP). ' +
    '[V3] 07-09/24 on [B26]; kernel-mmu.md 3.1-3.3, 4.2-4.3, 5.3.',
  sources: ['[V3] 07/24, 08/24, 09/24', '[B26] tdp_mmu.c', '[M16]/[B26] vmx/tdx.c'],
  surface: {
    hooks: ['link_external_spt', 'set_external_spte', 'split_external_spte', 'remove_external_spte', 'free_external_spt'],
    mmuCallSites: [
      'set_external_spte_present: link_external_spt',
      'set_external_spte_present: set_external_spte',
      'set_external_spte_present: split_external_spte (shared)',
      'tdp_mmu_set_spte: remove_external_spte',
      'tdp_mmu_set_spte: split_external_spte',
      'handle_removed_pt: remove_external_spte',
      'handle_removed_pt: free_external_spt',
    ],
    tdxChecks: [
      // None for link: [B26] tdx_sept_link_private_spt() gets a bare page. The level/gfn checks
      // are the MMU's (get_external_spt() WARN_ON_ONCE, then links anyway) and so is
      // KVM_BUG_ON(!external_spt) (set_external_spte_present()).
      'set: KVM_BUG_ON(level > PG_LEVEL_2M)',
      'set: WARN_ON_ONCE(!RWX)',
      'remove: lockdep_assert_held_write',
      'remove: KVM_BUG_ON(!is_hkid_assigned)',
      'remove: KVM_BUG_ON(level > PG_LEVEL_2M)',
      'split: KVM_BUG_ON(state != RUNNABLE || level != PG_LEVEL_2M)',
      'split: WARN_ON_ONCE(mmu_lock_shared) -> -EOPNOTSUPP',
      'split: lockdep_assert_held_write (in tdh_do_no_vcpus)',
      'free: KVM_BUG_ON(is_hkid_assigned)',
    ],
  },
  supportsPrivateHugePages: true,
  makeOps(kt: KvmTdx): PerOpExternalOps {
    return {
      kind: 'per-op',
      link_external_spt: (t, gfn, level, child) => tdx_sept_link_private_spt(kt, t, gfn, level, child),
      set_external_spte: (t, gfn, level, spte) => tdx_sept_set_private_spte(kt, t, gfn, level, spte, MAX_PRIVATE_LEVEL),
      split_external_spte: (t, gfn, level, old, child, shared) => tdx_sept_split_private_spte(kt, t, gfn, level, old, child, shared),
      remove_external_spte: (t, gfn, level, spte) => tdx_sept_remove_private_spte(kt, t, gfn, level, spte, MAX_PRIVATE_LEVEL),
      free_external_spt: (t, gfn, level, sp) => tdx_sept_free_private_spt(kt, t, gfn, level, sp),
    };
  },
};
