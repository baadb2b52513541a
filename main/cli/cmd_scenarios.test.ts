// `septwb scenarios`: flags through runF; list (built-ins loaded on open), add (validated first),
// export (the exact text), through main() on a real database file.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScenarioSummary } from '../../shared/store_types.ts';
import { cliTestEnv, expectFlags, scenario } from './cli_test_support.ts';
import { newScenariosCmd, type ScenariosOptions } from './cmd_scenarios.ts';

const env = cliTestEnv('cmd-scenarios');
const { dir, defaultDb, septwb } = env;
const db = join(dir, 's.db');

describe('scenarios flags', () => {
  const cases: { argv: string[]; want?: ScenariosOptions; error?: RegExp }[] = [
    { argv: ['list'], want: { action: 'list', dbFile: defaultDb, json: false } },
    { argv: ['list', '--json', '--db', 'x.db'], want: { action: 'list', dbFile: 'x.db', json: true } },
    { argv: ['add', 'f.json'], want: { action: 'add', dbFile: defaultDb, file: 'f.json', json: false } },
    { argv: ['export', '3'], want: { action: 'export', dbFile: defaultDb, id: 3, out: null } },
    { argv: ['export', '3', '--out', 'o.json'], want: { action: 'export', dbFile: defaultDb, id: 3, out: 'o.json' } },
    { argv: [], error: /scenarios needs an action: list, add, export/ },
    { argv: ['delete', '3'], error: /unknown action "delete"/ },
    { argv: ['add'], error: /scenarios add takes one scenario file/ },
    { argv: ['export'], error: /scenarios export takes one scenario id/ },
    { argv: ['export', 'zap'], error: /scenario id must be a positive integer, got "zap"/ },
    { argv: ['list', '--out', 'x'], error: /Unknown option '--out'/ },
  ];
  it.each(cases)('$argv', (c) => expectFlags(newScenariosCmd, env.deps(), c));
});

describe('septwb scenarios, on a real database', () => {
  it('lists the built-ins, adds a valid scenario, exports it byte for byte', async () => {
    const before = JSON.parse((await septwb(['scenarios', 'list', '--json', '--db', db])).out) as ScenarioSummary[];
    expect(before.length).toBeGreaterThan(10);
    expect(before.every((s) => s.builtin)).toBe(true);
    const source = JSON.parse(readFileSync(scenario('zap-4k.json'), 'utf8')) as { name: string };
    source.name = 'my zap';
    const file = join(dir, 'mine.json');
    const text = `${JSON.stringify(source, null, 2)}\n`;
    writeFileSync(file, text);
    const added = await septwb(['scenarios', 'add', file, '--db', db]);
    expect(added.code, added.err).toBe(0);
    const id = Number(added.out.trim());
    expect(id).toBeGreaterThan(before.length - 1);
    const list = await septwb(['scenarios', 'list', '--db', db]);
    expect(list.out).toContain(`${id}\town\tmy zap\t`);
    const exported = await septwb(['scenarios', 'export', String(id), '--db', db]);
    expect(exported.out).toBe(text);
    const out = join(dir, 'exported.json');
    expect((await septwb(['scenarios', 'export', String(id), '--out', out, '--db', db])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(text);
  });

  it('refuses an invalid scenario with its error lines and stores nothing', async () => {
    const file = join(dir, 'invalid.json');
    writeFileSync(file, '{"schema": "septwb/scenario@1", "name": "broken"}');
    const count = () => septwb(['scenarios', 'list', '--json', '--db', db]).then((r) => (JSON.parse(r.out) as unknown[]).length);
    const before = await count();
    const r = await septwb(['scenarios', 'add', file, '--db', db]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/invalid\.json is not a valid scenario/);
    expect(r.err).toMatch(/^1:1 \$\.vm: /m);
    expect(await count()).toBe(before);
  });

  it('exporting a missing scenario exits 3; a terminal gets a title and headers', async () => {
    const r = await septwb(['scenarios', 'export', '9999', '--db', db]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/no scenario with id 9999/);
    const tty = await septwb(['scenarios', 'list', '--db', db], true);
    expect(tty.out).toMatch(/^Scenarios in .*s\.db\n\nID +KIND +NAME +UPDATED\n/);
  });
});
