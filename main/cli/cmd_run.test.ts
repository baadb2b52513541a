// `septwb run`: flag parsing through runF (cli/cli list_test.go style), then real runs of built-in
// scenarios through main() in memory (a worker records them into a temp database), and one real
// child process. Golden numbers come from the first private 4K fault (issue 5, "Done when").
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliTestEnv, expectFlags, FIRST_FAULT, runBin, scenario } from './cli_test_support.ts';
import { newRunCmd, type RunOptions } from './cmd_run.ts';
import { memoryIO } from './io.ts';
import { main, makeDeps } from './septwb.ts';

// Scratch databases (--no-record) go under TMPDIR: pointed into the temp folder to see them removed.
const env = cliTestEnv('cmd-run', { scratchTmp: true });
const { dir, defaultDb, scratchParent, septwb } = env;

describe('run flags', () => {
  const cases: { name: string; argv: string[]; want?: Partial<RunOptions>; error?: RegExp }[] = [
    { name: 'defaults', argv: ['s.json'], want: { file: 's.json', designs: [], seed: null, format: 'table', target: { kind: 'db', dbFile: defaultDb } } },
    { name: 'two designs', argv: ['s.json', '--design', 'per-op', '--design', 'unified'], want: { designs: ['per-op', 'unified'] } },
    { name: 'seed and json', argv: ['s.json', '--seed', '42', '--json'], want: { seed: 42, format: 'json' } },
    { name: 'jsonl with one design', argv: ['s.json', '--jsonl', '--design', 'unified'], want: { format: 'jsonl', designs: ['unified'] } },
    { name: 'no-record', argv: ['s.json', '--no-record'], want: { target: { kind: 'scratch' } } },
    { name: 'db', argv: ['s.json', '--db', '/tmp/x.db'], want: { target: { kind: 'db', dbFile: '/tmp/x.db' } } },
    { name: 'largest seed', argv: ['s.json', '--seed', '4294967295'], want: { seed: 4294967295 } },
    { name: 'no file', argv: [], error: /run needs a scenario file/ },
    { name: 'two files', argv: ['a.json', 'b.json'], error: /one scenario file, got 2/ },
    { name: 'unknown design', argv: ['s.json', '--design', 'perop'], error: /--design "perop" is not a design; known: per-op, unified/ },
    { name: 'json and jsonl', argv: ['s.json', '--json', '--jsonl'], error: /--json and --jsonl cannot be given together/ },
    { name: 'db and no-record', argv: ['s.json', '--db', 'x.db', '--no-record'], error: /--db and --no-record/ },
    { name: 'jsonl with two designs', argv: ['s.json', '--jsonl', '--design', 'per-op', '--design', 'unified'], error: /--jsonl streams one run: give at most one --design/ },
    { name: 'seed too large', argv: ['s.json', '--seed', '4294967296'], error: /--seed must be in/ },
    { name: 'seed negative', argv: ['s.json', '--seed', '-1'], error: /--seed|Unknown option/ },
    { name: 'seed not a number', argv: ['s.json', '--seed', 'x'], error: /--seed must be an integer/ },
    { name: 'unknown flag', argv: ['s.json', '--jsnol'], error: /Unknown option '--jsnol'/ },
  ];
  it.each(cases)('$name', (c) => expectFlags(newRunCmd, env.deps(), c, 'partial'));

  it('exits 2 through main and names the usage', async () => {
    const r = await septwb(['run', 'x.json', '--json', '--jsonl']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--json and --jsonl cannot be given together\nRun "septwb help run" for usage/);
  });
});

interface RunDoc {
  runs: {
    design: string;
    seed: number;
    hash: string;
    runId?: number;
    outcome: { status: string; site: string; reason: string };
    metrics: { hookCalls: Record<string, number>; seamcalls: Record<string, Record<string, number>>; events: number; bugs: unknown[]; detectionLatency: number };
  }[];
}

describe('septwb run, in memory', () => {
  it('--json: the golden hook calls and SEAMCALLs of a first private 4K fault, both designs recorded', async () => {
    const db = join(dir, 'golden.db');
    const r = await septwb(['run', FIRST_FAULT, '--json', '--db', db]);
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out) as RunDoc;
    expect(doc.runs.map((x) => x.design)).toEqual(['per-op', 'unified']);
    const [perOp, unified] = doc.runs;
    expect(perOp.metrics.hookCalls).toEqual({ 'link_external_spt@set_external_spte_present': 3, 'set_external_spte@set_external_spte_present': 1 });
    expect(unified.metrics.hookCalls).toEqual({ 'set_external_spte@handle_changed_spte': 4 });
    for (const run of doc.runs) {
      expect(run.outcome).toEqual({ status: 'completed', site: '', reason: '' });
      expect(run.metrics.seamcalls).toEqual({ 'TDH.MEM.SEPT.ADD': { TDX_SUCCESS: 3 }, 'TDH.MEM.PAGE.AUG': { TDX_SUCCESS: 1 } });
      expect(run.seed).toBe(1);
      expect(run.hash).toMatch(/^[0-9a-f]{16}$/);
      expect(run.runId).toBeGreaterThan(0);
      expect(Object.keys(run.metrics)).toEqual([
        'hookCalls', 'seamcalls', 'retries', 'kicks', 'bugs', 'warns', 'divergences', 'firstDivergenceSeq', 'firstDetectionSeq', 'detectionLatency', 'steps', 'events',
      ]);
    }
    expect(r.err).toMatch(/recorded runs \d+, \d+ in .*golden\.db/);
    // Same scenario, design and seed: the same hash again (determinism through the whole path).
    const again = JSON.parse((await septwb(['run', FIRST_FAULT, '--json', '--no-record'])).out) as RunDoc;
    expect(again.runs.map((x) => x.hash)).toEqual(doc.runs.map((x) => x.hash));
    expect(again.runs[0].runId).toBeUndefined();
  });

  it('--jsonl: one line per event (metrics.events), the section 3 fields, recorded or not', async () => {
    const json = JSON.parse((await septwb(['run', FIRST_FAULT, '--design', 'unified', '--json', '--no-record'])).out) as RunDoc;
    const events = json.runs[0].metrics.events;
    for (const extra of [['--no-record'], ['--db', join(dir, 'jsonl.db')]]) {
      const r = await septwb(['run', FIRST_FAULT, '--design', 'unified', '--jsonl', ...extra]);
      expect(r.code, r.err).toBe(0);
      const lines = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(events);
      expect(lines.map((l) => l.seq)).toEqual([...Array(events).keys()]);
      expect(Object.keys(lines[0]).slice(0, 11)).toEqual(['seq', 'thread', 'layer', 'name', 'parent', 'gfn', 'level', 'old', 'new', 'status', 'detail']);
      const aug = lines.find((l) => l.name === 'TDH.MEM.PAGE.AUG');
      expect(aug).toMatchObject({ layer: 'tdx', level: 1, gfn: 0x1234, status: 'TDX_SUCCESS' });
      const write = lines.find((l) => typeof l.new === 'string');
      expect(write?.new).toMatch(/^0x[0-9a-f]{16}$/);
    }
  });

  it('--jsonl with a scenario of two designs and no --design: exit 2 naming both flags', async () => {
    const r = await septwb(['run', FIRST_FAULT, '--jsonl', '--no-record']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--jsonl streams one run.*give one --design/);
  });

  it('a simulated bug is an outcome: exit 0, the table says vm-bugged, stderr says how to reproduce', async () => {
    const file = scenario('zap-4k-busy-twice.json');
    const r = await septwb(['run', file, '--design', 'per-op', '--no-record', '--seed', '7']);
    expect(r.code, r.err).toBe(0);
    const row = r.out.trimEnd().split('\n');
    expect(row).toHaveLength(1);
    const cells = row[0].split('\t');
    expect(cells.slice(0, 3)).toEqual(['per-op', 'vm-bugged', 'TDH.MEM.RANGE.BLOCK']);
    expect(cells).toHaveLength(14);
    expect(r.err).toContain(`reproduce: septwb run ${file} --design per-op --seed 7`);
  });

  it('on a terminal: a title, uppercase headers and the run ids', async () => {
    const r = await septwb(['run', FIRST_FAULT, '--db', join(dir, 'tty.db')], true);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('First private 4K fault in a fresh TD (seed 1)');
    expect(lines[2]).toMatch(/^RUN +DESIGN +OUTCOME +SITE +HOOKS +SEAMCALLS +RETRIES +KICKS +BUGS +WARNS +DIVERGENCES +LATENCY +STEPS +EVENTS +HASH$/);
    expect(lines[3]).toMatch(/^1 +per-op +completed +- +4 +4 /);
    expect(lines[4]).toMatch(/^2 +unified +completed +- +4 +4 /);
  });

  it('an invalid scenario: exit 2, one "line:col $.path: problem" line per error', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{\n  "schema": "septwb/scenario@1",\n  "vm": 3\n}\n');
    const r = await septwb(['run', bad, '--no-record']);
    expect(r.code).toBe(2);
    const [head, ...errors] = r.err.trimEnd().split('\n');
    expect(head).toMatch(/bad\.json is not a valid scenario \(\d+ errors?\):/);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((l) => l.startsWith('3:9 $.vm: expected an object'))).toBe(true);
    for (const line of errors) expect(line).toMatch(/^(\d+:\d+ )?\$\S*: /);
  });

  it.each([
    ['a missing file', ['run', join(dir, 'nope.json')], /cannot read .*nope\.json/],
    ['a directory', ['run', dir], /not a regular file/],
  ])('%s: exit 2 with the reason', async (_name, argv, error) => {
    const r = await septwb(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(error);
  });

  it('Ctrl-C cancels the run in the worker: exit 130, and the scratch database is gone', async () => {
    const controller = new AbortController();
    const io = memoryIO({ env: { XDG_DATA_HOME: join(dir, 'data') } });
    const started = performance.now();
    const pending = main(['run', scenario('fault-range-1gib-4k.json'), '--design', 'unified', '--no-record'], { ...makeDeps(io, controller.signal), io });
    setTimeout(() => controller.abort(), 800);
    expect(await pending).toBe(130);
    expect(io.errText()).toMatch(/septwb: cancelled/);
    expect(io.outText()).toBe('');
    // The whole run takes several seconds; a cancelled one stops at the next recorded chunk.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('leaves no scratch database behind', () => {
    expect(readdirSync(scratchParent).filter((f) => f.startsWith('septwb-scratch-'))).toEqual([]);
  });
});

describe('septwb run as a process', () => {
  it('prints the --json document and exits 0', async () => {
    const procEnv = { ...process.env, XDG_DATA_HOME: join(dir, 'proc-data') };
    const { code, stdout, stderr } = await runBin(['run', FIRST_FAULT, '--design', 'per-op', '--json'], { env: procEnv });
    expect(code, stderr).toBe(0);
    const doc = JSON.parse(stdout) as RunDoc;
    expect(doc.runs).toHaveLength(1);
    expect(doc.runs[0].metrics.seamcalls['TDH.MEM.SEPT.ADD']).toEqual({ TDX_SUCCESS: 3 });
    expect(doc.runs[0].runId).toBe(1);
    expect(stderr).toMatch(/recorded run 1 in .*proc-data\/septwb\/septwb\.db/);
  });
});
