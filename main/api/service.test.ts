// The api over a real SQLite file: the Library area, built-in loading, and the generic
// dispatch (validation, errors as data).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dispatchCall } from './dispatch.ts';
import { openService, type OpenedService } from './service.ts';

let dir: string;
let opened: OpenedService;

function open(): OpenedService {
  const result = openService({ dbFile: join(dir, 'db', 'septwb.db'), scenariosDir: join(dir, 'scenarios'), appVersion: '9.9.9', mode: 'cli' });
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'septwb-api-'));
  mkdirSync(join(dir, 'scenarios'));
  writeFileSync(join(dir, 'scenarios', 'a.json'), JSON.stringify({ schema: 'septwb/scenario@1', name: 'seed argument', description: 'per-op vs unified' }));
  writeFileSync(join(dir, 'scenarios', 'broken.json'), '{ not json');
  writeFileSync(join(dir, 'scenarios', 'nameless.json'), '{"description": "x"}');
  opened = open();
});

afterEach(() => {
  opened.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('library over a real store', () => {
  it('loads built-ins, reports bad files, and upserts by name on the next open', async () => {
    expect(opened.builtins.loaded).toBe(1);
    expect(opened.builtins.problems).toEqual([expect.stringMatching(/^broken\.json: not JSON/), 'nameless.json: $.name: expected a non-empty string']);
    const first = await opened.service.listScenarios({});
    expect(first.ok && first.value.map((s) => [s.name, s.builtin])).toEqual([['seed argument', true]]);
    opened.close();
    writeFileSync(join(dir, 'scenarios', 'a.json'), JSON.stringify({ name: 'seed argument', description: 'changed' }));
    opened = open();
    const second = await opened.service.listScenarios({});
    expect(second.ok && second.value.map((s) => [s.id, s.description])).toEqual([[first.ok && first.value[0].id, 'changed']]);
  });

  it('saves, gets, deletes a user scenario and emits onScenariosChanged', async () => {
    const seen: unknown[] = [];
    opened.events.subscribe((m) => seen.push(m));
    const saved = await opened.service.saveScenario({ name: 'mine', description: 'd', json: '{"name":"mine"}' });
    expect(saved.ok).toBe(true);
    if (!saved.ok) return;
    expect(saved.value).toMatchObject({ name: 'mine', builtin: false });
    expect(saved.value).not.toHaveProperty('json');
    const got = await opened.service.getScenario({ id: saved.value.id });
    expect(got.ok && got.value.json).toBe('{"name":"mine"}');
    expect(await opened.service.deleteScenario({ id: saved.value.id })).toEqual({ ok: true, value: { deleted: true } });
    expect(await opened.service.getScenario({ id: saved.value.id })).toMatchObject({ ok: false, error: { code: 'not-found', path: 'args.id' } });
    expect(seen).toEqual([
      { name: 'onScenariosChanged', payload: { reason: 'saved', id: saved.value.id } },
      { name: 'onScenariosChanged', payload: { reason: 'deleted', id: saved.value.id } },
    ]);
  });

  it('keeps built-ins read-only and refuses bad JSON without touching the store', async () => {
    const list = await opened.service.listScenarios({});
    const builtinId = list.ok ? list.value[0].id : -1;
    expect(await opened.service.deleteScenario({ id: builtinId })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await opened.service.saveScenario({ id: builtinId, name: 'x', description: '', json: '{}' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await opened.service.saveScenario({ name: 'x', description: '', json: '{oops' })).toMatchObject({ ok: false, error: { code: 'bad-input', path: 'args.json' } });
    expect(await opened.service.listScenarios({})).toEqual(list);
  });

  it('reports app info', async () => {
    const info = await opened.service.appInfo({});
    expect(info).toMatchObject({ ok: true, value: { version: '9.9.9', mode: 'cli', builtinsLoaded: 1 } });
  });
});

describe('dispatchCall', () => {
  const cases: { name: string; method: unknown; args: unknown; want: object }[] = [
    { name: 'unknown method', method: 'dropTables', args: {}, want: { ok: false, error: { code: 'bad-input', path: 'method' } } },
    { name: 'prototype name', method: 'constructor', args: {}, want: { ok: false, error: { code: 'bad-input', path: 'method' } } },
    { name: 'non-string method', method: 42, args: {}, want: { ok: false, error: { code: 'bad-input', path: 'method' } } },
    { name: 'args not an object', method: 'listScenarios', args: [], want: { ok: false, error: { code: 'bad-input', path: 'args' } } },
    { name: 'unknown field', method: 'listScenarios', args: { x: 1 }, want: { ok: false, error: { code: 'bad-input', path: 'args.x' } } },
    { name: 'id not integer', method: 'getScenario', args: { id: 1.5 }, want: { ok: false, error: { code: 'bad-input', path: 'args.id' } } },
    { name: 'id as string', method: 'getScenario', args: { id: '1' }, want: { ok: false, error: { code: 'bad-input', path: 'args.id' } } },
    { name: 'empty name', method: 'saveScenario', args: { name: '', description: '', json: '{}' }, want: { ok: false, error: { code: 'bad-input', path: 'args.name' } } },
    { name: 'valid call', method: 'appInfo', args: {}, want: { ok: true } },
  ];
  it.each(cases)('$name', async ({ method, args, want }) => {
    expect(await dispatchCall(opened.service, method, args)).toMatchObject(want);
  });

  it('turns a throwing method into an internal error value', async () => {
    const logged: string[] = [];
    const broken = { ...opened.service, appInfo: async () => { throw new Error('boom'); } };
    const result = await dispatchCall(broken, 'appInfo', {}, (m) => logged.push(m));
    expect(result).toEqual({ ok: false, error: { code: 'internal', message: 'appInfo failed: boom' } });
    expect(logged[0]).toMatch(/boom/);
  });
});

describe('openService', () => {
  it('refuses a database from a newer version with the store message', () => {
    opened.close();
    const file = join(dir, 'db', 'septwb.db');
    // Bump user_version far beyond any schema this build knows.
    const result0 = openService({ dbFile: file, scenariosDir: dir, appVersion: '1', mode: 'cli' });
    if (!result0.ok) throw new Error(result0.message);
    result0.value.store.writable.pragma('user_version = 999');
    result0.value.close();
    const result = openService({ dbFile: file, scenariosDir: dir, appVersion: '1', mode: 'cli' });
    expect(result).toMatchObject({ ok: false, kind: 'future-db' });
    expect(!result.ok && result.message).toMatch(/schema version 999/);
    opened = openFresh(); // afterEach closes it
  });
});

function openFresh(): OpenedService {
  const result = openService({ dbFile: join(dir, 'fresh.db'), scenariosDir: dir, appVersion: '1', mode: 'cli' });
  if (!result.ok) throw new Error(result.message);
  return result.value;
}
