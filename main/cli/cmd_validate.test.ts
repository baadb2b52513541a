// `septwb validate`: flags, every built-in scenario valid, error lines that name a JSON path,
// exit codes as a real process, and a fuzz over generated and mutated scenario texts
// (PRODUCT.md section 6: bad input never crashes anything, every error names a path).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cliTestEnv, expectFlags, runBin, type FlagCase, SCENARIOS_DIR as scenariosDir } from './cli_test_support.ts';
import { newValidateCmd, type ValidateOptions } from './cmd_validate.ts';
import { main } from './septwb.ts';

const env = cliTestEnv('cmd-validate');
const { dir, deps } = env;

const builtinFiles = readdirSync(scenariosDir).filter((f) => f.endsWith('.json')).sort();
const builtinTexts = builtinFiles.map((f) => readFileSync(join(scenariosDir, f), 'utf8'));

async function validateText(text: string, extra: string[] = []) {
  const file = join(dir, 'fuzz.json');
  writeFileSync(file, text);
  return env.septwb(['validate', file, ...extra]);
}

/**
 * An error line: optional `line:col `, then a JSON path from `$` (a key with spaces is quoted,
 * `$[" "]`, so the path may hold spaces), then `: problem`.
 */
const ERROR_LINE = /^(\d+:\d+ )?\$(\S*|.*["\]]): \S/;

describe('validate flags', () => {
  it.each([
    { argv: ['s.json'], want: { file: 's.json', json: false } },
    { argv: ['s.json', '--json'], want: { file: 's.json', json: true } },
    { argv: [], error: /validate needs a scenario file/ },
    { argv: ['a.json', 'b.json'], error: /validate takes one file, got 2/ },
    { argv: ['a.json', '--strict'], error: /Unknown option '--strict'/ },
  ] satisfies FlagCase<ValidateOptions>[])('$argv', (c) => expectFlags(newValidateCmd, deps(), c));
});

describe('septwb validate, in memory', () => {
  it.each(builtinFiles)('built-in %s is valid', async (file) => {
    const d = deps();
    expect(await main(['validate', join(scenariosDir, file)], d)).toBe(0);
    expect(d.io.outText()).toBe('valid\n');
    expect(d.io.errText()).toBe('');
  });

  it.each([
    { name: 'syntax error', text: '{"schema": "septwb/scenario@1",,}', want: /^1:\d+ \$: invalid JSON/ },
    { name: 'wrong type', text: '{\n"schema": "septwb/scenario@1",\n"vm": []\n}', want: /^3:7 \$\.vm: expected an object/m },
    { name: 'not an object', text: '[]', want: /^1:1 \$: / },
    { name: 'empty file', text: '', want: /^(\d+:\d+ )?\$: / },
  ])('$name: exit 2, error lines on stderr, nothing on stdout', async ({ text, want }) => {
    const r = await validateText(text);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(want);
    for (const line of r.err.trimEnd().split('\n')) expect(line).toMatch(ERROR_LINE);
  });

  it('--json: the errors as data on stdout, still exit 2', async () => {
    const r = await validateText('{"schema": "septwb/scenario@1"}', ['--json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.out) as { valid: boolean; errors: { path: string; problem: string }[] };
    expect(doc.valid).toBe(false);
    expect(doc.errors.map((e) => e.path)).toContain('$.vm');
    const ok = await validateText(builtinTexts[0], ['--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ valid: true, errors: [] });
  });

  it('an unreadable file exits 2 with the reason', async () => {
    const d = deps();
    expect(await main(['validate', join(dir, 'missing.json')], d)).toBe(2);
    expect(d.io.errText()).toMatch(/^septwb: cannot read .*missing\.json: ENOENT/);
  });
});

/** A JSON value at a random path of `value` replaced by `replacement`, or a key deleted. */
function mutate(value: unknown, picks: number[], replacement: unknown): unknown {
  if (picks.length === 0 || value === null || typeof value !== 'object') return replacement;
  const [pick, ...rest] = picks;
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const copy = [...value];
    copy[pick % copy.length] = mutate(copy[pick % copy.length], rest, replacement);
    return copy;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const key = keys[pick % keys.length];
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (replacement === DELETE && rest.length === 0) delete copy[key];
  else copy[key] = mutate(copy[key], rest, replacement);
  return copy;
}
const DELETE = Symbol('delete');

describe('validate fuzz', () => {
  const texts = fc.oneof(
    // Arbitrary JSON, and arbitrary strings.
    fc.json({ maxDepth: 4 }),
    fc.string({ maxLength: 200 }),
    // A built-in with one value replaced (any JSON, a hostile number, a huge string) or one key deleted.
    fc
      .tuple(
        fc.integer({ min: 0, max: builtinTexts.length - 1 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom<unknown>(DELETE, 1e308, -1, 2 ** 53, '0x', '0xffffffffffffffffff', '', '__proto__', [], {})),
      )
      .map(([i, picks, replacement]) => JSON.stringify(mutate(JSON.parse(builtinTexts[i]), picks, replacement), null, 1) ?? ''),
    // A built-in's text cut short or with a character spliced in.
    fc
      .tuple(fc.integer({ min: 0, max: builtinTexts.length - 1 }), fc.nat(), fc.constantFrom('', '}', ',', '"', '\u0000', '\ufeff'))
      .map(([i, at, insert]) => {
        const t = builtinTexts[i];
        const cut = at % (t.length + 1);
        return insert === '' ? t.slice(0, cut) : t.slice(0, cut) + insert + t.slice(cut);
      }),
  );

  it('never crashes: exit 0 with "valid", or exit 2 with error lines that each name a $ path', async () => {
    await fc.assert(
      fc.asyncProperty(texts, async (text) => {
        const r = await validateText(text);
        expect([0, 2]).toContain(r.code);
        if (r.code === 0) {
          expect(r.out).toBe('valid\n');
          return;
        }
        expect(r.out).toBe('');
        const lines = r.err.trimEnd().split('\n');
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) expect(line).toMatch(ERROR_LINE);
      }),
      { numRuns: 300, seed: 20260519 },
    );
  });
});

describe('septwb validate as a process', () => {
  const run = (file: string) => runBin(['validate', file]);

  it('exits 0 for a valid file and 2 for an invalid one', async () => {
    const bad = join(dir, 'bad-process.json');
    writeFileSync(bad, '{"schema": "septwb/scenario@2"}');
    const [good, invalid] = await Promise.all([run(join(scenariosDir, 'zap-4k.json')), run(bad)]);
    expect(good).toMatchObject({ code: 0, stdout: 'valid\n', stderr: '' });
    expect(invalid.code).toBe(2);
    expect(invalid.stdout).toBe('');
    expect(invalid.stderr).toMatch(/^1:\d+ \$\.schema: /m);
  });
});
