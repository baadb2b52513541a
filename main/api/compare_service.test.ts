// The Compare area over a real store: two runs recorded through the real EventSink and Recorder,
// shaped like the seed's scenario (a private fault, then a write-protect of the leaf). Run A
// (per-op) stops the change with KVM_BUG_ON; run B (unified) lets it through to the TDX side,
// which diverges and is noticed later. The comparison must line the operations up, find the
// first behavioural difference in operation 1, colour the table and say so in the verdict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Comparison, CompareViewState } from '../../shared/api/compare.ts';
import { EventSink } from '../sim/event_sink.ts';
import { newMetrics, countHookCall, countSeamcall } from '../sim/metrics.ts';
import { Recorder } from '../store/recorder.ts';
import { Store } from '../store/store.ts';
import { tmpDbFile } from '../store/testing/helpers.ts';
import { createCompareService, metricRows, metricsView, toneOf } from './compare_service.ts';
import { ApiEventHub } from './event_hub.ts';

const SCENARIO = JSON.stringify({
  schema: 'septwb/scenario@1',
  name: 'seed leaf change',
  vm: { memslots: [{ id: 0, baseGfn: 0, pages: 4096, private: true }] },
  phases: [
    { name: 'map', threads: { vcpu0: [{ op: 'fault', gfn: 256 }] } },
    { name: 'wrprot', threads: { ioctl: [{ op: 'wrprot-leaf', gfn: 256, lock: 'read' }] } },
  ],
});

/** Records one run; `wrprot` emits operation 1's events for the design. */
function record(store: Store, scenarioId: number, design: string, wrprot: (sink: EventSink, m: ReturnType<typeof newMetrics>) => void): number {
  const recorder = new Recorder(store.writable);
  const runId = recorder.beginRun({ scenarioId, scenarioJson: SCENARIO, design, seed: 1, schedule: null, appVersion: 'test', threadNames: ['vcpu0', 'ioctl'] });
  const sink = new EventSink({ chunkSize: 64, onChunk: (c) => recorder.writeChunk(c) });
  const m = newMetrics();
  sink.setOp(0, 0);
  sink.begin(0, 'op', 'fault', 256, 1);
  sink.begin(0, 'mmu', 'kvm_tdp_mmu_map', 256, 1);
  for (const level of [4, 3, 2]) {
    sink.begin(0, 'hook', design === 'per-op' ? 'link_external_spt' : 'set_external_spte', 256, level);
    countHookCall(m, design === 'per-op' ? 'link_external_spt' : 'set_external_spte', 'tdp_mmu_link_sp');
    sink.instant(0, 'tdx', 'TDH.MEM.SEPT.ADD', 256, level, 'none', null, null, 'TDX_SUCCESS');
    countSeamcall(m, 'TDH.MEM.SEPT.ADD', 'TDX_SUCCESS');
    sink.end(0);
  }
  sink.begin(0, 'hook', 'set_external_spte', 256, 1);
  countHookCall(m, 'set_external_spte', 'tdp_mmu_set_spte_atomic');
  sink.instant(0, 'tdx', 'TDH.MEM.PAGE.AUG', 256, 1, 'sept', 0, 0x1000, 'TDX_SUCCESS');
  countSeamcall(m, 'TDH.MEM.PAGE.AUG', 'TDX_SUCCESS');
  sink.end(0);
  sink.instant(0, 'mmu', 'tdp_mmu_set_spte_atomic', 256, 1, 'mirror', 0, 0x1000);
  sink.end(0);
  sink.end(0);
  sink.setOp(1, 1);
  sink.begin(1, 'op', 'wrprot-leaf', 256, 1);
  wrprot(sink, m);
  sink.endAll(1);
  sink.finish();
  m.events = sink.count;
  m.steps = sink.count;
  recorder.finishRun(runId, { status: 'completed', outcome: { status: m.bugs.length ? 'vm-bugged' : 'completed', site: m.bugs[0]?.site ?? '', reason: '' }, metrics: m, hash: sink.hash() });
  return runId;
}

let store: Store;
let runA: number;
let runB: number;
const hub = new ApiEventHub();

beforeAll(() => {
  store = Store.open(tmpDbFile());
  const scenarioId = store.putScenario({ name: 'seed leaf change', description: '', json: SCENARIO, builtin: false });
  runA = record(store, scenarioId, 'per-op', (sink, m) => {
    const seq = sink.instant(1, 'check', 'KVM_BUG_ON', -1, 0, 'none', null, null, 'tdp_mmu_set_spte', 'present-to-present leaf change on a mirror root');
    m.bugs.push({ kind: 'KVM_BUG_ON', site: 'tdp_mmu_set_spte', reason: '', seq, step: seq });
    m.firstDetectionSeq = seq;
  });
  runB = record(store, scenarioId, 'unified', (sink, m) => {
    sink.instant(1, 'mmu', 'tdp_mmu_set_spte', 256, 1, 'mirror', 0x1000, 0x1001);
    const div = sink.instant(1, 'check', 'divergence', 256, 1, 'none', null, null, 'mirror-vs-sept', 'mirror leaf RO, S-EPT RWX');
    sink.begin(1, 'hook', 'set_external_spte', 256, 1);
    countHookCall(m, 'set_external_spte', 'handle_changed_spte');
    sink.instant(1, 'tdx', 'TDH.MEM.PAGE.DEMOTE', 256, 1, 'none', null, null, 'TDX_EPT_ENTRY_STATE_INCORRECT');
    countSeamcall(m, 'TDH.MEM.PAGE.DEMOTE', 'TDX_EPT_ENTRY_STATE_INCORRECT');
    const det = sink.instant(1, 'check', 'WARN', -1, 0, 'none', null, null, 'tdx_sept_split_private_spte', 'leaf to leaf');
    m.warns.tdx_sept_split_private_spte = 1;
    m.divergences = 1;
    m.firstDivergenceSeq = div;
    m.firstDetectionSeq = det;
    m.detectionLatency = 3;
  });
});
afterAll(() => store.close());

describe('compareRuns', () => {
  let c: Comparison;
  beforeAll(async () => {
    const r = await createCompareService({ store, events: hub, appVersion: 'test' }).compareRuns({ runA, runB });
    if (!r.ok) throw new Error(r.error.message);
    c = r.value;
  });

  it('aligns the runs by scenario operation, with labels from the scenario', () => {
    expect(c.ops.map((o) => [o.ordinal, o.label, o.differs, o.hooksDiffer])).toEqual([
      [0, 'map · vcpu0 · fault 0x100 4K', false, true],
      [1, 'wrprot · ioctl · wrprot-leaf 0x100 (read lock)', true, true],
    ]);
    expect(c.ops[1].a!.seqFirst).toBeGreaterThan(c.ops[0].a!.seqLast);
  });

  it('finds the first behavioural difference in operation 1, and the earlier hook-only one', () => {
    expect(c.firstDifference).toMatchObject({ ordinal: 1, index: 0, a: { name: 'KVM_BUG_ON', layer: 'check' }, b: { name: 'divergence', layer: 'check' } });
    expect(c.firstDifference!.seqA).toBe(c.firstDifference!.a!.seq);
    expect(c.firstHookDifference).toMatchObject({ ordinal: 0, a: { name: 'link_external_spt' }, b: { name: 'set_external_spte' } });
  });

  it('writes the verdict from the data', () => {
    expect(c.verdict).toContain('A (per-op) ends vm-bugged at tdp_mmu_set_spte');
    expect(c.verdict).toContain('A (per-op) never lets the tables diverge and reports KVM_BUG_ON in tdp_mmu_set_spte at event');
    expect(c.verdict).toMatch(/B \(unified\) lets mirror and S-EPT diverge at event \d+ and notices 3 steps later with WARN in tdx_sept_split_private_spte/);
    expect(c.verdict).toContain('TDH.MEM.PAGE.DEMOTE → TDX_EPT_ENTRY_STATE_INCORRECT 0 vs 1');
    expect(c.verdict).toContain('A (per-op) hits KVM_BUG_ON in tdp_mmu_set_spte, where B (unified) hits divergence in mirror-vs-sept at gfn 0x100');
  });

  it('colours the table: B is worse on divergences and latency', () => {
    const byKey = new Map(c.metrics.map((r) => [r.key, r]));
    expect(byKey.get('divergences')).toMatchObject({ a: 0, b: 1, delta: 1, tone: 'worse' });
    expect(byKey.get('latency')).toMatchObject({ aText: 'no divergence', bText: '3 steps', tone: 'info' });
    expect(byKey.get('hook:link_external_spt')).toMatchObject({ a: 3, b: 0, tone: 'info' });
    expect(c.surfaceA!.hooks).toContain('split_external_spte');
    expect(c.surfaceB!.hooks).toEqual(['set_external_spte', 'free_external_spt']);
  });
});

describe('metric tones (Trace Compass: neutral under 10 %)', () => {
  it.each([
    ['equal', 5, 5, 'lower-better', 'similar'],
    ['within 10 %', 100, 95, 'lower-better', 'similar'],
    ['exactly 10 % is judged', 100, 90, 'lower-better', 'better'],
    ['worse', 1, 4, 'lower-better', 'worse'],
    ['never noticed is worst', 3, Number.POSITIVE_INFINITY, 'lower-better', 'worse'],
    ['info is not judged', 1, 100, 'info', 'info'],
    ['n/a on both sides', null, null, 'lower-better', 'similar'],
    ['n/a against a number', null, 2, 'lower-better', 'info'],
  ] as const)('%s', (_name, a, b, sense, want) => {
    expect(toneOf(a, b, sense)).toBe(want);
  });

  it('reads hostile metrics JSON without throwing', () => {
    for (const bad of [null, 7, 'x', [], { seamcalls: { X: 'y' }, bugs: [null, 3, { kind: 1 }], retries: 'many' }]) {
      const rows = metricRows(metricsView(bad), metricsView({}));
      expect(rows.find((r) => r.key === 'retries')).toMatchObject({ a: 0, b: 0 });
    }
  });
});

describe('saved comparisons', () => {
  const view: CompareViewState = { cursorA: 3, cursorB: 4, opFrom: 0, opTo: 1, annotations: [{ side: 'b', seq: 4, text: 'DEMOTE refused here' }] };

  it('save, reopen, list, export to another database and import', async () => {
    const service = createCompareService({ store, events: hub, appVersion: 'test' });
    const saved = await service.saveComparison({ runA, runB, viewState: view });
    expect(saved.ok).toBe(true);
    if (!saved.ok) return;
    expect((await service.getComparison({ id: saved.value.id })).ok && saved.value.viewState).toEqual(view);
    const list = await service.listComparisons({});
    expect(list.ok && list.value[0]).toMatchObject({ designA: 'per-op', designB: 'unified', scenarioName: 'seed leaf change' });
    const file = await service.exportComparison({ id: saved.value.id });
    expect(file.ok && file.value.fileName).toBe('seed-leaf-change.per-op-vs-unified.septwb-compare.json');
    if (!file.ok) return;

    const other = Store.open(tmpDbFile());
    const there = createCompareService({ store: other, events: new ApiEventHub(), appVersion: 'test' });
    const imported = await there.importComparison({ text: file.value.text });
    expect(imported.ok).toBe(true);
    if (!imported.ok) return;
    expect(imported.value.viewState).toEqual(view);
    const again = await there.compareRuns({ runA: imported.value.runA, runB: imported.value.runB });
    expect(again.ok && again.value.firstDifference?.ordinal).toBe(1);
    other.close();
  });

  it.each([
    ['not JSON', '{nope', 'file'],
    ['another format', '{"format":"septwb/run","version":1}', '$.format'],
    ['a future version', '{"format":"septwb/comparison","version":9}', '$.version'],
    ['a bad view state', '{"format":"septwb/comparison","version":1,"viewState":{"cursorA":"x"}}', '$.viewState.cursorA'],
    ['a truncated run', '{"format":"septwb/comparison","version":1,"viewState":{"cursorA":0,"cursorB":0,"opFrom":0,"opTo":0,"annotations":[]},"runA":"{}","runB":""}', '$.runA'],
  ])('refuses %s with its path, storing nothing', async (_name, text, pathWant) => {
    const service = createCompareService({ store, events: hub, appVersion: 'test' });
    const runsBefore = store.listRuns().length;
    const comparisonsBefore = store.listComparisons().length;
    const r = await service.importComparison({ text });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('bad-input');
    expect(r.error.path?.startsWith(pathWant)).toBe(true);
    expect(store.listRuns().length).toBe(runsBefore);
    expect(store.listComparisons().length).toBe(comparisonsBefore);
  });

  it('refuses a view state with an unknown field and an unknown run', async () => {
    const service = createCompareService({ store, events: hub, appVersion: 'test' });
    const bad = await service.saveComparison({ runA, runB, viewState: { ...view, zoom: 3 } as unknown as CompareViewState });
    expect(!bad.ok && bad.error.path).toBe('args.viewState.zoom');
    const missing = await service.saveComparison({ runA, runB: 999, viewState: view });
    expect(!missing.ok && missing.error).toMatchObject({ code: 'not-found', path: 'args.runB' });
  });
});

describe('aligned window and state', () => {
  it('returns the events of the chosen operations of both runs', async () => {
    const service = createCompareService({ store, events: hub, appVersion: 'test' });
    const w = await service.compareWindow({ runA, runB, opFrom: 1, opTo: 1 });
    expect(w.ok).toBe(true);
    if (!w.ok) return;
    expect(w.value.a.every((e) => e.op === 1)).toBe(true);
    expect(w.value.b.map((e) => e.name)).toContain('TDH.MEM.PAGE.DEMOTE');
    expect(w.value.a.map((e) => e.name)).toEqual(['wrprot-leaf', 'KVM_BUG_ON']);
  });

  it('pairs the page tables entry by entry and marks the differences', async () => {
    const service = createCompareService({ store, events: hub, appVersion: 'test' });
    const endA = store.getRun(runA)!.eventCount - 1;
    const endB = store.getRun(runB)!.eventCount - 1;
    const s = await service.compareState({ runA, seqA: endA, runB, seqB: endB });
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    const mirror = s.value.entries.find((e) => e.tree === 'mirror' && e.gfn === 256);
    expect(mirror).toMatchObject({ a: 0x1000, b: 0x1001, differs: true });
    expect(s.value.entries.find((e) => e.tree === 'sept' && e.gfn === 256)).toMatchObject({ differs: false });
    expect(s.value.differing).toBe(1);
  });
});
