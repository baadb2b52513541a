// Pins the per-op designs' TDX-side check lists and that the [B26]
// link glue has no table checks (mmu tests may not import designs, so it lives here).
import { describe, expect, it } from 'vitest';
import { EventSink } from '../event_sink.ts';
import { SimContext } from '../sim_context.ts';
import { HostMemory, PAGE_TDX_CONTROL } from '../host_memory.ts';
import { newSimThread } from '../sim_thread.ts';
import { createTd } from '../tdx/td.ts';
import { tdh_mr_finalize } from '../tdx/tdh_mr_finalize.ts';
import { KvmMmu } from '../mmu/kvm_mmu.ts';
import type { PerOpExternalOps } from '../mmu/external_ops.ts';
import { KvmTdx } from './kvm_tdx.ts';
import { perOpDesign } from './per_op.ts';
import { mainline4kDesign } from './mainline_4k.ts';
import { unifiedDesign } from './unified.ts';

function runAlone<T>(p: Generator<unknown, T>): T {
  for (;;) { const r = p.next(); if (r.done === true) return r.value; }
}

describe('[B26] TDX glue for the per-op designs', () => {
  it('lists no link checks on the TDX side: [B26] tdx_sept_link_private_spt() gets a bare page', () => {
    for (const d of [perOpDesign, mainline4kDesign]) {
      expect(d.surface.tdxChecks.filter((c) => c.startsWith('link:')), d.id).toEqual([]);
      expect(d.surface.tdxChecks.join('|'), d.id).not.toMatch(/sp->gfn|sp->role\.level|external_spt/);
    }
    // The unified [KX] glue keeps tdx_spte_to_sept_pt()'s checks.
    expect(unifiedDesign.surface.tdxChecks).toContain('map: tdx_spte_to_sept_pt() level/gfn checks');
  });

  it.each([perOpDesign, mainline4kDesign])('$id: link_external_spt with a table for another gfn reaches TDH.MEM.SEPT.ADD, no KVM_BUG_ON', (design) => {
    const ctx = new SimContext(new EventSink({ keep: true }));
    const host = new HostMemory(65536);
    const page = (): number => host.alloc(PAGE_TDX_CONTROL);
    const td = createTd({ rootLevel: 4, tdrPfn: page(), tdcsPfns: [page(), page(), page(), page()], tdvprPfns: [page()], hkid: 1, enhanceDemoteInterruptibility: false, tdmrPfnEnd: 2 ** 28 });
    tdh_mr_finalize(td);
    const kt = new KvmTdx(ctx, td, host, 'runnable', { injections: [], runtimeTableRemoval: false });
    const ops = design.makeOps(kt) as PerOpExternalOps;
    const mmu = new KvmMmu(ctx, { rootLevel: 4, ops, privateHugePages: false, freezeUpdatesOldSpte: true }, host);
    kt.mmu = mmu;
    mmu.allocRoots();
    const root = mmu.validRoot(true)!;
    // A level-3 table made for root index 1 (gfn 2^27), handed to link for gfn 0.
    const wrong = mmu.allocChildSp(root, 1, 512 ** 3);
    const r = runAlone(ops.link_external_spt!(newSimThread(0, 'vcpu0', 0), 0, 4, wrong));
    expect(r).toBe(0);
    expect(ctx.metrics.bugs).toEqual([]);
    expect(ctx.events.events().filter((e) => e.layer === 'tdx').map((e) => `${e.name} ${e.status}`)).toContain('TDH.MEM.SEPT.ADD TDX_SUCCESS');
  });
});
