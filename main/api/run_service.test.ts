import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCall } from '../../shared/api/api.ts';
import type { RunViewState } from '../../shared/api/runs.ts';
import { ApiEventHub } from './event_hub.ts';
import { createRunService } from './run_service.ts';
import { InspectorIndex } from '../store/inspector_index.ts';
import { inspectorState } from '../store/inspector_state.ts';
import { Store } from '../store/store.ts';
import { recordGenerated, tmpDbFile, type Recorded } from '../store/testing/helpers.ts';

let store: Store;
let run: Recorded;
let service: ReturnType<typeof createRunService>;

beforeAll(() => {
  store = Store.open(tmpDbFile());
  run = recordGenerated(store, { seed: 5, threads: 2, faults: 400 });
  service = createRunService({ store, events: new ApiEventHub(), appVersion: 'test' });
});
afterAll(() => store.close());

describe('runs contract validators', () => {
  const table: { name: string; method: string; args: unknown; wantPath: string | null }[] = [
    { name: 'a good window', method: 'eventsWindow', args: { runId: 1, seqFrom: 0, seqTo: 10, buckets: 5 }, wantPath: null },
    { name: 'an unknown field', method: 'eventsWindow', args: { runId: 1, seqFrom: 0, seqTo: 10, buckets: 5, extra: 1 }, wantPath: 'args.extra' },
    { name: 'zero buckets', method: 'eventsWindow', args: { runId: 1, seqFrom: 0, seqTo: 10, buckets: 0 }, wantPath: 'args.buckets' },
    { name: 'a tree the inspector does not show', method: 'lastWriter', args: { runId: 1, seq: 0, tree: 'direct', level: 1, gfn: 0 }, wantPath: 'args.tree' },
    { name: 'a bad layer', method: 'laneStep', args: { runId: 1, seq: 0, thread: 0, layer: 'cpu', dir: 1 }, wantPath: 'args.layer' },
    { name: 'an annotation without text', method: 'putViewState', args: { runId: 1, state: { version: 1, cursor: 0, visibleStart: 0, visibleEnd: 1, annotations: [{ seq: 1 }] } }, wantPath: 'args.state.annotations[0].text' },
    { name: 'a view state of another version', method: 'putViewState', args: { runId: 1, state: { version: 2, cursor: 0, visibleStart: 0, visibleEnd: 1, annotations: [] } }, wantPath: 'args.state.version' },
  ];
  for (const c of table) {
    it(c.name, () => {
      expect(checkCall(c.method, c.args)?.path ?? null).toBe(c.wantPath);
    });
  }
});

describe('run service', () => {
  it('answers not-found for an unknown run, naming the argument', async () => {
    const r = await service.stateAt({ runId: 999, seq: 0 });
    expect(r).toEqual({ ok: false, error: { code: 'not-found', path: 'args.runId', message: 'no run with id 999' } });
  });

  it('returns an event with its parents and its entry’s neighbouring writes', async () => {
    const aug = run.events.filter((e) => e.name === 'TDH.MEM.PAGE.AUG' && e.tree === 'sept')[3];
    const r = await service.event({ runId: run.runId, seq: aug.seq });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.parents.map((p) => p.layer)).toEqual(['hook', 'mmu', 'op']);
    expect(r.value.threadName).toBe(`vcpu${aug.thread}`);
    const prev = run.events.filter((e) => e.seq < aug.seq && e.tree === 'sept' && e.gfn === aug.gfn && e.level === aug.level).at(-1);
    expect(r.value.prevWrite?.seq ?? -1).toBe(prev?.seq ?? -1);
  });

  it('saves and restores the view state', async () => {
    expect((await service.getViewState({ runId: run.runId })).ok).toBe(true);
    const state: RunViewState = { version: 1, cursor: 42, visibleStart: 10, visibleEnd: 500, annotations: [{ seq: 42, text: 'here' }] };
    expect(await service.putViewState({ runId: run.runId, state })).toEqual({ ok: true, value: { saved: true } });
    expect(await service.getViewState({ runId: run.runId })).toEqual({ ok: true, value: state });
  });

  it('stateAt answers from the checkpoints as from a full sweep, before and after its background sweep', async () => {
    const swept = new InspectorIndex(run.runId, run.events.length);
    swept.sweepAll(store.readable);
    for (const seq of [run.events.length - 1, 17, run.events.length + 50]) {
      const r = await service.stateAt({ runId: run.runId, seq });
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value).toEqual(inspectorState(store.readable, swept, Math.min(seq, run.events.length - 1)));
      await new Promise((resolve) => setImmediate(resolve)); // lets one background slice run
    }
  });

  it('refuses a window that ends before it starts, and a half gfn window', async () => {
    expect((await service.eventsWindow({ runId: run.runId, seqFrom: 10, seqTo: 5, buckets: 4 })).ok).toBe(false);
    const half = await service.stateAt({ runId: run.runId, seq: 5, gfnStart: 3 });
    expect(!half.ok && half.error.path).toBe('args.gfnEnd');
  });

  it('exports a run as text that imports back as a new run', async () => {
    const out = await service.exportRun({ id: run.runId });
    if (!out.ok) throw new Error(out.error.message);
    const back = await service.importRun({ text: out.value.text });
    if (!back.ok) throw new Error(back.error.message);
    expect(back.value.runId).not.toBe(run.runId);
    const bad = await service.importRun({ text: '{"format":"nope"}\n' });
    expect(!bad.ok && bad.error.code).toBe('bad-input');
  });
});
