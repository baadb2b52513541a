import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDatabase, type WritableDB } from './db.ts';
import { MIGRATIONS, SCHEMA_VERSION, getUserVersion, updateSchema } from './migrations/index.ts';
import { DBVersionFromFutureError, Store } from './store.ts';
import { recordGenerated, tmpDbFile } from './testing/helpers.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('migrations', () => {
  it('creates the newest schema on an empty file, with STRICT tables', () => {
    const file = tmpDbFile();
    const store = Store.open(file);
    expect(getUserVersion(store.writable)).toBe(SCHEMA_VERSION);
    const tables = store.writable.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string; sql: string }[];
    expect(tables.map((t) => t.name).sort()).toEqual(['comparisons', 'event_bin_rows', 'event_hist', 'events', 'keyframe_pages', 'keyframes', 'run_strings', 'runs', 'scenarios', 'state_snapshots', 'view_state']);
    for (const t of tables) expect(t.sql, t.name).toMatch(/\)\s*STRICT/);
    expect(store.writable.pragma('journal_mode', { simple: true })).toBe('wal');
    store.close();
  });

  it('lists versions 1..N in order', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  for (let from = 0; from < SCHEMA_VERSION; from++) {
    it(`upgrades from version ${from} keeping data`, () => {
      const file = tmpDbFile();
      const db = openDatabase(file);
      updateSchema(db, file, from);
      expect(getUserVersion(db)).toBe(from);
      if (from >= 1) db.prepare("INSERT INTO scenarios (name, description, json, builtin, created_at, updated_at) VALUES ('old', '', '{}', 0, 'x', 'x')").run();
      db.close();
      const store = Store.open(file);
      expect(getUserVersion(store.writable)).toBe(SCHEMA_VERSION);
      if (from >= 1) expect(store.listScenarios().map((s) => s.name)).toEqual(['old']);
      store.close();
    });
  }

  it('version 3 repacks old per-block bins into rows of 16 blocks, and keeps old runs\' page size', () => {
    const file = tmpDbFile();
    const db = openDatabase(file);
    updateSchema(db, file, 2);
    db.prepare("INSERT INTO runs (id, scenario_name, scenario_json, design, seed, app_version, thread_names_json, status, keyframe_writes, started_at) VALUES (1, 's', '{}', 'unified', 1, 'x', '[\"t\"]', 'completed', 4096, 'x')").run();
    const lanes = (quads: number[]): Buffer => Buffer.from(Int32Array.from(quads).buffer);
    const bins = db.prepare('INSERT INTO event_bins (run_id, size_log2, block, lanes) VALUES (1, ?, ?, ?)');
    bins.run(6, 17, lanes([0, 5, 3, 4, 2, 1, 7, 1]));
    bins.run(6, 31, lanes([1, 2, 9, 2]));
    bins.run(7, 0, lanes([0, 64, 3, 60]));
    db.close();
    const store = Store.open(file);
    const rows = store.readable.prepare('SELECT size_log2, row, blocks FROM event_bin_rows ORDER BY size_log2, row').raw(true).all() as [number, number, Buffer][];
    const decoded = rows.map(([size, row, b]) => [size, row, [...new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))]]);
    expect(decoded).toEqual([
      // 17 offsets, then quads. Row 1 of level 6 holds blocks 16..31: block 17 at position 1,
      // block 31 at position 15.
      [6, 1, [17, 17, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 29, 0, 5, 3, 4, 2, 1, 7, 1, 1, 2, 9, 2]],
      [7, 0, [17, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 21, 0, 64, 3, 60]],
    ]);
    expect(store.readable.prepare('SELECT page_entries FROM runs WHERE id = 1').pluck().get()).toBe(64);
    store.close();
  });

  it('refuses a newer database and leaves it untouched', () => {
    const file = tmpDbFile();
    Store.open(file).close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const before = fs.readFileSync(file);
    expect(() => Store.open(file)).toThrow(DBVersionFromFutureError);
    expect(() => Store.open(file)).toThrow(/Upgrade the app.*--db/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('rolls back every pending update when one fails', () => {
    const file = tmpDbFile();
    const db = openDatabase(file);
    db.exec('CREATE TABLE runs (x INTEGER) STRICT'); // version 1 will collide with this
    expect(() => updateSchema(db as WritableDB, file)).toThrow();
    expect(getUserVersion(db)).toBe(0);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'scenarios'").get()).toEqual({ n: 0 });
    db.close();
  });
});

describe('scenarios', () => {
  it('puts, replaces, lists and deletes', () => {
    const store = Store.open(tmpDbFile());
    const a = store.putScenario({ name: 'b-own', description: 'mine', json: '{"a":1}', builtin: false });
    const b = store.putScenario({ name: 'a-builtin', description: 'ships', json: '{"b":2}', builtin: true });
    expect(store.listScenarios().map((s) => [s.name, s.builtin])).toEqual([
      ['a-builtin', true],
      ['b-own', false],
    ]);
    store.putScenario({ id: a, name: 'b-own', description: 'edited', json: '{"a":3}', builtin: false });
    expect(store.getScenario(a)).toMatchObject({ id: a, description: 'edited', json: '{"a":3}' });
    expect(store.putScenario({ id: 77, name: 'fixed id', description: '', json: '{}', builtin: true })).toBe(77);
    store.deleteScenario(b);
    expect(store.getScenario(b)).toBeNull();
    expect(store.listScenarios().map((s) => s.id).sort()).toEqual([a, 77]);
    store.close();
  });

  it('keeps runs, with their snapshot, when their scenario is deleted', () => {
    const store = Store.open(tmpDbFile());
    const sid = store.putScenario({ name: 's', description: '', json: '{}', builtin: false });
    const rec = recordGenerated(store, { seed: 1, threads: 1, faults: 10 }, sid);
    store.deleteScenario(sid);
    expect(store.getRun(rec.runId)).toMatchObject({ scenarioId: null, scenarioName: 's', scenarioJson: '{"schema":"septwb/scenario@1","name":"gen"}' });
    store.close();
  });
});

describe('runs', () => {
  it('stores view state and comparisons, and deletes a run with everything it owns', () => {
    const store = Store.open(tmpDbFile());
    const a = recordGenerated(store, { seed: 1, threads: 2, faults: 300, chunkSize: 256 });
    const b = recordGenerated(store, { seed: 2, threads: 2, faults: 300, chunkSize: 256 });
    store.putViewState(a.runId, { cursor: 12, pinned: [[0, 'op']], notes: [{ seq: 3, text: 'here' }] });
    expect(store.getViewState(a.runId)).toEqual({ cursor: 12, pinned: [[0, 'op']], notes: [{ seq: 3, text: 'here' }] });
    const cmp = store.putComparison({ runA: a.runId, runB: b.runId, viewState: { aligned: true } });
    expect(store.getComparison(cmp)).toMatchObject({ runA: a.runId, runB: b.runId, viewState: { aligned: true } });
    expect(store.listRuns().map((r) => r.id)).toEqual([b.runId, a.runId]);
    store.deleteRun(a.runId);
    const db = store.readable;
    const count = (sql: string): number => (db.prepare(sql).get(a.runId) as { n: number }).n;
    expect(count('SELECT count(*) AS n FROM events WHERE key >= ? * 4294967296 AND key < (? + 1) * 4294967296'.replace('?', String(a.runId)))).toBe(0);
    for (const t of ['run_strings', 'event_bin_rows', 'event_hist', 'keyframes', 'keyframe_pages', 'state_snapshots', 'view_state']) expect(count(`SELECT count(*) AS n FROM ${t} WHERE run_id = ?`), t).toBe(0);
    expect(store.getComparison(cmp)).toBeNull();
    expect(store.getRun(b.runId)?.eventCount).toBe(b.events.length);
    store.close();
  });
});

describe('kill mid-recording', () => {
  it('reopens intact: integrity ok, earlier runs untouched, the killed run interrupted', async () => {
    const file = tmpDbFile();
    const store = Store.open(file);
    const earlier = recordGenerated(store, { seed: 3, threads: 2, faults: 500 });
    const earlierRun = store.getRun(earlier.runId)!;
    store.close();

    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'testing', 'record_child.ts'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child made no progress: ${stderr}`)), 30000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if ((out.match(/^chunk /gm) ?? []).length >= 20) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((r) => child.on('exit', r));
    const killedRunId = Number(/^run (\d+)/m.exec(out)![1]);
    const committed = Math.max(...[...out.matchAll(/^chunk \d+ (\d+)$/gm)].map((m) => Number(m[1])));

    const reopened = Store.open(file);
    expect(reopened.writable.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(reopened.interruptedAtOpen).toEqual([killedRunId]);
    expect(reopened.getRun(earlier.runId)).toEqual(earlierRun);
    const killed = reopened.getRun(killedRunId)!;
    expect(killed.status).toBe('interrupted');
    const stored = (reopened.readable.prepare('SELECT count(*) AS n FROM events WHERE key >= ? AND key < ?').get(killedRunId * 2 ** 32, (killedRunId + 1) * 2 ** 32) as { n: number }).n;
    expect(killed.eventCount).toBe(stored);
    expect(stored).toBeGreaterThanOrEqual(committed);
    reopened.close();
  }, 60000);
});
