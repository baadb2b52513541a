// `septwb compare`: flags through runF, then real comparisons through main() in memory. The
// comparison itself is the Compare area's (tested there); here: that both runs are recorded (or
// not), the deltas and the verdict reach the output, and exit codes.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Comparison } from '../../shared/api/compare.ts';
import { cliTestEnv, expectFlags, scenario } from './cli_test_support.ts';
import { newCompareCmd, type CompareOptions } from './cmd_compare.ts';

// Scratch databases (--no-record) go under TMPDIR: pointed into the temp folder to see them removed.
const env = cliTestEnv('cmd-compare', { scratchTmp: true });
const { dir, scratchParent, septwb } = env;

describe('compare flags', () => {
  const cases: { name: string; argv: string[]; want?: Partial<CompareOptions>; error?: RegExp }[] = [
    { name: 'scenario designs', argv: ['s.json'], want: { file: 's.json', designs: [], json: false, target: { kind: 'db', dbFile: env.defaultDb } } },
    { name: 'two designs', argv: ['s.json', '--design', 'unified', '--design', 'per-op', '--json'], want: { designs: ['unified', 'per-op'], json: true } },
    { name: 'no-record and seed', argv: ['s.json', '--no-record', '--seed', '3'], want: { target: { kind: 'scratch' }, seed: 3 } },
    { name: 'one design', argv: ['s.json', '--design', 'unified'], error: /compare takes two designs: --design A --design B \(got 1\)/ },
    { name: 'three designs', argv: ['s.json', '--design', 'unified', '--design', 'per-op', '--design', 'mainline-4k'], error: /got 3/ },
    { name: 'bad design', argv: ['s.json', '--design', 'x', '--design', 'unified'], error: /"x" is not a design/ },
    { name: 'db and no-record', argv: ['s.json', '--db', 'a.db', '--no-record'], error: /--db and --no-record cannot be given together/ },
    { name: 'no file', argv: ['--json'], error: /compare needs a scenario file/ },
    { name: 'jsonl is not a compare flag', argv: ['s.json', '--jsonl'], error: /Unknown option '--jsonl'/ },
  ];
  it.each(cases)('$name', (c) => expectFlags(newCompareCmd, env.deps(), c, 'partial'));
});

describe('septwb compare, in memory', () => {
  it('--json --no-record: both runs, metric deltas, first difference and verdict; nothing kept', async () => {
    const r = await septwb(['compare', scenario('first-private-fault-4k.json'), '--design', 'per-op', '--design', 'unified', '--json', '--no-record']);
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out) as { runs: { design: string; runId?: number }[]; comparison: Comparison };
    expect(doc.runs.map((x) => x.design)).toEqual(['per-op', 'unified']);
    expect(doc.runs[0].runId).toBeUndefined();
    const c = doc.comparison;
    const link = c.metrics.find((m) => m.key === 'hook:link_external_spt');
    expect(link).toMatchObject({ a: 3, b: 0, delta: -3 });
    const set = c.metrics.find((m) => m.key === 'hook:set_external_spte');
    expect(set).toMatchObject({ a: 1, b: 4, delta: 3 });
    expect(c.metrics.find((m) => m.key === 'seamcall:TDH.MEM.SEPT.ADD:TDX_SUCCESS')).toMatchObject({ a: 3, b: 3, delta: 0 });
    // Same SEAMCALLs and checks: no behavioural difference, only the hooks differ.
    expect(c.firstDifference).toBeNull();
    expect(c.verdict).toMatch(/A \(per-op\) completes and B \(unified\) completes/);
    expect(readdirSync(scratchParent).filter((f) => f.startsWith('septwb-scratch-'))).toEqual([]);
    expect(r.err).not.toMatch(/recorded runs/);
  });

  it('records both runs by default and prints the table, first difference and verdict rows', async () => {
    const db = join(dir, 'compare.db');
    const r = await septwb(['compare', scenario('zap-4k-busy-twice.json'), '--db', db]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0].split('\t').slice(0, 3)).toEqual(['outcome', 'vm-bugged at TDH.MEM.RANGE.BLOCK', 'vm-bugged at TDH.MEM.RANGE.BLOCK']);
    expect(lines).toContainEqual(expect.stringMatching(/^TDH\.MEM\.RANGE\.BLOCK → TDX_OPERAND_BUSY\t2\t2\t0\t$/));
    expect(lines.at(-2)).toMatch(/^first-difference\t/);
    expect(lines.at(-1)).toMatch(/^verdict\tOn "[^"]+", A \(per-op\) ends vm-bugged/);
    expect(r.err).toMatch(/recorded runs 1, 2 in .*compare\.db/);
    const listed = await septwb(['runs', 'list', '--db', db, '--json']);
    expect((JSON.parse(listed.out) as { design: string }[]).map((x) => x.design)).toEqual(['unified', 'per-op']);
  });

  it('on a terminal: a title naming A and B, headers, then labelled paragraphs', async () => {
    const r = await septwb(['compare', scenario('first-private-fault-4k.json'), '--no-record'], true);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^First private 4K fault in a fresh TD \(seed 1\): A = per-op, B = unified\n\nMETRIC +A +B +DELTA +B VS A\n/);
    expect(r.out).toMatch(/\nFirst difference: none/);
    expect(r.out).toMatch(/\n\nVerdict: On "First private 4K fault in a fresh TD"/);
  });

  it('a scenario with one design and no --design: exit 2 asking for two', async () => {
    const doc = JSON.parse(readFileSync(scenario('first-private-fault-4k.json'), 'utf8')) as { designs: string[] };
    doc.designs = ['unified'];
    const file = join(dir, 'one-design.json');
    writeFileSync(file, JSON.stringify(doc));
    const r = await septwb(['compare', file, '--no-record']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the scenario lists 1 design; give two: --design A --design B/);
  });
});
