// `septwb state` on a recorded run: flags through runF, then both page tables (mirror and
// S-EPT) at chosen events of a first private 4K fault.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliTestEnv, expectFlags, recordFirstFault, type EventLine } from './cli_test_support.ts';
import { newStateCmd, type StateOptions } from './cmd_state.ts';

const env = cliTestEnv('cmd-state');
const { dir, defaultDb, septwb } = env;
const db = join(dir, 's.db');

describe('state flags', () => {
  const cases: { argv: string[]; want?: StateOptions; error?: RegExp }[] = [
    { argv: ['2', '--at', '31'], want: { dbFile: defaultDb, runId: 2, seq: 31, gfnWindow: null, json: false } },
    { argv: ['2', '--at', '0', '--gfn-start', '0x1200', '--gfn-end', '4864', '--json'], want: { dbFile: defaultDb, runId: 2, seq: 0, gfnWindow: { gfnStart: 0x1200, gfnEnd: 4864 }, json: true } },
    { argv: ['2'], error: /state needs --at N/ },
    { argv: ['2', '--at', 'last'], error: /--at must be an integer/ },
    { argv: ['2', '--at', '1', '--gfn-start', '0x10'], error: /--gfn-start and --gfn-end go together/ },
    { argv: ['2', '--at', '1', '--gfn-start', '0x10', '--gfn-end', '0x10'], error: /--gfn-end must be greater than --gfn-start/ },
    { argv: ['2', '--at', '1', '--gfn-start', '0xzz', '--gfn-end', '0x10'], error: /--gfn-start must be a gfn/ },
    { argv: ['--at', '1'], error: /state needs a run id/ },
  ];
  it.each(cases)('$argv', (c) => expectFlags(newStateCmd, env.deps(), c));
});

describe('septwb state on a recorded run', () => {
  let lines: EventLine[] = [];
  beforeAll(async () => {
    lines = await recordFirstFault(env, db);
  });

  it('a missing run exits 3', async () => {
    expect((await septwb(['state', '7', '--at', '0', '--db', db])).code).toBe(3);
  });

  it('state at the last event: four mirror entries and four S-EPT entries, the leaf PENDING, no mismatch', async () => {
    const last = lines.length - 1;
    const r = await septwb(['state', '1', '--at', String(last), '--json', '--db', db]);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as { seq: number; mirror: { level: number; gfnStart: number; value: string; kind: string }[]; sept: { level: number; gfnStart: number; kind: string }[]; mismatchCount: number };
    expect(s.seq).toBe(last);
    expect(s.mirror.map((x) => x.level)).toEqual([4, 3, 2, 1]);
    expect(s.sept.map((x) => x.level)).toEqual([4, 3, 2, 1]);
    expect(s.mirror[3]).toMatchObject({ gfnStart: 0x1234, kind: 'leaf' });
    expect(s.mirror[3].value).toMatch(/^0x[0-9a-f]{16}$/);
    expect(s.sept[3]).toMatchObject({ gfnStart: 0x1234, kind: 'PENDING' });
    expect(s.mismatchCount).toBe(0);
  });

  it('state right after the first SEPT.ADD: one S-EPT entry, marked changed', async () => {
    const add = lines.find((l) => l.tree === 'sept');
    expect(add).toBeDefined();
    const r = await septwb(['state', '1', '--at', String(add!.seq), '--db', db]);
    expect(r.code, r.err).toBe(0);
    const sept = r.out.trimEnd().split('\n').map((l) => l.split('\t')).filter((c) => c[0] === 'sept');
    expect(sept).toHaveLength(1);
    expect(sept[0].slice(1, 3)).toEqual(['4', '0x0']);
    expect(sept[0][5]).toBe('NL_MAPPED');
    expect(sept[0][7]).toBe('changed');
  });

  it('state past the end shows the last event and says so', async () => {
    const r = await septwb(['state', '1', '--at', '100000', '--db', db], true);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/showing the state after the last/);
    expect(r.out).toMatch(/^Mirror \(KVM\), run 1 after event \d+\n\nTREE +LEVEL +GFN +COUNT +VALUE +KIND +ENTRY +MARKS\n/);
    expect(r.out).toMatch(/\nS-EPT \(TDX module\), run 1 after event \d+\n/);
    expect(r.out).toMatch(/0 entries differ between mirror and S-EPT\n$/);
  });
});
