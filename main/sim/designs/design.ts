// What a hook design is: data (its id, summary, sources, the surface it exposes) plus a small
// module that builds its hook table and KVM's TDX glue for one run. The registry
// (registry.ts) is a plain list; adding a design is one file and one line there.
//
// Rules to get into the registry (as Perfetto's default_plugins.ts states for plugins): a
// design uses only the exports of `../mmu/`, `../tdx/` and the shared KVM TDX helpers in
// `kvm_tdx.ts`; it never imports another design.
import type { DesignId } from '../../../shared/scenario.ts';
import type { ExternalOps } from '../mmu/external_ops.ts';
import type { KvmTdx } from './kvm_tdx.ts';

/** What engineers weigh when they argue about a design: how much it exposes and checks. */
export interface DesignSurface {
  /** Hooks in its kvm_x86_ops interface (kvm-x86-ops.h lines). */
  hooks: string[];
  /** MMU call sites that reach those hooks ("function: hook"). */
  mmuCallSites: string[];
  /** Sanity checks on the TDX side that exist only to catch the MMU calling the wrong hook. */
  tdxChecks: string[];
}

export interface Design {
  id: DesignId;
  title: string;
  /** One paragraph, with source tags from kernel-mmu.md. */
  summary: string;
  sources: string[];
  surface: DesignSurface;
  /** Whether KVM under this design may map private memory at 2M (TDX huge pages). */
  supportsPrivateHugePages: boolean;
  /** Builds the hook table bound to one run's KVM TDX state. */
  makeOps(kvmTdx: KvmTdx): ExternalOps;
}
