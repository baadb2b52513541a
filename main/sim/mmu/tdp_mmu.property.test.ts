// Property tests: random operation lists on random schedules never throw, always end in a
// recorded outcome, and the same seed gives the same event hash. Reproduce a failure with the
// printed fast-check seed/path, or with the `seed` in the failing case.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Proc } from '../proc.ts';
import { runThreads, type SchedOutcome } from '../scheduler.ts';
import { PrngChoice } from '../choice_source.ts';
import { Prng } from '../prng.ts';
import { newSimThread } from '../sim_thread.ts';
import { StubRecorder, makeTestVm, perOpStubOps, unifiedStubOps, type TestVm } from './test_stub_ops.ts';
import {
  KVM_FILTER_ALL,
  faultWithRetries,
  kvm_mmu_uninit_tdp_mmu,
  kvm_tdp_mmu_age_spte,
  kvm_tdp_mmu_zap_possible_nx_huge_page,
  probe_map_under_write_lock,
  probe_promote,
  probe_wrprot_leaf_read_locked,
  probe_wrprot_leaf_write_locked,
  splitCrossBoundaryLeafs,
  splitRange,
  unmapGfnRange,
  zapLeafs,
} from './mmu_paths.ts';
import { KVM_FILTER_PRIVATE, KVM_FILTER_SHARED } from './kvm_mmu.ts';
import { is_frozen_spte } from '../../../shared/spte.ts';

type Op =
  | { kind: 'fault'; gfn: number; isPrivate: boolean; maxLevel: number }
  | { kind: 'unmap'; gfn: number; pages: number; filter: number }
  | { kind: 'split-boundary'; gfn: number; pages: number }
  | { kind: 'split'; isPrivate: boolean }
  | { kind: 'zap-leafs'; gfn: number; pages: number }
  | { kind: 'wrprot-w' | 'wrprot-r' | 'age' | 'map-w'; gfn: number; isPrivate: boolean }
  | { kind: 'zap-nx' | 'promote'; gfn: number; isPrivate: boolean };

const gfnArb = fc.integer({ min: 0, max: 1535 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('fault' as const), gfn: gfnArb, isPrivate: fc.boolean(), maxLevel: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unmap' as const), gfn: gfnArb, pages: fc.integer({ min: 1, max: 600 }), filter: fc.constantFrom(KVM_FILTER_PRIVATE, KVM_FILTER_SHARED, KVM_FILTER_ALL) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('split-boundary' as const), gfn: gfnArb, pages: fc.integer({ min: 1, max: 600 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('split' as const), isPrivate: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('zap-leafs' as const), gfn: gfnArb, pages: fc.integer({ min: 1, max: 600 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('wrprot-w' as const, 'wrprot-r' as const, 'age' as const, 'map-w' as const), gfn: gfnArb, isPrivate: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('zap-nx' as const, 'promote' as const), gfn: gfnArb, isPrivate: fc.boolean() }) },
);

function* runOp(vm: TestVm, thread: number, op: Op): Proc<unknown> {
  const { kvm } = vm;
  const t = vm.threads[thread];
  switch (op.kind) {
    case 'fault':
      return yield* faultWithRetries(kvm, t, { gfn: op.gfn, isPrivate: op.isPrivate, pfn: vm.guestPfn + op.gfn, maxLevel: op.maxLevel }, 50);
    case 'unmap':
      return yield* unmapGfnRange(kvm, t, { gfnStart: op.gfn, gfnEnd: op.gfn + op.pages, filter: op.filter });
    case 'split-boundary':
      return yield* splitCrossBoundaryLeafs(kvm, t, { gfnStart: op.gfn, gfnEnd: op.gfn + op.pages, filter: KVM_FILTER_ALL });
    case 'split':
      return yield* splitRange(kvm, t, { gfnStart: 0, gfnEnd: 2048, isPrivate: op.isPrivate, targetLevel: 1 });
    case 'zap-leafs':
      return yield* zapLeafs(kvm, t, op.gfn, op.gfn + op.pages);
    case 'wrprot-w':
      return yield* probe_wrprot_leaf_write_locked(kvm, t, op.gfn, op.isPrivate);
    case 'wrprot-r':
      return yield* probe_wrprot_leaf_read_locked(kvm, t, op.gfn, op.isPrivate);
    case 'age':
      return yield* kvm_tdp_mmu_age_spte(kvm, t, op.gfn, op.isPrivate);
    case 'map-w':
      return yield* probe_map_under_write_lock(kvm, t, op.gfn, op.isPrivate, vm.guestPfn + op.gfn);
    case 'zap-nx':
      return yield* kvm_tdp_mmu_zap_possible_nx_huge_page(kvm, t, op.gfn - (op.gfn % 512), 1, op.isPrivate);
    case 'promote':
      return yield* probe_promote(kvm, t, op.gfn - (op.gfn % 512), 2, op.isPrivate);
  }
}

function* runList(vm: TestVm, thread: number, ops: Op[]): Proc<void> {
  for (const op of ops) {
    vm.ctx.events.setOp(thread, 0);
    vm.ctx.events.begin(thread, 'op', op.kind);
    yield* runOp(vm, thread, op);
    vm.ctx.events.end(thread);
    if (vm.ctx.hostBug !== null) return;
  }
}

type DesignKind = 'per-op' | 'mainline-4k' | 'unified' | 'unified-single-hook';

function simulate(design: DesignKind, lists: Op[][], seed: number, huge: boolean): { outcome: SchedOutcome; hash: string; stateHash: string; frozenLeft: boolean } {
  const rec = new StubRecorder(false);
  const ops = design === 'per-op' ? perOpStubOps(rec, true) : design === 'mainline-4k' ? perOpStubOps(rec, false) : unifiedStubOps(rec, design === 'unified-single-hook');
  const vm = makeTestVm(ops, { threadCount: lists.length + 1, privateHugePages: huge, keepEvents: false });
  const threads = lists.map((list, i) => ({ thread: vm.threads[i], proc: runList(vm, i, list) as Proc<unknown> }));
  const r = runThreads(vm.ctx, threads, new PrngChoice(new Prng(seed)), { stepsMax: 400_000, stallStepsMax: 2_000 });
  let frozenLeft = false;
  let outcome = r.outcome;
  if (outcome === 'completed' || outcome === 'vm-bugged') {
    // Teardown phase on its own thread, after the concurrent phase.
    const td = newSimThread(lists.length, 'teardown', -1);
    const r2 = runThreads(vm.ctx, [...lists.map((_, i) => ({ thread: vm.threads[i], proc: (function* () {})() as Proc<unknown> })), { thread: td, proc: kvm_mmu_uninit_tdp_mmu(vm.kvm, td) }], new PrngChoice(new Prng(seed)), { stepsMax: 400_000 });
    outcome = r2.outcome;
  }
  for (const sp of vm.kvm.spByPfn.values()) if (sp.spt.some((s) => is_frozen_spte(s)) && !sp.unlinked) frozenLeft = true;
  return { outcome, hash: vm.ctx.events.hash(), stateHash: vm.kvm.hashState(), frozenLeft };
}

const OUTCOMES: SchedOutcome[] = ['completed', 'vm-bugged', 'host-bug', 'livelock', 'deadlock'];

describe('random operation lists on random schedules', () => {
  it('never throw, always end in a recorded outcome, and replay to the same hash', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<DesignKind>('per-op', 'mainline-4k', 'unified', 'unified-single-hook'),
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.boolean(),
        (design, lists, seed, huge) => {
          const a = simulate(design, lists, seed, huge);
          expect(OUTCOMES).toContain(a.outcome);
          if (a.outcome === 'completed') expect(a.frozenLeft).toBe(false);
          const b = simulate(design, lists, seed, huge);
          expect(b.hash).toBe(a.hash);
          expect(b.stateHash).toBe(a.stateHash);
        },
      ),
      { numRuns: 60, seed: 20260301 },
    );
  });
});
