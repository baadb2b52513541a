// `septwb runs`: flags through runF, then list/show/delete and an export -> import round trip
// between two real database files, all through main(): the imported run has the same event
// hash, content hash and events.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord, RunSummary } from '../../shared/api/runs.ts';
import { cliTestEnv, expectFlags, scenario } from './cli_test_support.ts';
import { newRunsCmd, type RunsOptions } from './cmd_runs.ts';

const env = cliTestEnv('cmd-runs');
const { dir, septwb } = env;
const dbA = join(dir, 'a.db');
const dbB = join(dir, 'b.db');

describe('runs flags', () => {
  const db = env.defaultDb;
  const cases: { argv: string[]; want?: RunsOptions; error?: RegExp }[] = [
    { argv: ['list'], want: { action: 'list', dbFile: db, json: false, scenarioId: null } },
    { argv: ['list', '--scenario', '4', '--json'], want: { action: 'list', dbFile: db, json: true, scenarioId: 4 } },
    { argv: ['show', '7', '--db', 'x.db'], want: { action: 'show', dbFile: 'x.db', json: false, id: 7 } },
    { argv: ['delete', '7'], want: { action: 'delete', dbFile: db, id: 7 } },
    { argv: ['export', '7', '--out', 'r.jsonl'], want: { action: 'export', dbFile: db, id: 7, out: 'r.jsonl' } },
    { argv: ['import', 'r.jsonl'], want: { action: 'import', dbFile: db, file: 'r.jsonl', json: false } },
    { argv: [], error: /runs needs an action: list, show, delete, export, import/ },
    { argv: ['remove', '7'], error: /unknown action "remove"/ },
    { argv: ['show'], error: /runs show takes one run id/ },
    { argv: ['show', '0'], error: /run id must be a positive integer, got "0"/ },
    { argv: ['show', '1.5'], error: /run id must be a positive integer/ },
    { argv: ['show', '99999999999999999999'], error: /run id must be a positive integer/ },
    { argv: ['delete', '1', '2'], error: /runs delete takes one run id/ },
    { argv: ['list', '--scenario', 'x'], error: /scenario id must be a positive integer/ },
    { argv: ['list', 'extra'], error: /Unexpected argument 'extra'/ },
    { argv: ['delete', '3', '--json'], error: /Unknown option '--json'/ },
    { argv: ['import'], error: /runs import takes one run file/ },
  ];
  it.each(cases)('$argv', (c) => expectFlags(newRunsCmd, env.deps(), c));
});

describe('septwb runs, on real databases', () => {
  beforeAll(async () => {
    const r = await septwb(['run', scenario('zap-4k-busy-once.json'), '--db', dbA]);
    expect(r.code, r.err).toBe(0);
  });

  it('lists runs newest first, as rows or data', async () => {
    const r = await septwb(['runs', 'list', '--db', dbA]);
    expect(r.code).toBe(0);
    const rows = r.out.trimEnd().split('\n').map((l) => l.split('\t'));
    expect(rows.map((c) => [c[0], c[2], c[4], c[5]])).toEqual([
      ['2', 'unified', 'completed', 'completed'],
      ['1', 'per-op', 'completed', 'completed'],
    ]);
    expect(rows[0][1]).toBe('Zap a 4K leaf, BLOCK busy once');
    const json = JSON.parse((await septwb(['runs', 'list', '--db', dbA, '--json'])).out) as RunSummary[];
    expect(json.map((x) => x.id)).toEqual([2, 1]);
    const tty = await septwb(['runs', 'list', '--db', dbA], true);
    expect(tty.out).toMatch(/^Runs in .*a\.db\n\nID +SCENARIO +DESIGN +SEED +STATUS +OUTCOME +EVENTS +HASH +STARTED\n/);
  });

  it('shows one run with its metrics; a missing one exits 3', async () => {
    const r = await septwb(['runs', 'show', '1', '--db', dbA]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^design\tper-op$/m);
    expect(r.out).toMatch(/^seamcall TDH\.MEM\.RANGE\.BLOCK TDX_OPERAND_BUSY\t1$/m);
    expect(r.out).toMatch(/^kicks\t\d+$/m);
    const json = JSON.parse((await septwb(['runs', 'show', '2', '--db', dbA, '--json'])).out) as RunRecord;
    expect(json).toMatchObject({ id: 2, design: 'unified', status: 'completed' });
    const missing = await septwb(['runs', 'show', '99', '--db', dbA]);
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/no run with id 99/);
  });

  it('export -> import on a fresh database: same event hash, content hash and events', async () => {
    const file = join(dir, 'run1.septwb-run.jsonl');
    const exported = await septwb(['runs', 'export', '1', '--db', dbA, '--out', file]);
    expect(exported.code, exported.err).toBe(0);
    expect(exported.out).toBe('');
    const toStdout = await septwb(['runs', 'export', '1', '--db', dbA]);
    expect(toStdout.out).toBe(readFileSync(file, 'utf8'));
    const imported = await septwb(['runs', 'import', file, '--db', dbB]);
    expect(imported.code, imported.err).toBe(0);
    const newId = Number(imported.out.trim());
    expect(newId).toBe(1);
    const before = JSON.parse((await septwb(['runs', 'show', '1', '--db', dbA, '--json'])).out) as RunRecord;
    const after = JSON.parse((await septwb(['runs', 'show', String(newId), '--db', dbB, '--json'])).out) as RunRecord;
    expect(after.eventHash).toBe(before.eventHash);
    expect(after.contentHash).toBe(before.contentHash);
    expect(after.eventCount).toBe(before.eventCount);
    expect(after.metrics).toEqual(before.metrics);
    const eventsA = (await septwb(['events', '1', '--jsonl', '--db', dbA])).out;
    const eventsB = (await septwb(['events', String(newId), '--jsonl', '--db', dbB])).out;
    expect(eventsB).toBe(eventsA);
    expect(eventsA.trimEnd().split('\n')).toHaveLength(before.eventCount);
  });

  it('refuses a damaged run file with the line at fault, exit 2, storing nothing', async () => {
    const file = join(dir, 'run2.jsonl');
    await septwb(['runs', 'export', '2', '--db', dbA, '--out', file]);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const damaged = join(dir, 'damaged.jsonl');
    writeFileSync(damaged, [...lines.slice(0, 5), '["e", "not a seq"]', ...lines.slice(6)].join('\n') + '\n');
    const listBefore = (await septwb(['runs', 'list', '--db', dbB, '--json'])).out;
    const r = await septwb(['runs', 'import', damaged, '--db', dbB]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/damaged\.jsonl: line 6/);
    expect((await septwb(['runs', 'list', '--db', dbB, '--json'])).out).toBe(listBefore);
    const truncated = join(dir, 'truncated.jsonl');
    writeFileSync(truncated, lines.slice(0, -1).join('\n') + '\n');
    const t = await septwb(['runs', 'import', truncated, '--db', dbB]);
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/truncated/);
  });

  it('deletes a run; deleting it again exits 3', async () => {
    const db = join(dir, 'delete.db');
    await septwb(['run', scenario('first-private-fault-4k.json'), '--design', 'unified', '--db', db]);
    const r = await septwb(['runs', 'delete', '1', '--db', db]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/deleted run 1/);
    expect(JSON.parse((await septwb(['runs', 'list', '--db', db, '--json'])).out)).toEqual([]);
    expect((await septwb(['runs', 'delete', '1', '--db', db])).code).toBe(3);
  });
});
