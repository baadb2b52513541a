// The engine end to end: the MMU model, the TDX module model and each design's glue, run on the
// built-in scenarios. Pins the golden SEAMCALL sequences of issue 5, the seed's argument in
// numbers, determinism, and (property tests) that the two main designs agree wherever both
// support the operations. Reproduce any failure with the seed in its message.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../../shared/event.ts';
import { DESIGN_IDS, type DesignId, type Op, type Scenario } from '../../shared/scenario.ts';
import { parseScenarioText, validateScenario } from '../../shared/scenario_validate.ts';
import { Exhaustigen, RoundRobinChoice, type ChoiceSource } from './choice_source.ts';
import { runScenario, type RunOptions, type RunResult } from './engine.ts';
import { kvm_tdp_mmu_map } from './mmu/tdp_mmu_map.ts';
import { tdp_mmu_set_spte_atomic } from './mmu/tdp_mmu_set_spte.ts';
import { runOp } from './ops/run_op.ts';
import { SEPTE_INIT_VALUE } from '../../shared/sept.ts';
import { SHADOW_NONPRESENT_VALUE, is_last_spte, is_shadow_present_pte } from '../../shared/spte.ts';
import { PAGES_PER_LEVEL, type KvmMmu } from './mmu/kvm_mmu.ts';
import type { kvm_mmu_page } from './mmu/kvm_mmu_page.ts';
import { sept_entry_get, sept_entry_gfn, type SeptPage, type Td } from './tdx/td.ts';

const SCENARIOS_DIR = join(import.meta.dirname, '..', '..', 'scenarios');

function builtin(name: string): Scenario {
  const r = parseScenarioText(readFileSync(join(SCENARIOS_DIR, `${name}.json`), 'utf8'));
  if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r.errors)}`);
  return r.scenario;
}

/** The built-in scenarios but the 1 GiB benchmark one (its runs take seconds). */
const BUILTIN_NAMES = readdirSync(SCENARIOS_DIR).filter((f) => f.endsWith('.json') && !f.includes('1gib')).map((f) => f.replace(/\.json$/, ''));

function run(name: string, design: DesignId, seed?: number): RunResult {
  return runScenario(builtin(name), { design, seed, keep: true });
}

/** The SEAMCALLs of a run (or of the events after `fromSeq`), as "NAME Ln STATUS". */
function seamcalls(events: SimEvent[], fromSeq = 0): string[] {
  return events.filter((e) => e.seq >= fromSeq && e.layer === 'tdx' && e.name.startsWith('TDH.') && e.name !== 'TDH.VP.ENTER').map((e) => `${e.name} L${e.level} ${e.status}`);
}

function firstOp(events: SimEvent[], name: string): SimEvent {
  const e = events.find((x) => x.layer === 'op' && x.name === name);
  if (e === undefined) throw new Error(`no op ${name}`);
  return e;
}

describe('golden SEAMCALL sequences (issue 5)', () => {
  it.each(['per-op', 'unified'] as const)('first private 4K fault in a fresh runnable 4-level TD: SEPT.ADD at 4, 3, 2 then AUG at 1 (%s)', (design) => {
    const r = run('first-private-fault-4k', design);
    expect(r.outcome.status).toBe('completed');
    expect(seamcalls(r.events ?? [])).toEqual(['TDH.MEM.SEPT.ADD L4 TDX_SUCCESS', 'TDH.MEM.SEPT.ADD L3 TDX_SUCCESS', 'TDH.MEM.SEPT.ADD L2 TDX_SUCCESS', 'TDH.MEM.PAGE.AUG L1 TDX_SUCCESS']);
  });

  it('the hooks differ: per-op links three tables and sets one leaf, unified funnels all four', () => {
    expect(run('first-private-fault-4k', 'per-op').metrics.hookCalls).toEqual({ 'link_external_spt@set_external_spte_present': 3, 'set_external_spte@set_external_spte_present': 1 });
    expect(run('first-private-fault-4k', 'unified').metrics.hookCalls).toEqual({ 'set_external_spte@handle_changed_spte': 4 });
  });

  it.each(['per-op', 'unified'] as const)('a 4K zap is BLOCK, TRACK, REMOVE, WBINVD (%s)', (design) => {
    const r = run('zap-4k', design);
    const events = r.events ?? [];
    expect(r.outcome.status).toBe('completed');
    expect(seamcalls(events, firstOp(events, 'convert').seq)).toEqual(['TDH.MEM.RANGE.BLOCK L1 TDX_SUCCESS', 'TDH.MEM.TRACK L0 TDX_SUCCESS', 'TDH.MEM.PAGE.REMOVE L1 TDX_SUCCESS', 'TDH.PHYMEM.PAGE.WBINVD L1 TDX_SUCCESS']);
  });

  it.each(['per-op', 'unified'] as const)('a 2M split on conversion is BLOCK, TRACK, DEMOTE before the 4K zap (%s)', (design) => {
    const r = run('split-on-convert-2m', design);
    const events = r.events ?? [];
    expect(r.outcome.status).toBe('completed');
    const afterConvert = seamcalls(events, firstOp(events, 'convert').seq).filter((s) => !s.startsWith('TDH.PHYMEM.PAGE.WBINVD'));
    expect(afterConvert).toEqual([
      'TDH.MEM.RANGE.BLOCK L2 TDX_SUCCESS', 'TDH.MEM.TRACK L0 TDX_SUCCESS', 'TDH.MEM.PAGE.DEMOTE L2 TDX_SUCCESS',
      'TDH.MEM.RANGE.BLOCK L1 TDX_SUCCESS', 'TDH.MEM.TRACK L0 TDX_SUCCESS', 'TDH.MEM.PAGE.REMOVE L1 TDX_SUCCESS',
    ]);
    const hook = design === 'per-op' ? 'split_external_spte@tdp_mmu_set_spte' : 'set_external_spte@handle_changed_spte';
    expect(r.metrics.hookCalls[hook]).toBeGreaterThanOrEqual(1);
  });

  it.each(['per-op', 'unified'] as const)('BUSY on the first BLOCK is retried once after the kick and completes (%s)', (design) => {
    const r = run('zap-4k-busy-once', design);
    const events = r.events ?? [];
    expect(r.outcome.status).toBe('completed');
    const tail = events.filter((e) => e.seq >= firstOp(events, 'convert').seq && e.layer === 'tdx' && (e.name.startsWith('TDH.MEM') || e.name === 'KVM_REQ_OUTSIDE_GUEST_MODE')).map((e) => `${e.name} ${e.status}`);
    expect(tail.slice(0, 3)).toEqual(['TDH.MEM.RANGE.BLOCK TDX_OPERAND_BUSY', 'KVM_REQ_OUTSIDE_GUEST_MODE ', 'TDH.MEM.RANGE.BLOCK TDX_SUCCESS']);
    expect(r.metrics.kicks).toBeGreaterThanOrEqual(1);
    expect(r.metrics.divergences).toBe(0);
  });

  it.each(['per-op', 'unified'] as const)('BUSY twice on BLOCK is a TDX_BUG_ON that kills the VM (%s)', (design) => {
    const r = run('zap-4k-busy-twice', design);
    expect(r.outcome.status).toBe('vm-bugged');
    expect(r.metrics.bugs[0]).toMatchObject({ kind: 'TDX_BUG_ON', site: 'TDH.MEM.RANGE.BLOCK' });
  });
});

describe("the seed's argument, from the data", () => {
  it('aging a private leaf: per-op never notices; unified WARNs and leaves the mirror leaf alone ([UNI])', () => {
    const perOp = run('seed-age-leaf-bypass', 'per-op');
    const unified = run('seed-age-leaf-bypass', 'unified');
    expect(perOp.metrics.divergences).toBeGreaterThan(0);
    expect(perOp.metrics.firstDetectionSeq).toBe(-1);
    expect(perOp.metrics.detectionLatency).toBe(-1);
    // kvm_tdp_mmu_age_spte: WARN_ON_ONCE(is_mirror_sptep) and return, so nothing diverges.
    expect(unified.metrics.divergences).toBe(0);
    expect(unified.metrics.firstDetectionSeq).not.toBe(-1);
    expect(Object.keys(unified.metrics.warns).length).toBeGreaterThan(0);
  });

  it('a leaf-to-leaf change under the write lock reaches TDX in unified (TDX refuses it) and trips the MMU dispatch in per-op', () => {
    const perOp = run('seed-leaf-change-write-lock', 'per-op');
    const unified = run('seed-leaf-change-write-lock', 'unified');
    expect(perOp.outcome).toMatchObject({ status: 'vm-bugged', site: 'tdp_mmu_set_spte' });
    expect(unified.outcome).toMatchObject({ status: 'vm-bugged', site: 'tdx_sept_split_private_spte' });
    expect(unified.metrics.hookCalls['set_external_spte@handle_changed_spte']).toBeGreaterThan(perOp.metrics.hookCalls['set_external_spte@set_external_spte_present'] ?? 0);
  });

  it('the strawman single hook removes a table before its children: the module refuses while the TD runs', () => {
    const strawman = run('zap-range-tables-running', 'unified-single-hook');
    const unified = run('zap-range-tables-running', 'unified');
    expect(strawman.outcome.status).toBe('vm-bugged');
    expect(strawman.metrics.seamcalls['TDH.MEM.SEPT.REMOVE']).toMatchObject({ 'TDX_EPT_PAGE_NOT_FREE|RCX': 1 });
    expect(unified.outcome.status).toBe('completed');
    expect(unified.metrics.seamcalls['TDH.MEM.SEPT.REMOVE']?.TDX_SUCCESS).toBeGreaterThan(0);
  });

  it('teardown: leaves before the HKID goes, tables after; the broken orders bug the VM', () => {
    for (const design of ['per-op', 'unified'] as const) {
      const ordered = run('teardown-ordered', design);
      expect(ordered.outcome.status).toBe('completed');
      expect(ordered.metrics.divergences).toBe(0);
      expect(ordered.metrics.seamcalls['TDH.PHYMEM.PAGE.RECLAIM']?.TDX_SUCCESS).toBeGreaterThan(0);
      expect(run('teardown-no-gmem-close', design).metrics.bugs[0].reason).toMatch(/HKID already released/);
      expect(run('teardown-zap-roots-before-hkid', design).metrics.bugs[0].site).toBe('tdx_sept_free_private_spt');
    }
  });
});

describe('every built-in scenario', () => {
  it.each(BUILTIN_NAMES)('%s runs to a recorded outcome under each of its designs and both main ones', (name) => {
    const scenario = builtin(name);
    const designs = new Set<DesignId>([...scenario.designs, 'per-op', 'unified']);
    for (const design of designs) {
      const r = runScenario(scenario, { design });
      expect(['completed', 'vm-bugged', 'host-bug', 'livelock', 'deadlock']).toContain(r.outcome.status);
      expect(r.metrics.events).toBeGreaterThan(0);
      expect(r.hash).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  // The inspector rebuilds the trees from the entry-write events alone, so every write the model
  // makes must be an event. Replaying them must give exactly the S-EPT the TDX model holds at the
  // end, and every mirror entry still reachable from a root must hold its last written value.
  it.each(BUILTIN_NAMES)('%s: replaying its entry-write events gives the final S-EPT and mirror state', (name) => {
    const scenario = builtin(name);
    for (const design of new Set<DesignId>([...scenario.designs, 'per-op', 'unified'])) {
      let final: { mmu: KvmMmu; td: Td } | null = null;
      const r = runScenario(scenario, { design, keep: true, atEnd: (state) => (final = state) });
      const { mmu, td } = final as unknown as { mmu: KvmMmu; td: Td };
      const replayed = new Map<string, number>();
      for (const e of r.events ?? []) if (e.tree !== 'none' && e.new !== null) replayed.set(`${e.tree}:${e.level}:${e.gfn}`, e.new);
      const why = `${name} ${design}`;
      const sept = new Map<string, number>();
      for (const [key, value] of replayed) if (key.startsWith('sept:') && value !== SEPTE_INIT_VALUE) sept.set(key, value);
      expect(septEntries(td), why).toEqual(sept);
      for (const [key, value] of mirrorEntries(mmu)) expect(replayed.get(key), `${why} ${key}`).toBe(value);
    }
  });
});

/** Every non-FREE S-EPT entry the TD holds, keyed as its events are (KVM level, GFN). */
function septEntries(td: Td): Map<string, number> {
  const out = new Map<string, number>();
  const visit = (page: SeptPage): void => {
    for (let i = 0; i < 512; i++) {
      const v = sept_entry_get(page, i);
      if (v !== SEPTE_INIT_VALUE) out.set(`sept:${page.level + 1}:${sept_entry_gfn(page, i)}`, v);
      const child = page.child[i];
      if (child !== null) visit(child);
    }
  };
  visit(td.root);
  return out;
}

/** Every non-empty SPTE of the tables reachable from the valid mirror root. */
function mirrorEntries(mmu: KvmMmu): Map<string, number> {
  const out = new Map<string, number>();
  const visit = (sp: kvm_mmu_page): void => {
    const level = sp.role.level;
    for (let i = 0; i < 512; i++) {
      const v = sp.spt[i];
      if (v === SHADOW_NONPRESENT_VALUE) continue;
      out.set(`mirror:${level}:${sp.gfn + i * PAGES_PER_LEVEL[level]}`, v);
      const child = is_shadow_present_pte(v) && !is_last_spte(v, level) ? mmu.spte_to_child_sp(v) : null;
      if (child !== null) visit(child);
    }
  };
  const root = mmu.validRoot(true);
  if (root !== null) visit(root);
  return out;
}

describe('determinism', () => {
  it('the same scenario, design and seed give the same event hash; a replayed schedule too', () => {
    const hashes = new Set<string>();
    for (const seed of [1, 2, 3, 42]) {
      const a = runScenario(builtin('race-link-same-table'), { design: 'unified', seed, schedule: 'seeded' });
      const b = runScenario(builtin('race-link-same-table'), { design: 'unified', seed, schedule: 'seeded' });
      hashes.add(a.hash);
      expect(b.hash, `seed=${seed}`).toBe(a.hash);
      const replay = runScenario(builtin('race-link-same-table'), { design: 'unified', schedule: Array.from(a.schedule) });
      expect(replay.hash, `replay of seed=${seed}`).toBe(a.hash);
    }
    // The seed matters: different seeds take different interleavings of the race.
    expect(hashes.size).toBeGreaterThan(1);
  });
});

/** A small runnable TD with two vCPUs and 2 MiB of private memory at gfn 0x200. */
function smallScenario(ops: { thread: string; op: Op }[][], designs: DesignId[], seed: number): Scenario {
  const raw = {
    schema: 'septwb/scenario@1',
    name: 'generated',
    description: 'generated by engine.test.ts',
    vm: { rootLevel: 4, vcpus: 2, tdState: 'runnable', privateHugePages: false, memslots: [{ id: 0, baseGfn: '0x200', pages: 512, private: true }] },
    designs,
    seed,
    schedule: 'seeded',
    phases: ops.map((phase, i) => {
      const threads: Record<string, Op[]> = {};
      for (const { thread, op } of phase) (threads[thread] ??= []).push(op);
      return { name: `p${i}`, threads };
    }),
  };
  const v = validateScenario(raw);
  if (!v.ok) throw new Error(JSON.stringify(v.errors.slice(0, 3)));
  return v.scenario;
}

describe('a failed TDH.MEM.TRACK (tdx_track returns void)', () => {
  // The kernel TDX_BUG_ONs, still kicks the vCPUs, and the caller still issues PAGE.REMOVE, which
  // the module refuses because the TLB is not tracked: a second TDX_BUG_ON.
  it.each(['per-op', 'unified'] as const)('still kicks and still tries PAGE.REMOVE (%s)', (design) => {
    const scenario = builtin('zap-4k');
    const failing: Scenario = { ...scenario, inject: [{ seamcall: 'TDH.MEM.TRACK', nth: 1, status: 'TDX_SW_ERROR', times: 1 }] };
    const r = runScenario(failing, { design, keep: true });
    const events = r.events ?? [];
    expect(r.outcome.status).toBe('vm-bugged');
    expect(r.metrics.bugs.map((b) => b.site).slice(0, 2)).toEqual(['TDH.MEM.TRACK', 'TDH.MEM.PAGE.REMOVE']);
    const zap = seamcalls(events, firstOp(events, 'convert').seq);
    expect(zap.slice(0, 3)).toEqual(['TDH.MEM.RANGE.BLOCK L1 TDX_SUCCESS', 'TDH.MEM.TRACK L0 TDX_SW_ERROR', 'TDH.MEM.PAGE.REMOVE L1 TDX_TLB_TRACKING_NOT_DONE|RCX']);
    expect(r.metrics.kicks).toBeGreaterThan(0);
  });
});

describe('teardown errors ([KX] tdx_mmu_release_hkid, tdx_reclaim_td_control_pages)', () => {
  /** The SEAMCALLs from the teardown on. */
  const teardownCalls = (r: RunResult) => seamcalls(r.events ?? [], firstOp(r.events ?? [], 'teardown').seq);

  it('the ordered teardown writes the TDR back with the global KeyID after reclaiming it, last', () => {
    const r = run('teardown-ordered', 'unified');
    expect(r.outcome.status).toBe('completed');
    expect(teardownCalls(r).slice(-2)).toEqual(['TDH.PHYMEM.PAGE.RECLAIM L0 TDX_SUCCESS', 'TDH.PHYMEM.PAGE.WBINVD L0 TDX_SUCCESS']);
  });

  it('a failed KEY.FREEID leaks the HKID, and then no control page is reclaimed', () => {
    const scenario = builtin('teardown-ordered');
    const r = runScenario({ ...scenario, inject: [{ seamcall: 'TDH.MNG.KEY.FREEID', nth: 1, status: 'TDX_SW_ERROR', times: 1 }] }, { design: 'unified', keep: true });
    expect(r.outcome).toMatchObject({ status: 'vm-bugged', site: 'TDH.MNG.KEY.FREEID' });
    expect(teardownCalls(r).at(-1)).toBe('TDH.MNG.KEY.FREEID L0 TDX_SW_ERROR');
  });

  it('a failed RECLAIM of a control page is a WARN and a leaked page, not a bugged VM', () => {
    const scenario = builtin('teardown-ordered');
    const plain = run('teardown-ordered', 'unified');
    const reclaims = plain.metrics.seamcalls['TDH.PHYMEM.PAGE.RECLAIM']?.TDX_SUCCESS ?? 0;
    // The last RECLAIM of the run is the TDR's.
    const r = runScenario({ ...scenario, inject: [{ seamcall: 'TDH.PHYMEM.PAGE.RECLAIM', nth: reclaims, status: 'TDX_SW_ERROR', times: 1 }] }, { design: 'unified', keep: true });
    expect(r.outcome.status).toBe('completed');
    expect(r.metrics.warns['TDH.PHYMEM.PAGE.RECLAIM']).toBe(1);
    expect(teardownCalls(r).at(-1)).toBe('TDH.PHYMEM.PAGE.RECLAIM L0 TDX_SW_ERROR');
  });
});

describe('before KVM_TDX_FINALIZE_VM', () => {
  it('a guest fault is refused (tdx_vcpu_pre_run: -EINVAL) and makes no SEAMCALL', () => {
    const scenario = builtin('prefinalize-populate');
    const withFault: Scenario = { ...scenario, phases: [{ name: 'early fault', threads: { vcpu0: [{ op: 'fault', gfn: 0x10, level: '4K', private: true }] } }, ...scenario.phases] };
    const r = runScenario(withFault, { design: 'unified', keep: true });
    const events = r.events ?? [];
    const fault = events.find((e) => e.layer === 'op' && e.name === 'fault');
    expect(fault?.status).toBe('-EINVAL');
    expect(events.filter((e) => e.seq > (fault?.seq ?? 0) && e.seq <= (fault?.end ?? 0) && e.layer === 'tdx')).toEqual([]);
  });
});

describe('retries', () => {
  // One BUSY AUG makes the fault refault once: one retry, counted once (kvm_tdp_page_fault
  // returned RET_PF_RETRY and the vCPU loop refaulted: the same event).
  it.each(['per-op', 'unified'] as const)('a single BUSY AUG is one retry (%s)', (design) => {
    const r = run('fault-aug-busy-retry', design);
    expect(r.metrics.seamcalls['TDH.MEM.PAGE.AUG']).toEqual({ TDX_OPERAND_BUSY: 1, TDX_SUCCESS: 1 });
    expect(r.metrics.retries).toBe(1);
  });
});

describe('the guest accepts memory KVM has not mapped yet', () => {
  // The accept's EPT violation goes through the fault path (tdx_handle_ept_violation), which
  // AUGs the page; the guest's retry then accepts it.
  it.each(['per-op', 'unified', 'mainline-4k'] as const)('the fault path AUGs the page and the retried ACCEPT succeeds (%s)', (design) => {
    const phases: { thread: string; op: Op }[][] = [[{ thread: 'vcpu0', op: { op: 'accept', gfn: 0x210, level: '4K' } }]];
    const r = runScenario(smallScenario(phases, [design], 1), { design, keep: true });
    const events = r.events ?? [];
    expect(r.outcome.status).toBe('completed');
    expect(events.find((e) => e.layer === 'op' && e.name === 'accept')?.status).toBe('TDX_SUCCESS');
    expect(seamcalls(events)).toEqual(['TDH.MEM.SEPT.ADD L4 TDX_SUCCESS', 'TDH.MEM.SEPT.ADD L3 TDX_SUCCESS', 'TDH.MEM.SEPT.ADD L2 TDX_SUCCESS', 'TDH.MEM.PAGE.AUG L1 TDX_SUCCESS']);
  });
});

describe('private huge pages need ENHANCE_DEMOTE_INTERRUPTIBILITY (H9, [V3] 24/24)', () => {
  it('without the feature a 2M private fault maps at 4K', () => {
    const scenario = builtin('split-on-convert-2m');
    const without: Scenario = { ...scenario, vm: { ...scenario.vm, features: { enhanceDemoteInterruptibility: false } } };
    const withIt = runScenario(scenario, { design: 'per-op', keep: true });
    const off = runScenario(without, { design: 'per-op', keep: true });
    const augLevels = (rr: RunResult) => (rr.events ?? []).filter((e) => e.name === 'TDH.MEM.PAGE.AUG').map((e) => e.level);
    expect(augLevels(withIt)).toContain(2);
    expect(augLevels(off)).not.toContain(2);
    expect(off.metrics.seamcalls['TDH.MEM.PAGE.DEMOTE']).toBeUndefined();
  });
});

describe('a huge mirror leaf split under the read lock ([V3] 09/24)', () => {
  it('per-op sends it to TDX, which WARNs and refuses; the leaf is restored and the fault retries into a livelock. unified keeps the KVM_BUG_ON', () => {
    const perOp = runScenario(builtin('split-under-read-lock'), { design: 'per-op', faultRetriesMax: 20 });
    expect(perOp.outcome).toMatchObject({ status: 'livelock', site: 'faultRetriesMax' });
    expect(perOp.metrics.bugs).toEqual([]);
    expect(perOp.metrics.divergences).toBe(0);
    expect(perOp.metrics.warns['tdx_sept_split_private_spte:shared']).toBe(21);
    expect(perOp.metrics.hookCalls['split_external_spte@set_external_spte_present']).toBe(21);
    expect(perOp.metrics.seamcalls['TDH.MEM.PAGE.DEMOTE']).toBeUndefined();
    const unified = run('split-under-read-lock', 'unified');
    expect(unified.outcome).toMatchObject({ status: 'vm-bugged', site: 'kvm_tdp_mmu_map' });
  });
});

describe('zero-step mitigation (tdh_vp_enter.c stepping filter)', () => {
  it.each(['per-op', 'unified'] as const)('BUSY|SEPT_TREE happens only while a TDH.VP.ENTER is running, and the kicked retry succeeds (%s)', (design) => {
    const r = run('contention-zero-step', design);
    const events = r.events ?? [];
    expect(r.outcome.status).toBe('completed');
    expect(r.metrics.divergences).toBe(0);
    const enters = events.filter((e) => e.name === 'TDH.VP.ENTER');
    const busy = events.filter((e) => e.layer === 'tdx' && e.status === 'TDX_OPERAND_BUSY|SEPT_TREE' && e.name !== 'TDH.VP.ENTER');
    // The scenario's seed (51) hits the window with the fault path and with the zap's BLOCK.
    expect(new Set(busy.map((e) => e.name))).toEqual(new Set(['TDH.MEM.PAGE.AUG', 'TDH.MEM.RANGE.BLOCK']));
    for (const b of busy) {
      const holder = enters.find((e) => e.seq < b.seq && b.seq <= e.end);
      expect(holder, `BUSY at #${b.seq} with no TDH.VP.ENTER in flight`).toBeDefined();
    }
    // tdh_do_no_vcpus: kick, then the one retry succeeds.
    expect(r.metrics.seamcalls['TDH.MEM.RANGE.BLOCK']).toEqual({ 'TDX_OPERAND_BUSY|SEPT_TREE': 1, TDX_SUCCESS: 1 });
    expect(r.metrics.kicks).toBeGreaterThanOrEqual(1);
  });
});

describe('the checker with other threads busy', () => {
  // per-op ages gfn 0x100 silently (H2): the mirror leaf loses its accessed bit, a divergence,
  // while a zap of 0x100 and another notifier race it. The divergence must be found when the
  // aging thread is done, whatever the others are in the middle of; waiting until no thread at
  // all is inside the kernel let the zap erase it first in some schedules.
  it('reports the first aging write as the first divergence in every schedule', () => {
    const v = validateScenario({
      schema: 'septwb/scenario@1', name: 'aging races a zap', description: 'engine.test.ts',
      vm: { rootLevel: 4, vcpus: 1, tdState: 'runnable', privateHugePages: false, memslots: [{ id: 0, baseGfn: '0x0', pages: 4096, private: true }] },
      designs: ['per-op'], seed: 1, schedule: 'seeded',
      phases: [
        { name: 'map', threads: { vcpu0: [{ op: 'fault', gfn: '0x100' }, { op: 'fault', gfn: '0x200' }] } },
        { name: 'race', threads: { mmu_notifier: [{ op: 'age-leaf', gfn: '0x100' }], ioctl: [{ op: 'zap-range', gfn: '0x100', pages: 1 }], notifier2: [{ op: 'age-leaf', gfn: '0x200' }] } },
      ],
    });
    if (!v.ok) throw new Error(JSON.stringify(v.errors.slice(0, 3)));
    for (let seed = 1; seed <= 100; seed++) {
      const r = runScenario(v.scenario, { design: 'per-op', seed, keep: true });
      // Either notifier's aging is a divergence; the first one to happen must be the first reported.
      const aged = (r.events ?? []).find((e) => e.tree === 'mirror' && e.name === 'atomic64_fetch_and');
      expect(aged, `seed=${seed}`).toBeDefined();
      expect(r.metrics.firstDivergenceSeq, `seed=${seed}`).toBe(aged?.seq);
    }
  });
});

describe('a fault that waits out a long conversion', () => {
  // The ioctl converts 256 mapped pages to shared while vcpu0 faults on the last one. The fault
  // refaults while the invalidation is in progress (those refaults wait for the ioctl, not for
  // luck: no retry budget) and its refault step drops mmu_lock, which must let the queued
  // writer in. Every schedule ends with the conversion done and the fault refused as shared.
  it('always completes, over 20 seeds', () => {
    const N = 256;
    const v = validateScenario({
      schema: 'septwb/scenario@1', name: 'long conversion', description: 'engine.test.ts',
      vm: { rootLevel: 4, vcpus: 1, tdState: 'runnable', privateHugePages: false, memslots: [{ id: 0, baseGfn: '0x0', pages: 4096, private: true }] },
      designs: ['per-op'], seed: 1, schedule: 'seeded',
      phases: [
        { name: 'map', threads: { vcpu0: [{ op: 'fault-range', gfn: '0x0', pages: N }] } },
        { name: 'convert', threads: { ioctl: [{ op: 'convert', gfn: '0x0', pages: N, to: 'shared' }], vcpu0: [{ op: 'fault', gfn: N - 1, private: true }] } },
      ],
    });
    if (!v.ok) throw new Error(JSON.stringify(v.errors.slice(0, 3)));
    for (let seed = 1; seed <= 20; seed++) {
      const r = runScenario(v.scenario, { design: 'per-op', seed });
      expect(r.outcome, `seed=${seed}`).toMatchObject({ status: 'completed' });
    }
  });
});

describe('a refault on a present leaf (tdp_mmu_map_handle_target_level, v6.18)', () => {
  // Aging clears the accessed bit of the mirror leaf (per-op: silently, H2). A second fault on
  // the GFN finds a present leaf that already allows the write: RET_PF_SPURIOUS, no SPTE change.
  // Building a new SPTE instead would turn the cleared bit into a leaf-to-leaf change.
  it.each(['per-op', 'unified'] as const)('is spurious and writes nothing after the accessed bit was aged (%s)', (design) => {
    const phases: { thread: string; op: Op }[][] = [
      [{ thread: 'vcpu0', op: { op: 'fault', gfn: 0x210, level: '4K', private: true } }],
      [{ thread: 'mmu_notifier', op: { op: 'age-leaf', gfn: 0x210 } }],
      [{ thread: 'vcpu1', op: { op: 'fault', gfn: 0x210, level: '4K', private: true } }],
    ];
    const r = runScenario(smallScenario(phases, [design], 1), { design, keep: true });
    const events = r.events ?? [];
    expect(r.outcome.status).toBe('completed');
    expect(r.metrics.bugs).toEqual([]);
    const refault = events.filter((e) => e.layer === 'op' && e.name === 'fault')[1];
    expect(refault.status).toBe('RET_PF_SPURIOUS');
    expect(events.filter((e) => e.seq > refault.seq && e.seq <= refault.end && e.tree !== 'none')).toEqual([]);
  });
});

describe('a fault racing a conversion of its GFN (mmu_invalidate_seq, is_page_fault_stale)', () => {
  // vcpu0 faults gfn 0x210 in as private while the ioctl thread converts it to shared. A fault
  // that read the attribute before the conversion must not map it after the conversion's zap:
  // at the end the GFN is shared, so no mirror leaf may be left for it, whatever the schedule.
  const GFN = 0x210;
  const phases: { thread: string; op: Op }[][] = [
    [{ thread: 'vcpu0', op: { op: 'fault', gfn: GFN + 1, level: '4K', private: true } }],
    [{ thread: 'vcpu0', op: { op: 'fault', gfn: GFN, level: '4K', private: true } }, { thread: 'ioctl', op: { op: 'convert', gfn: GFN, pages: 1, to: 'shared' } }],
  ];

  /** The mirror SPTE of GFN at 4K after the run: the `new` of its last mirror write (null if never written). */
  function lastMirrorLeaf(events: SimEvent[]): number | null {
    let last: number | null = null;
    for (const e of events) if (e.tree === 'mirror' && e.gfn === GFN && e.level === 1) last = e.new;
    return last;
  }

  it.each(['per-op', 'unified'] as const)('never leaves a private mapping of the converted GFN, over 60 seeds (%s)', (design) => {
    const endings = new Set<string>();
    let staleRefaults = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const r = runScenario(smallScenario(phases, [design], seed), { design, keep: true });
      const events = r.events ?? [];
      expect(r.outcome.status, `seed=${seed}`).toBe('completed');
      expect(r.metrics.divergences, `seed=${seed}`).toBe(0);
      const leaf = lastMirrorLeaf(events);
      expect(leaf === null || (leaf & 0x800) === 0, `seed=${seed}: mirror SPTE ${leaf?.toString(16)} left for a shared GFN`).toBe(true);
      const fault = events.filter((e) => e.layer === 'op' && e.name === 'fault' && e.gfn === GFN)[0];
      endings.add(fault.status);
      staleRefaults += events.filter((e) => e.name === 'is_page_fault_stale').length;
    }
    // Both orders happen (mapped before the conversion, or refused after it), and some fault
    // found its snapshot stale under mmu_lock: the race itself was exercised.
    expect([...endings].sort()).toEqual(['KVM_EXIT_MEMORY_FAULT', 'RET_PF_FIXED']);
    expect(staleRefaults).toBeGreaterThan(0);
  });
});

const gfnArb = fc.integer({ min: 0x200, max: 0x3ff });
/** Operations both main designs support on 4K private memory. */
const commonOpArb: fc.Arbitrary<{ thread: string; op: Op }> = fc.oneof(
  gfnArb.map((gfn) => ({ thread: 'vcpu0', op: { op: 'fault', gfn, level: '4K', private: true } as Op })),
  gfnArb.map((gfn) => ({ thread: 'vcpu1', op: { op: 'fault', gfn, level: '4K', private: true } as Op })),
  fc.tuple(gfnArb, fc.integer({ min: 1, max: 8 })).map(([gfn, pages]) => ({ thread: 'ioctl', op: { op: 'zap-range', gfn, pages: Math.min(pages, 0x400 - gfn), tables: false } as Op })),
  fc.tuple(gfnArb, fc.integer({ min: 1, max: 8 })).map(([gfn, pages]) => ({ thread: 'ioctl', op: { op: 'convert', gfn, pages: Math.min(pages, 0x400 - gfn), to: 'shared' } as Op })),
);

describe('property: per-op and unified agree where both apply', () => {
  it('random fault/zap/convert phases over random seeds: same outcome, same SEAMCALLs, no divergence', () => {
    fc.assert(
      fc.property(fc.array(fc.array(commonOpArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 0xffff }), (phases, seed) => {
        const scenario = smallScenario(phases, ['per-op', 'unified'], seed);
        const a = runScenario(scenario, { design: 'per-op' });
        const b = runScenario(scenario, { design: 'unified' });
        const why = `seed=${seed} phases=${JSON.stringify(phases)}`;
        expect(a.outcome.status, why).toBe('completed');
        expect(b.outcome.status, why).toBe('completed');
        expect(a.metrics.divergences, why).toBe(0);
        expect(b.metrics.divergences, why).toBe(0);
        expect(b.metrics.seamcalls, why).toEqual(a.metrics.seamcalls);
      }),
      { numRuns: 60, seed: 20260128 },
    );
  });
});

const anyOpArb: fc.Arbitrary<{ thread: string; op: Op }> = fc.oneof(
  commonOpArb,
  gfnArb.map((gfn) => ({ thread: 'vcpu0', op: { op: 'accept', gfn, level: '4K' } as Op })),
  gfnArb.map((gfn) => ({ thread: 'ioctl', op: { op: 'wrprot-leaf', gfn, lock: 'write' } as Op })),
  gfnArb.map((gfn) => ({ thread: 'ioctl', op: { op: 'wrprot-leaf', gfn, lock: 'read' } as Op })),
  gfnArb.map((gfn) => ({ thread: 'ioctl', op: { op: 'age-leaf', gfn } as Op })),
  gfnArb.map((gfn) => ({ thread: 'ioctl', op: { op: 'map-under-write-lock', gfn } as Op })),
  fc.constant({ thread: 'ioctl', op: { op: 'zap-nonleaf-shared', gfn: 0x200, level: '2M' } as Op }),
  fc.constant({ thread: 'vcpu1', op: { op: 'vcpu-enter', zeroStep: true } as Op }),
  fc.constant({ thread: 'vcpu1', op: { op: 'vcpu-exit' } as Op }),
  fc.constant({ thread: 'teardown', op: { op: 'teardown', variant: 'ordered' } as Op }),
  fc.tuple(gfnArb, fc.integer({ min: 1, max: 600 })).map(([gfn, pages]) => ({ thread: 'ioctl', op: { op: 'zap-range', gfn, pages: Math.min(pages, 0x400 - gfn), tables: true } as Op })),
);

describe('fuzz: the engine never throws', () => {
  it('random scenarios with probes, under every design, end in a recorded outcome', () => {
    fc.assert(
      fc.property(fc.array(fc.array(anyOpArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 0xffff }), (phases, seed) => {
        const scenario = smallScenario(phases, [...DESIGN_IDS], seed);
        for (const design of DESIGN_IDS) {
          const r = runScenario(scenario, { design, stepsMax: 200_000 });
          expect(['completed', 'vm-bugged', 'host-bug', 'livelock', 'deadlock'], `seed=${seed} design=${design}`).toContain(r.outcome.status);
        }
      }),
      { numRuns: 40, seed: 7 },
    );
  });
});

/** Scheduler choices from an Exhaustigen for the first `depth` real choices, round-robin after. */
class ExhaustivePrefixChoice implements ChoiceSource {
  readonly kind = 'exhaustive-prefix';
  readonly #gen: Exhaustigen;
  readonly #fallback = new RoundRobinChoice();
  #choices = 0;
  constructor(gen: Exhaustigen, readonly depth: number) {
    this.#gen = gen;
  }
  pick(runnable: readonly number[]): number {
    if (runnable.length === 1) return runnable[0];
    if (this.#choices++ < this.depth) return runnable[this.#gen.int_inclusive(runnable.length - 1)];
    return this.#fallback.pick(runnable);
  }
  note(): string {
    return '';
  }
}

describe('exhaustive exploration (STYLE.md section 5)', () => {
  it.each(['per-op', 'unified'] as const)('two vCPUs racing to link one missing table, every interleaving of the first 10 choices (%s)', (design) => {
    const scenario = builtin('race-link-same-table');
    const gen = new Exhaustigen();
    const hashes = new Set<string>();
    let visited = 0;
    while (!gen.done()) {
      const r = runScenario(scenario, { design, choice: new ExhaustivePrefixChoice(gen, 10), keep: false });
      visited++;
      const why = `${design}, interleaving ${visited}`;
      expect(r.outcome.status, why).toBe('completed');
      expect(r.metrics.divergences, why).toBe(0);
      // Exactly one link of the shared level-2 entry wins; the loser refaults.
      expect(r.metrics.seamcalls['TDH.MEM.SEPT.ADD']?.TDX_SUCCESS, why).toBe(4);
      expect(r.metrics.seamcalls['TDH.MEM.PAGE.AUG']?.TDX_SUCCESS, why).toBe(3);
      hashes.add(r.hash);
    }
    // Every choice point had two runnable vCPUs, so the prefix gives 2^10 interleavings.
    expect(visited).toBe(1024);
    expect(hashes.size).toBeGreaterThan(10);
  });
});

// Stretches in place (proc.ts): a thread that is alone runs its Procs' sync twins, which the build
// generates (scripts/sync_twins.mjs; vitest.config.ts applies it as electron-vite does). They must
// change nothing but speed: same events, schedule, outcome and metrics as the generators.
describe('stretches in place: a lone thread on the sync twins runs exactly as on the generators', () => {
  /** The two runs of one scenario and design must agree in everything the run reports. */
  function expectSameRun(scenario: Scenario, options: Omit<RunOptions, 'stretchesInPlace'>, why: string): RunResult {
    const twins = runScenario(scenario, { ...options, stretchesInPlace: true });
    const generators = runScenario(scenario, { ...options, stretchesInPlace: false });
    expect(generators.stepsInStretches, why).toBe(0);
    expect(twins.hash, why).toBe(generators.hash);
    expect(twins.outcome, why).toEqual(generators.outcome);
    expect(twins.metrics, why).toEqual(generators.metrics);
    expect(twins.schedule, why).toEqual(generators.schedule);
    expect(twins.scheduleNote, why).toBe(generators.scheduleNote);
    return twins;
  }

  it('the build gave the Procs their twins (else every other test here compares the generators with themselves)', () => {
    expect(typeof (runOp as { sync?: unknown }).sync).toBe('function');
    expect(typeof (kvm_tdp_mmu_map as { sync?: unknown }).sync).toBe('function');
    // A dispatcher (a plain function returning a Proc) has one too.
    expect(typeof (tdp_mmu_set_spte_atomic as { sync?: unknown }).sync).toBe('function');
  });

  // Outside the stretches (each is one operation) are only the thread's own steps between them:
  // the end of each phase and its return.
  const stepsOutsideOps = (scenario: Scenario): number => scenario.phases.length + 1;

  it('every built-in scenario under every design; the one-thread ones run in place but for their phase ends', () => {
    let inPlace = 0;
    for (const name of BUILTIN_NAMES) {
      const scenario = builtin(name);
      for (const design of DESIGN_IDS) {
        const r = expectSameRun(scenario, { design }, `${name} ${design}`);
        // Phase barriers keep every thread live until all are done, so only a lone thread's run
        // has stretches (proc.ts inPlaceWhenAlone).
        if (r.threadNames.length > 1) expect(r.stepsInStretches, `${name} ${design}`).toBe(0);
        else if (r.outcome.status === 'completed') {
          expect(r.metrics.steps - r.stepsInStretches, `${name} ${design}`).toBe(stepsOutsideOps(scenario));
          inPlace++;
        }
      }
    }
    expect(inPlace).toBeGreaterThan(0);
  });

  it('the benchmark scenario, cut to 4096 faults: every fault in place', () => {
    const scenario = builtin('fault-range-1gib-4k');
    const small: Scenario = { ...scenario, phases: [{ name: 'fault-in', threads: { vcpu0: [{ op: 'fault-range', gfn: 0, pages: 4096, level: '4K', private: true }] } }] };
    for (const design of DESIGN_IDS) {
      const r = expectSameRun(small, { design }, design);
      expect(r.outcome.status).toBe('completed');
      expect(r.metrics.steps - r.stepsInStretches).toBe(stepsOutsideOps(small));
    }
  });

  it('every choice source: a stretch asks a fixed schedule at every step, the others not at all, and the run is the same', () => {
    // The stretch's short step boundary skips the choice source when a repeated pick changes
    // nothing in it (repeatPickIsPure); a fixed schedule counts its answers, so it is asked, and
    // a schedule that runs out or names a thread that cannot run says so at the same step.
    const scenario = builtin('fault-range-1gib-4k');
    const small: Scenario = { ...scenario, phases: [{ name: 'fault-in', threads: { vcpu0: [{ op: 'fault-range', gfn: 0, pages: 256, level: '4K', private: true }] } }] };
    const seeded = expectSameRun(small, { design: 'per-op' }, 'seeded');
    const full = Array.from(seeded.schedule);
    const runs: [string, RunOptions['schedule'], string][] = [
      ['round-robin', 'round-robin', ''],
      ['the seeded run replayed', full, ''],
      ['a schedule that runs out', full.slice(0, 1000), 'schedule ran out at step 1000'],
      ['a schedule naming a thread that cannot run', [...full.slice(0, 700), 1, ...full.slice(700)], 'schedule named thread 1 at step 700'],
    ];
    for (const [why, schedule, note] of runs) {
      const r = expectSameRun(small, { design: 'per-op', schedule }, why);
      expect(r.hash, why).toBe(seeded.hash);
      expect(r.scheduleNote.startsWith(note), `${why}: ${r.scheduleNote}`).toBe(true);
      expect(r.stepsInStretches, why).toBe(r.metrics.steps - stepsOutsideOps(small));
    }
  });

  it('a run that ends inside a stretch (step budget spent mid-fault) ends the same way', () => {
    for (const stepsMax of [1, 2, 17, 1000, 4321]) {
      const r = expectSameRun(builtin('fault-range-1gib-4k'), { design: 'unified', stepsMax }, `stepsMax ${stepsMax}`);
      expect(r.outcome.status).toBe('livelock');
      expect(r.stepsInStretches).toBe(r.metrics.steps);
    }
  });

  it('a lone thread that spins (per-op refaults after the split refused under the read lock) spins the same', () => {
    // split-under-read-lock on one vCPU: every refault is a SPIN step, which the stall budget and
    // the livelock reason ("(N spins)") count, where a STEP would not.
    const scenario = builtin('split-under-read-lock');
    const lone: Scenario = { ...scenario, phases: scenario.phases.map((p) => ({ ...p, threads: { vcpu0: Object.values(p.threads).flat() } })) };
    const full = expectSameRun(lone, { design: 'per-op' }, 'whole run');
    expect(full.outcome.site).toBe('faultRetriesMax');
    for (const stepsMax of [500, 5001]) {
      const cut = expectSameRun(lone, { design: 'per-op', stepsMax }, `stepsMax ${stepsMax}`);
      expect(cut.outcome.reason).toMatch(/vcpu0 \([1-9]\d* spins\)/);
    }
  });

  it('random scenarios with probes under every design (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(anyOpArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 0xffff }), (phases, seed) => {
        const scenario = smallScenario(phases, [...DESIGN_IDS], seed);
        for (const design of DESIGN_IDS) expectSameRun(scenario, { design, stepsMax: 200_000 }, `seed=${seed} design=${design} phases=${JSON.stringify(phases)}`);
      }),
      { numRuns: 30, seed: 11 },
    );
  });
});
