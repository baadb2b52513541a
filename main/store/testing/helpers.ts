// Test helpers: temporary database files, recording generated runs, and reference answers
// computed the slow, obvious way from the events themselves.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import type { SimEvent } from '../../../shared/event.ts';
import type { EntryState, TableState } from '../../../shared/store_types.ts';
import { TREE_ID } from '../../../shared/event.ts';
import type { ReadableDB } from '../db.ts';
import { isEmptyValue } from '../page_state.ts';
import { Recorder } from '../recorder.ts';
import type { Store } from '../store.ts';
import { generateRun, type GenOptions } from './gen_events.ts';

const created: string[] = [];

// Each test file imports this module afresh (vitest isolates files), so this hook runs once at
// the end of every file that uses tmpDir. A process 'exit' hook would not: vitest stops its
// forks without one, and the directories (up to 10 MB each) were left behind, ~50 per run.
afterAll(() => {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the OS temp dir, removed after the test file that made it. */
export function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'septwb-store-'));
  created.push(dir);
  return dir;
}

export function tmpDbFile(): string {
  return path.join(tmpDir(), 'test.db');
}

export interface Recorded {
  runId: number;
  events: SimEvent[];
  hash: string;
  threadNames: string[];
}

export function recordGenerated(store: Store, gen: Omit<GenOptions, 'onChunk' | 'keep'>, scenarioId: number | null = null): Recorded {
  const recorder = new Recorder(store.writable);
  const threadNames = Array.from({ length: gen.threads }, (_, i) => `vcpu${i}`);
  const runId = recorder.beginRun({ scenarioId, scenarioJson: '{"schema":"septwb/scenario@1","name":"gen"}', design: 'unified', seed: gen.seed, schedule: null, appVersion: 'test', threadNames });
  const { sink } = generateRun({ ...gen, keep: true, onChunk: (c) => recorder.writeChunk(c) });
  recorder.finishRun(runId, { status: 'completed', outcome: { status: 'completed', site: '', reason: '' }, metrics: { events: sink.count }, hash: sink.hash() });
  return { runId, events: sink.events(), hash: sink.hash(), threadNames };
}

/** State after every write with seq <= n, by replaying from the start. */
export function replayState(events: readonly SimEvent[], n: number): TableState {
  const trees = { mirror: new Map<string, EntryState>(), direct: new Map<string, EntryState>(), sept: new Map<string, EntryState>() };
  for (const e of events) {
    if (e.seq > n) break;
    if (e.tree === 'none') continue;
    const m = trees[e.tree];
    const key = `${e.level}:${e.gfn}`;
    if (e.new === null || isEmptyValue(TREE_ID[e.tree], e.new)) m.delete(key);
    else m.set(key, { level: e.level, gfn: e.gfn, value: e.new });
  }
  const sorted = (m: Map<string, EntryState>): EntryState[] => [...m.values()].sort((a, b) => b.level - a.level || a.gfn - b.gfn);
  return { seq: n, mirror: sorted(trees.mirror), direct: sorted(trees.direct), sept: sorted(trees.sept) };
}

/** Every row of every table, as text: compare before/after to prove nothing changed. */
export function dumpDb(db: ReadableDB): string {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
  return tables
    .map((t) => `${t}\n` + (db.prepare(`SELECT * FROM "${t}"`).raw(true).all() as unknown[][]).map((r) => JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))).join('\n'))
    .join('\n');
}
