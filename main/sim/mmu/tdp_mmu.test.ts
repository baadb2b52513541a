// Pins the TDP MMU model to the kernel's semantics (issue 3, "Done when").
import { describe, expect, it } from 'vitest';
import { EBUSY, EIO, type Proc } from '../proc.ts';
import { runThreads } from '../scheduler.ts';
import { PrngChoice } from '../choice_source.ts';
import { Prng } from '../prng.ts';
import { write_lock, write_unlock } from '../mmu_lock.ts';
import { PAGE_DIRECT_SPT, PAGE_EXTERNAL_SPT, PAGE_MIRROR_SPT } from '../host_memory.ts';
import { StubRecorder, makeTestVm, perOpStubOps, runAlone, unifiedStubOps, type TestVm } from './test_stub_ops.ts';
import {
  KVM_FILTER_ALL,
  faultWithRetries,
  kvm_mmu_uninit_tdp_mmu,
  kvm_tdp_mmu_age_spte,
  kvm_tdp_mmu_zap_possible_nx_huge_page,
  probe_map_under_write_lock,
  probe_promote,
  probe_wrprot_leaf_write_locked,
  splitCrossBoundaryLeafs,
  unmapGfnRange,
} from './mmu_paths.ts';
import { KVM_FILTER_PRIVATE } from './kvm_mmu.ts';
import { RET_PF_FIXED, RET_PF_RETRY, RET_PF_SPURIOUS } from './tdp_mmu_map.ts';
import { newTdpIter, tdp_iter_in_range, tdp_iter_next, tdp_iter_start } from './tdp_iter.ts';
import { tdp_mmu_iter_set_spte } from './tdp_mmu_set_spte.ts';
import type { ExternalOps, PerOpExternalOps } from './external_ops.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import { get_external_spt, set_external_spte_present } from './external_calls.ts';
import { FROZEN_SPTE, SHADOW_NONPRESENT_VALUE, VMX_EPT_ACCESS_BIT, is_frozen_spte, is_shadow_present_pte } from '../../../shared/spte.ts';

type Kind = 'per-op' | 'mainline-4k' | 'unified' | 'unified-single-hook';
const KINDS: Kind[] = ['per-op', 'mainline-4k', 'unified', 'unified-single-hook'];

function opsFor(kind: Kind, rec: StubRecorder): ExternalOps {
  switch (kind) {
    case 'per-op':
      return perOpStubOps(rec, true);
    case 'mainline-4k':
      return perOpStubOps(rec, false);
    case 'unified':
      return unifiedStubOps(rec, false);
    case 'unified-single-hook':
      return unifiedStubOps(rec, true);
  }
}

function vmFor(kind: Kind, options: Parameters<typeof makeTestVm>[1] = {}): { vm: TestVm; rec: StubRecorder } {
  const rec = new StubRecorder();
  return { vm: makeTestVm(opsFor(kind, rec), options), rec };
}

function fault(vm: TestVm, gfn: number, isPrivate = true, thread = 0, maxLevel = 1): Proc<{ ret: number; retries: number }> {
  return faultWithRetries(vm.kvm, vm.threads[thread], { gfn, isPrivate, pfn: vm.guestPfn + gfn, maxLevel }, 100);
}

function hookTrace(rec: StubRecorder): string[] {
  return rec.calls.map((c) => `${c.hook}(${c.gfn},${c.level})`);
}

describe('first private 4K fault in a fresh 4-level VM', () => {
  it.each([
    { kind: 'per-op' as Kind, want: ['link_external_spt(0,4)', 'link_external_spt(0,3)', 'link_external_spt(0,2)', 'set_external_spte(5,1)'] },
    { kind: 'mainline-4k' as Kind, want: ['link_external_spt(0,4)', 'link_external_spt(0,3)', 'link_external_spt(0,2)', 'set_external_spte(5,1)'] },
    { kind: 'unified' as Kind, want: ['set_external_spte(0,4)', 'set_external_spte(0,3)', 'set_external_spte(0,2)', 'set_external_spte(5,1)'] },
  ])('$kind reaches the right hooks in order', ({ kind, want }) => {
    const { vm, rec } = vmFor(kind);
    expect(runAlone(fault(vm, 5))).toEqual({ ret: RET_PF_FIXED, retries: 0 });
    expect(hookTrace(rec)).toEqual(want);
    expect(vm.kvm.stats.pages[1]).toBe(1);
    expect(vm.kvm.stats.tdp_mmu_pages).toBe(3);
    // Every hook event names its call site and status.
    const hookEvents = vm.ctx.events.events().filter((e) => e.layer === 'hook');
    expect(hookEvents.map((e) => e.detail)).toEqual(kind === 'unified' ? Array(4).fill('handle_changed_spte') : Array(4).fill('set_external_spte_present'));
    expect(hookEvents.every((e) => e.status === '0')).toBe(true);
    // A second fault on the same GFN is spurious and calls nothing.
    expect(runAlone(fault(vm, 5)).ret).toBe(RET_PF_SPURIOUS);
    expect(rec.calls.length).toBe(4);
  });

  it('a shared fault goes to the direct root (shared bit at index >= 256) and calls no hook', () => {
    const { vm, rec } = vmFor('per-op');
    expect(runAlone(fault(vm, 5, false)).ret).toBe(RET_PF_FIXED);
    expect(rec.calls.length).toBe(0);
    const direct = vm.kvm.validRoot(false);
    expect(direct?.spt.findIndex((s) => is_shadow_present_pte(s))).toBe(256);
    expect(vm.kvm.readSpte('direct', 5, 1)).not.toBeNull();
    expect(vm.kvm.readSpte('mirror', 5, 1)).toBeNull();
  });

  it('5-level roots put the shared bit (GFN bit 39, index bit 3 at level 5) at root index 8', () => {
    const { vm } = vmFor('unified', { rootLevel: 5 });
    runAlone(fault(vm, 5, false));
    expect(vm.kvm.validRoot(false)?.spt.findIndex((s) => is_shadow_present_pte(s))).toBe(8);
  });

  it('a missing hook is recorded as absent and acts as RET0', () => {
    const rec = new StubRecorder();
    const vm = makeTestVm({ kind: 'unified', nonleafRemovalViaSetExternal: false });
    expect(runAlone(fault(vm, 5)).ret).toBe(RET_PF_FIXED);
    const absent = vm.ctx.events.events().filter((e) => e.layer === 'hook');
    expect(absent.length).toBe(4);
    expect(absent.every((e) => e.status === 'absent')).toBe(true);
    expect(vm.ctx.metrics.hookCalls['set_external_spte@handle_changed_spte']).toBe(4);
    expect(rec.calls.length).toBe(0);
  });
});

describe('two vCPUs racing to link the same missing tables', () => {
  it.each(['per-op', 'unified'] as Kind[])('%s: exactly one link per table in each of 50 seeds; losers retry', (kind) => {
    let seedsWithRetry = 0;
    for (let seed = 0; seed < 50; seed++) {
      const { vm, rec } = vmFor(kind, { threadCount: 2 });
      const threads = [0, 1].map((i) => ({ thread: vm.threads[i], proc: fault(vm, 8 + i, true, i) }));
      const r = runThreads(vm.ctx, threads, new PrngChoice(new Prng(seed)), { stepsMax: 10_000 });
      expect(r.outcome, `seed=${seed}`).toBe('completed');
      const linkHook = kind === 'per-op' ? 'link_external_spt' : 'set_external_spte';
      const links = rec.calls.filter((c) => c.hook === linkHook && c.level > 1).map((c) => c.level).sort();
      expect(links, `seed=${seed}`).toEqual([2, 3, 4]);
      expect(vm.kvm.stats.tdp_mmu_pages, `seed=${seed}`).toBe(3);
      expect(vm.kvm.stats.pages[1], `seed=${seed}`).toBe(2);
      const results = r.results as { ret: number; retries: number }[];
      expect(results.map((x) => x.ret)).toEqual([RET_PF_FIXED, RET_PF_FIXED]);
      const retries = results[0].retries + results[1].retries;
      const lostRaces = vm.ctx.events.events().filter((e) => e.name === 'try_cmpxchg64' && e.status === '-EBUSY').length;
      if (retries > 0) {
        seedsWithRetry++;
        // A retry means the loser saw FROZEN_SPTE or lost a cmpxchg, and its table was freed unlinked.
        expect(lostRaces + retries).toBeGreaterThan(0);
      }
      // Nothing is left frozen, and unlinked-but-allocated tables were returned.
      for (const sp of vm.kvm.spByPfn.values()) expect(sp.spt.some((s) => is_frozen_spte(s))).toBe(false);
      expect(vm.kvm.host.inUse[PAGE_MIRROR_SPT]).toBe(4);
      expect(vm.kvm.host.inUse[PAGE_EXTERNAL_SPT]).toBe(3);
    }
    expect(seedsWithRetry).toBeGreaterThan(5);
  });
});

/** Maps three 4K leaves under one 2M table, then removes that table under write lock. */
function* removeTableWithLeaves(vm: TestVm): Proc<void> {
  const { kvm } = vm;
  const t = vm.threads[0];
  for (const gfn of [1, 2, 3]) yield* fault(vm, gfn);
  yield* write_lock(kvm.ctx, kvm.mmu_lock, t);
  kvm.rcu.rcu_read_lock(t);
  const root = kvm.validRoot(true);
  if (root === null) throw new Error('no root');
  const iter = newTdpIter(root);
  tdp_iter_start(kvm, iter, root, 2, 0, 0);
  while (tdp_iter_in_range(iter, 1) && iter.level > 2) tdp_iter_next(kvm, iter);
  yield* tdp_mmu_iter_set_spte(kvm, t, iter, SHADOW_NONPRESENT_VALUE);
  kvm.rcu.rcu_read_unlock(t);
  yield* write_unlock(kvm.ctx, kvm.mmu_lock, t);
}

describe('handle_removed_pt', () => {
  it.each([
    { kind: 'per-op' as Kind, want: ['remove_external_spte(1,1)', 'remove_external_spte(2,1)', 'remove_external_spte(3,1)', 'free_external_spt(0,1)'] },
    { kind: 'unified' as Kind, want: ['set_external_spte(1,1)', 'set_external_spte(2,1)', 'set_external_spte(3,1)', 'free_external_spt(0,1)'] },
    { kind: 'unified-single-hook' as Kind, want: ['set_external_spte(0,2)', 'set_external_spte(1,1)', 'set_external_spte(2,1)', 'set_external_spte(3,1)'] },
  ])('$kind: visits the children before the per-table hook', ({ kind, want }) => {
    const { vm, rec } = vmFor(kind);
    runAlone(removeTableWithLeaves(vm));
    const after = hookTrace(rec).slice(6);
    expect(after).toEqual(want);
    if (kind !== 'per-op') {
      const leafCalls = rec.calls.slice(6).filter((c) => c.hook === 'set_external_spte' && c.level === 1);
      expect(leafCalls.length).toBe(3);
      expect(leafCalls.every((c) => c.new === FROZEN_SPTE)).toBe(true);
    }
    expect(vm.kvm.stats.pages[1]).toBe(0);
    expect(vm.kvm.stats.tdp_mmu_pages).toBe(2);
    // The table is freed through RCU, after the writer's own read-side section ended.
    const names = vm.ctx.events.events().map((e) => e.name);
    expect(names.indexOf('call_rcu')).toBeLessThan(names.indexOf('tdp_mmu_free_sp_rcu_callback'));
    expect([...vm.kvm.spByPfn.values()].some((sp) => sp.role.level === 1)).toBe(false);
  });
});

describe('failed external update', () => {
  it.each(['per-op', 'unified'] as Kind[])('%s: restores the old SPTE, leaves stats untouched, retries', (kind) => {
    const { vm, rec } = vmFor(kind);
    runAlone(fault(vm, 1));
    rec.fail('set_external_spte', -EBUSY);
    const pagesBefore = vm.kvm.stats.pages.slice();
    const r = runAlone(fault(vm, 2));
    expect(r).toEqual({ ret: RET_PF_FIXED, retries: 1 });
    const events = vm.ctx.events.events();
    const restore = events.find((e) => e.status === 'restore');
    expect(restore?.old).toBe(FROZEN_SPTE);
    expect(restore?.new).toBe(SHADOW_NONPRESENT_VALUE);
    // The failed attempt's span ended -EBUSY and no stats moved before the retry.
    const failedSpan = events.find((e) => e.name === 'tdp_mmu_set_spte_atomic' && e.status === '-EBUSY');
    expect(failedSpan).toBeDefined();
    expect(vm.kvm.stats.pages[1]).toBe(pagesBefore[1] + 1);
    expect(vm.ctx.metrics.retries).toBe(1);
  });

  it('a single failing call leaves the SPTE non-present and the stats unchanged', () => {
    const { vm, rec } = vmFor('unified');
    runAlone(fault(vm, 1));
    rec.fail('set_external_spte', -EBUSY, 1000);
    const r = runAlone(faultWithRetries(vm.kvm, vm.threads[0], { gfn: 2, isPrivate: true, pfn: vm.guestPfn + 2 }, 0));
    expect(r.ret).toBe(RET_PF_RETRY);
    expect(vm.kvm.readSpte('mirror', 2, 1)).toBe(SHADOW_NONPRESENT_VALUE);
    expect(vm.kvm.stats.pages[1]).toBe(1);
    expect(vm.ctx.vmBugged).toBe(false);
  });
});

describe('modeled kernel checks', () => {
  it('a present leaf changing PFN is BUG()', () => {
    // A write fault on a write-protected leaf is not spurious: it builds a new SPTE, here for
    // another pfn, and handle_changed_spte() crashes the host.
    const { vm } = vmFor('unified');
    runAlone(fault(vm, 5, false));
    expect(runAlone(probe_wrprot_leaf_write_locked(vm.kvm, vm.threads[0], 5, false))).toBe('done');
    runAlone(faultWithRetries(vm.kvm, vm.threads[0], { gfn: 5, isPrivate: false, pfn: vm.guestPfn + 77 }, 0));
    expect(vm.ctx.hostBug?.site).toBe('handle_changed_spte');
  });

  it('a refault on a present writable leaf is spurious, and WARNs if it asks for another pfn (v6.18)', () => {
    const { vm } = vmFor('unified');
    runAlone(fault(vm, 5, false));
    const before = vm.kvm.readSpte('direct', 5, 1);
    const r = runAlone(faultWithRetries(vm.kvm, vm.threads[0], { gfn: 5, isPrivate: false, pfn: vm.guestPfn + 77 }, 0));
    expect(r.ret).toBe(RET_PF_SPURIOUS);
    expect(vm.ctx.hostBug).toBeNull();
    expect(vm.ctx.metrics.warns['tdp_mmu_map_handle_target_level']).toBe(1);
    expect(vm.kvm.readSpte('direct', 5, 1)).toBe(before);
  });

  it('map under write lock: per-op [B26] bugs the VM, unified reaches set_external_spte', () => {
    for (const kind of ['mainline-4k', 'per-op', 'unified'] as Kind[]) {
      const { vm, rec } = vmFor(kind);
      runAlone(probe_map_under_write_lock(vm.kvm, vm.threads[0], 5, true, vm.guestPfn + 5));
      if (kind === 'unified') {
        expect(vm.ctx.vmBugged).toBe(false);
        expect(hookTrace(rec)).toEqual(['set_external_spte(0,4)', 'set_external_spte(0,3)', 'set_external_spte(0,2)', 'set_external_spte(5,1)']);
      } else {
        expect(vm.ctx.vmBugged).toBe(true);
        expect(vm.ctx.metrics.bugs[0].site).toBe('tdp_mmu_set_spte');
      }
    }
  });

  it('wrprot of a mirror leaf under write lock: [B26] bugs and removes, [V3] bugs, unified routes old->new', () => {
    const cases: { kind: Kind; bugged: boolean; last: string }[] = [
      { kind: 'mainline-4k', bugged: true, last: 'remove_external_spte(5,1)' },
      { kind: 'per-op', bugged: true, last: 'set_external_spte(5,1)' },
      { kind: 'unified', bugged: false, last: 'set_external_spte(5,1)' },
    ];
    for (const c of cases) {
      const { vm, rec } = vmFor(c.kind);
      runAlone(fault(vm, 5));
      const before = rec.calls.length;
      expect(runAlone(probe_wrprot_leaf_write_locked(vm.kvm, vm.threads[0], 5, true))).toBe('done');
      expect(vm.ctx.vmBugged, c.kind).toBe(c.bugged);
      expect(hookTrace(rec).at(-1), c.kind).toBe(c.last);
      expect(rec.calls.length - before, c.kind).toBe(c.kind === 'per-op' ? 0 : 1);
    }
  });

  it('aging bypasses every hook: per-op clears the accessed bit silently (H2); unified WARNs and returns ([UNI])', () => {
    for (const kind of KINDS) {
      const { vm, rec } = vmFor(kind);
      runAlone(fault(vm, 5));
      const before = rec.calls.length;
      const old = vm.kvm.readSpte('mirror', 5, 1) as number;
      expect(old & VMX_EPT_ACCESS_BIT, kind).not.toBe(0);
      const unified = kind === 'unified' || kind === 'unified-single-hook';
      expect(runAlone(kvm_tdp_mmu_age_spte(vm.kvm, vm.threads[0], 5, true)), kind).toBe(unified ? 'disallowed' : 'done');
      // [UNI] kvm_tdp_mmu_age_spte(): `if (WARN_ON_ONCE(is_mirror_sptep(...))) return;`
      expect(vm.kvm.readSpte('mirror', 5, 1), kind).toBe(unified ? old : old - VMX_EPT_ACCESS_BIT);
      expect(rec.calls.length, kind).toBe(before);
      expect(vm.ctx.metrics.warns['kvm_tdp_mmu_age_spte'] ?? 0, kind).toBe(unified ? 1 : 0);
      expect(vm.ctx.vmBugged, kind).toBe(false);
    }
  });

  it('aging skips a leaf that is not accessed, before the mirror WARN (__kvm_tdp_mmu_age_gfn_range)', () => {
    // per-op: the second age finds the accessed bit already clear and writes nothing.
    const perop = vmFor('per-op');
    runAlone(fault(perop.vm, 5));
    expect(runAlone(kvm_tdp_mmu_age_spte(perop.vm.kvm, perop.vm.threads[0], 5, true))).toBe('done');
    const aged = perop.vm.kvm.readSpte('mirror', 5, 1);
    const writes = perop.vm.ctx.events.events().length;
    expect(runAlone(kvm_tdp_mmu_age_spte(perop.vm.kvm, perop.vm.threads[0], 5, true))).toBe('not-accessed');
    expect(perop.vm.kvm.readSpte('mirror', 5, 1)).toBe(aged);
    expect(perop.vm.ctx.events.events().slice(writes).filter((e) => e.tree !== 'none')).toEqual([]);
    // unified: a shared leaf ages without a WARN; a mirror leaf that is not young is skipped
    // before kvm_tdp_mmu_age_spte() is reached, so it does not WARN either.
    const { vm } = vmFor('unified');
    runAlone(fault(vm, 5, false));
    runAlone(fault(vm, 6));
    expect(runAlone(kvm_tdp_mmu_age_spte(vm.kvm, vm.threads[0], 5, false))).toBe('done');
    expect(runAlone(kvm_tdp_mmu_age_spte(vm.kvm, vm.threads[0], 5, false))).toBe('not-accessed');
    const leafTable = [...vm.kvm.spByPfn.values()].find((sp) => sp.role.is_mirror && sp.role.level === 1 && sp.gfn === 0) as kvm_mmu_page;
    leafTable.spt[6] -= VMX_EPT_ACCESS_BIT;
    expect(runAlone(kvm_tdp_mmu_age_spte(vm.kvm, vm.threads[0], 6, true))).toBe('not-accessed');
    expect(vm.ctx.metrics.warns['kvm_tdp_mmu_age_spte'] ?? 0).toBe(0);
  });

  it('non-leaf zap under read lock: per-op bugs before anything changes; unified freezes and removes leaves', () => {
    const perop = vmFor('per-op');
    runAlone(fault(perop.vm, 5));
    const r1 = runAlone(kvm_tdp_mmu_zap_possible_nx_huge_page(perop.vm.kvm, perop.vm.threads[0], 0, 2, true));
    expect(r1).toBe('-EBUSY');
    expect(perop.vm.ctx.vmBugged).toBe(true);
    expect(perop.vm.kvm.readSpte('mirror', 5, 1)).not.toBe(SHADOW_NONPRESENT_VALUE);
    const uni = vmFor('unified');
    runAlone(fault(uni.vm, 5));
    const r2 = runAlone(kvm_tdp_mmu_zap_possible_nx_huge_page(uni.vm.kvm, uni.vm.threads[0], 0, 2, true));
    expect(r2).toBe('done');
    expect(hookTrace(uni.rec).slice(4)).toEqual(['set_external_spte(5,1)', 'free_external_spt(0,1)']);
    expect(uni.vm.kvm.readSpte('mirror', 0, 2)).toBe(SHADOW_NONPRESENT_VALUE);
  });

  it('promotion is disallowed for mirror roots, in the probe and in the fault path', () => {
    const { vm, rec } = vmFor('unified', { privateHugePages: true });
    runAlone(fault(vm, 5));
    expect(runAlone(probe_promote(vm.kvm, vm.threads[0], 0, 2, true))).toBe('disallowed');
    // A 2M-capable fault over an existing table maps at 4K (disallowed_hugepage_adjust).
    runAlone(fault(vm, 7, true, 0, 2));
    expect(rec.calls.at(-1)?.level).toBe(1);
  });
});

describe('get_external_spt and set_external_spte_present ([LN]/[B26] tdp_mmu.c)', () => {
  it('WARN_ON_ONCE on a table of the wrong level or gfn, and still return it: the MMU links it anyway', () => {
    const { vm, rec } = vmFor('per-op');
    runAlone(fault(vm, 5));
    const t = vm.threads[0];
    const pt = [...vm.kvm.spByPfn.values()].find((sp) => sp.role.is_mirror && sp.role.level === 1 && sp.gfn === 0) as kvm_mmu_page;
    const nonleaf = vm.kvm.readSpte('mirror', 0, 2) as number;
    expect(get_external_spt(vm.kvm, t, 0, nonleaf, 2)).toBe(pt);
    expect(vm.ctx.metrics.warns).toEqual({});
    expect(get_external_spt(vm.kvm, t, 512, nonleaf, 2)).toBe(pt);
    expect(vm.ctx.metrics.warns['get_external_spt:gfn']).toBe(1);
    expect(get_external_spt(vm.kvm, t, 0, nonleaf, 3)).toBe(pt);
    expect(vm.ctx.metrics.warns['get_external_spt:level']).toBe(1);
    // A leaf or a non-present SPTE has no child table.
    expect(get_external_spt(vm.kvm, t, 5, vm.kvm.readSpte('mirror', 5, 1) as number, 1)).toBeNull();
    expect(get_external_spt(vm.kvm, t, 512, SHADOW_NONPRESENT_VALUE, 2)).toBeNull();
    // set_external_spte_present() hands the mismatched table to link_external_spt: only WARNs.
    const before = rec.calls.length;
    const ops = vm.kvm.config.ops as PerOpExternalOps;
    expect(runAlone(set_external_spte_present(vm.kvm, t, ops, 512, SHADOW_NONPRESENT_VALUE, nonleaf, 2))).toBe(0);
    expect(rec.calls.slice(before).map((c) => [c.hook, c.gfn, c.level, c.sp])).toEqual([['link_external_spt', 512, 2, pt.id]]);
    expect(vm.ctx.vmBugged).toBe(false);
  });

  it('a table without an S-EPT page is the MMU\'s KVM_BUG_ON, before any hook', () => {
    const { vm, rec } = vmFor('per-op');
    runAlone(fault(vm, 5, false));
    const before = rec.calls.length;
    // A direct table has no external_spt.
    const nonleaf = vm.kvm.readSpte('direct', 0, 2) as number;
    const r = runAlone(set_external_spte_present(vm.kvm, vm.threads[0], vm.kvm.config.ops as PerOpExternalOps, 0, SHADOW_NONPRESENT_VALUE, nonleaf, 2));
    expect(r).toBe(-EIO);
    expect(rec.calls.length).toBe(before);
    expect(vm.ctx.metrics.bugs.map((b) => b.site)).toEqual(['set_external_spte_present']);
  });
});

describe('zap and split under write lock', () => {
  it.each([
    { kind: 'per-op' as Kind, hook: 'remove_external_spte' },
    { kind: 'unified' as Kind, hook: 'set_external_spte' },
  ])('$kind: a range zap removes leaves and leaves page tables in place', ({ kind, hook }) => {
    const { vm, rec } = vmFor(kind);
    for (const gfn of [1, 2, 600]) runAlone(fault(vm, gfn));
    runAlone(fault(vm, 1, false));
    const before = rec.calls.length;
    runAlone(unmapGfnRange(vm.kvm, vm.threads[0], { gfnStart: 0, gfnEnd: 1024, filter: KVM_FILTER_PRIVATE }));
    expect(rec.calls.slice(before).map((c) => `${c.hook}(${c.gfn})`)).toEqual([`${hook}(1)`, `${hook}(2)`, `${hook}(600)`]);
    expect(vm.kvm.stats.tdp_mmu_pages).toBe(7);
    expect(is_shadow_present_pte(vm.kvm.readSpte('mirror', 0, 2) ?? 0)).toBe(true);
    expect(vm.kvm.readSpte('mirror', 1, 1)).toBe(SHADOW_NONPRESENT_VALUE);
    // The shared mapping was not in the filter.
    expect(is_shadow_present_pte(vm.kvm.readSpte('direct', 1, 1) ?? 0)).toBe(true);
    expect(vm.kvm.stats.pages[1]).toBe(1);
  });

  it.each([
    { kind: 'per-op' as Kind, want: 'split_external_spte(0,2)' },
    { kind: 'unified' as Kind, want: 'set_external_spte(0,2)' },
  ])('$kind: a 2M private leaf splits across a boundary before a partial zap', ({ kind, want }) => {
    const { vm, rec } = vmFor(kind, { privateHugePages: true });
    runAlone(fault(vm, 3, true, 0, 2));
    expect(hookTrace(rec).at(-1)).toBe('set_external_spte(0,2)');
    expect(vm.kvm.stats.pages[2]).toBe(1);
    runAlone(splitCrossBoundaryLeafs(vm.kvm, vm.threads[0], { gfnStart: 3, gfnEnd: 4, filter: KVM_FILTER_PRIVATE }));
    expect(hookTrace(rec).at(-1)).toBe(want);
    expect(vm.kvm.stats.pages[2]).toBe(0);
    expect(vm.kvm.stats.pages[1]).toBe(512);
    const fills = vm.ctx.events.events().filter((e) => e.name === 'fill');
    expect(fills.length).toBe(512);
    expect(fills.every((e) => e.tree === 'mirror' && e.level === 1)).toBe(true);
    expect(vm.kvm.readSpte('mirror', 3, 1)).toBe(fills[3].new);
  });
});

describe('teardown', () => {
  it.each(['per-op', 'unified', 'unified-single-hook'] as Kind[])('%s: kvm_mmu_uninit_tdp_mmu frees every table after RCU', (kind) => {
    const { vm, rec } = vmFor(kind);
    for (const gfn of [1, 2, 3]) runAlone(fault(vm, gfn));
    runAlone(fault(vm, 1, false));
    runAlone(unmapGfnRange(vm.kvm, vm.threads[0], { gfnStart: 0, gfnEnd: 1 << 20, filter: KVM_FILTER_ALL }));
    const before = rec.calls.length;
    runAlone(kvm_mmu_uninit_tdp_mmu(vm.kvm, vm.threads[0]));
    const frees = rec.calls.slice(before).map((c) => `${c.hook}(${c.level})`);
    if (kind === 'unified-single-hook') expect(frees).toEqual(['set_external_spte(2)', 'set_external_spte(3)', 'set_external_spte(4)']);
    else expect(frees).toEqual(['free_external_spt(1)', 'free_external_spt(2)', 'free_external_spt(3)']);
    expect(vm.kvm.spByPfn.size).toBe(0);
    expect(vm.kvm.host.inUse[PAGE_MIRROR_SPT]).toBe(0);
    expect(vm.kvm.host.inUse[PAGE_DIRECT_SPT]).toBe(0);
    expect(vm.kvm.host.inUse[PAGE_EXTERNAL_SPT]).toBe(0);
    expect(vm.ctx.metrics.warns).toEqual({});
    expect(vm.kvm.rcu.pending.length).toBe(0);
  });
});

describe('snapshots', () => {
  it('clone() hashes equal and is independent', () => {
    const { vm } = vmFor('unified');
    runAlone(fault(vm, 5));
    const copy = vm.kvm.clone(vm.ctx);
    expect(copy.hashState()).toBe(vm.kvm.hashState());
    const t = vm.threads[0];
    runAlone(faultWithRetries(copy, t, { gfn: 6, isPrivate: true, pfn: vm.guestPfn + 6 }, 10));
    expect(copy.hashState()).not.toBe(vm.kvm.hashState());
    expect(vm.kvm.readSpte('mirror', 6, 1)).toBe(SHADOW_NONPRESENT_VALUE);
  });

  it('forEachPresentLeaf lists leaves in GFN order', () => {
    const { vm } = vmFor('per-op');
    for (const gfn of [600, 2, 1]) runAlone(fault(vm, gfn));
    const leaves: number[] = [];
    vm.kvm.forEachPresentLeaf('mirror', (gfn, level) => leaves.push(gfn * 10 + level));
    expect(leaves).toEqual([11, 21, 6001]);
  });
});

it('every kind runs the same op list to completion', () => {
  for (const kind of KINDS) {
    const { vm } = vmFor(kind);
    runAlone(fault(vm, 9));
    expect(vm.ctx.vmBugged, kind).toBe(false);
  }
});
