// Design `mainline-4k`: the callback-per-operation hooks as mainline had them before TDX huge
// page support ([B26], kvm-x86-next-2026.01.23; kernel-mmu.md 4.2). Private memory is mapped at
// 4K only: every TDX map and remove path KVM_BUG_ONs another level. There is no split hook, so
// tdp_mmu_set_spte() on a mirror SPTE only knows removal: KVM_BUG_ON(is_shadow_present_pte(new)),
// then remove_external_spte.
import type { PerOpExternalOps } from '../mmu/external_ops.ts';
import type { Design } from './design.ts';
import type { KvmTdx } from './kvm_tdx.ts';
import {
  PG_LEVEL_4K, tdx_sept_free_private_spt, tdx_sept_link_private_spt, tdx_sept_remove_private_spte, tdx_sept_set_private_spte,
} from './tdx_glue_b26.ts';

/** Upstream TDX maps private memory at 4K only. */
const MAX_PRIVATE_LEVEL = PG_LEVEL_4K;

export const mainline4kDesign: Design = {
  id: 'mainline-4k',
  title: 'Mainline before v3 (4K private memory, no split hook)',
  summary:
    'Callback per operation as merged upstream before the huge page series: link_external_spt and set_external_spte ' +
    'from set_external_spte_present() in the atomic path, remove_external_spte from tdp_mmu_set_spte() (which ' +
    'KVM_BUG_ONs any present new value) and per child in handle_removed_pt(), free_external_spt per table. ' +
    'Private memory is 4K only; a mirror split is impossible. The link hook gets a bare S-EPT page: its level/gfn ' +
    'sanity checks are the MMU\'s (get_external_spt() WARNs and links anyway). [B26]; kernel-mmu.md 3.1-3.3, 4.2, 5.3.',
  sources: ['[B26] tdp_mmu.c', '[B26] vmx/tdx.c', '[M16]'],
  surface: {
    hooks: ['link_external_spt', 'set_external_spte', 'remove_external_spte', 'free_external_spt'],
    mmuCallSites: [
      'set_external_spte_present: link_external_spt',
      'set_external_spte_present: set_external_spte',
      'tdp_mmu_set_spte: remove_external_spte',
      'handle_removed_pt: remove_external_spte',
      'handle_removed_pt: free_external_spt',
    ],
    tdxChecks: [
      // None for link: [B26] tdx_sept_link_private_spt() gets a bare page. The level/gfn checks
      // are the MMU's (get_external_spt() WARN_ON_ONCE, then links anyway) and so is
      // KVM_BUG_ON(!external_spt) (set_external_spte_present()).
      'set: KVM_BUG_ON(level != PG_LEVEL_4K)',
      'set: WARN_ON_ONCE(!RWX)',
      'remove: lockdep_assert_held_write',
      'remove: KVM_BUG_ON(!is_hkid_assigned)',
      'remove: KVM_BUG_ON(level != PG_LEVEL_4K)',
      'free: KVM_BUG_ON(is_hkid_assigned)',
    ],
  },
  supportsPrivateHugePages: false,
  makeOps(kt: KvmTdx): PerOpExternalOps {
    return {
      kind: 'per-op',
      link_external_spt: (t, gfn, level, child) => tdx_sept_link_private_spt(kt, t, gfn, level, child),
      set_external_spte: (t, gfn, level, spte) => tdx_sept_set_private_spte(kt, t, gfn, level, spte, MAX_PRIVATE_LEVEL),
      remove_external_spte: (t, gfn, level, spte) => tdx_sept_remove_private_spte(kt, t, gfn, level, spte, MAX_PRIVATE_LEVEL),
      free_external_spt: (t, gfn, level, sp) => tdx_sept_free_private_spt(kt, t, gfn, level, sp),
    };
  },
};
