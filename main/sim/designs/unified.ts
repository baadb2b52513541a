// Design `unified`: Sean Christopherson's single funnel ([SC] 2026-01-28, refined in [UNI] and
// landed in kvm-x86 [KX]). Every mirror SPTE change reaches one hook,
// set_external_spte(gfn, old, new, level), from __handle_changed_spte(): the atomic path freezes
// the SPTE, calls it and restores old on failure; the write-lock path writes first and
// KVM_BUG_ONs a failure. One dedicated hook stays, free_external_spt(sp), called after
// handle_removed_pt() has removed the children, because the TDX module requires leaves gone
// before their table ([SC]: funnelling it would mean acting after call_rcu() or moving it).
import type { UnifiedExternalOps } from '../mmu/external_ops.ts';
import type { Design } from './design.ts';
import type { KvmTdx } from './kvm_tdx.ts';
import { tdx_sept_free_private_spt, tdx_sept_set_private_spte } from './tdx_glue_kx.ts';

export const unifiedDesign: Design = {
  id: 'unified',
  title: 'Unified callback (set_external_spte(old, new) + free_external_spt)',
  summary:
    'One set_external_spte(gfn, old, new, level) called from __handle_changed_spte() for every mirror change, ' +
    'with the SPTE frozen around it in the atomic path and old restored on failure; TDX dispatches on (old, new): ' +
    'split, remove, link or map. A dedicated free_external_spt(sp) runs after the children are gone. ' +
    '[SC], [UNI], [KX]; kernel-mmu.md 3.1-3.3, 4.4, 5.3.',
  sources: ['[SC] aXqPym6QSFQTn9Cy@google.com', '[UNI]', '[KX] vmx/tdx.c @09c6f74ecb86', '[V5] split'],
  surface: {
    hooks: ['set_external_spte', 'free_external_spt'],
    mmuCallSites: ['handle_changed_spte: set_external_spte', 'handle_removed_pt: free_external_spt'],
    tdxChecks: [
      'set: lockdep_assert_held',
      'set: KVM_BUG_ON(!is_shadow_present_pte(new)) when old is not present',
      'split: lockdep_assert_held_write',
      // [KX] before [V5] refuses every present -> present change in tdx_sept_set_private_spte()
      // (KVM_BUG_ON, "TODO: Support ... demotion"); [V5] 39/45 sends it to the split, whose
      // tdx_spte_to_external_spt() would treat a leaf new SPTE as a table. The model keeps
      // [KX]'s refusal for anything but a 2M leaf becoming a table.
      'split: KVM_BUG_ON(present -> present unless a 2M leaf becomes a table) ([KX]; [V5] has no such check)',
      'split: tdx_spte_to_external_spt() level/gfn checks',
      'map: tdx_spte_to_sept_pt() level/gfn checks',
      'map: KVM_BUG_ON(level > PG_LEVEL_2M)',
      'map: WARN_ON_ONCE(!RWX)',
      'remove: lockdep_assert_held_write',
      'remove: KVM_BUG_ON(!is_hkid_assigned)',
      'free: KVM_BUG_ON(is_hkid_assigned)',
    ],
  },
  supportsPrivateHugePages: true,
  makeOps(kt: KvmTdx): UnifiedExternalOps {
    return {
      kind: 'unified',
      set_external_spte: (t, gfn, old, nw, level) => tdx_sept_set_private_spte(kt, t, gfn, old, nw, level, { nonleafRemoval: false }),
      free_external_spt: (t, sp) => tdx_sept_free_private_spt(kt, t, sp),
      nonleafRemovalViaSetExternal: false,
    };
  },
};
