// The sync-twin transform (scripts/sync_twins.mjs) on small sources: what it writes, what it
// refuses, and (compiled and imported) that a twin returns what its generator returns. The
// engine-level proof that twins change nothing is in main/sim/engine.test.ts ("stretches in place").
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_OVER } from '../main/sim/proc.ts';
import { addSyncTwins, isSyncTwinSource } from './sync_twins.mjs';

const ROOT = join(import.meta.dirname, '..');
const SIM_FILE = join(ROOT, 'main', 'sim', 'ops', 'example.ts');

const SOURCE = `
import { STEP, mustYieldStep, type Proc } from '../proc.ts';
export function* inner(a: number): Proc<number> {
  return a * 2;
}
export function* outer(a: number, b: number): Proc<number> {
  const x = yield* inner(a);
  return x + (yield* pick(b > 0)(b));
}
/** A dispatcher: a plain function returning the Proc of the path it chose. */
export function pick(positive: boolean): (v: number) => Proc<number> {
  return positive ? inner : negate;
}
export function choose(positive: boolean, v: number): Proc<number> {
  const later = () => inner(v);
  return positive ? inner(v) : negate(v);
}
export function* negate(v: number): Proc<number> {
  return -v;
}
export function* stepping(): Proc<void> {
  if (mustYieldStep()) yield STEP;
}
export const hooks = { run: (v: number) => choose(v > 0, v), plain: (v: number) => v + 1 };
`;

describe('addSyncTwins', () => {
  const out = addSyncTwins(SOURCE, SIM_FILE);

  it('leaves the module text as it was and appends the twins after it', () => {
    expect(out.startsWith(SOURCE.slice(0, SOURCE.indexOf('export const hooks')))).toBe(true);
    expect(out).toContain("from '../proc.ts';");
    expect(out).toContain('outer.sync = function outer$sync(a: number, b: number) {');
  });

  it('turns yield* of a named call into the callee\'s twin (or the Proc driven in place), and yield into the boundary', () => {
    expect(out).toContain('const x = (inner.sync !== undefined ? inner.sync(a) : $driveSync(inner(a)));');
    // Not a named call: the Proc is driven in place.
    expect(out).toContain('$driveSync(pick(b > 0)(b))');
    expect(out).toContain('if (mustYieldStep()) $yieldSync(STEP);');
  });

  it('gives a dispatcher (declared to return a Proc) a twin whose returns are its own, not a nested function\'s', () => {
    expect(out).toContain('choose.sync = function choose$sync(positive: boolean, v: number) {');
    expect(out).toContain('const later = () => inner(v);');
    expect(out).toContain('return (positive ? (inner.sync !== undefined ? inner.sync(v) : $driveSync(inner(v))) : (negate.sync !== undefined ? negate.sync(v) : $driveSync(negate(v))));');
    // `pick` returns a function, not a Proc: no twin.
    expect(out).not.toContain('pick.sync =');
  });

  it('gives a hook arrow in an object literal its twin', () => {
    expect(out).toContain('run: $withSyncTwin((v: number) => choose(v > 0, v), (v: number) => (choose.sync !== undefined ? choose.sync(v > 0, v) : $driveSync(choose(v > 0, v))))');
  });

  it('returns a module with no Proc functions unchanged', () => {
    const plain = 'export function add(a: number, b: number): number {\n  return a + b;\n}\n';
    expect(addSyncTwins(plain, SIM_FILE)).toBe(plain);
  });

  it('refuses a Proc with a try statement, naming the file and line (a stretch ends by throwing)', () => {
    const withTry = 'import type { Proc } from "../proc.ts";\nexport function* f(): Proc<void> {\n  try {\n    yield 0;\n  } finally {\n    g();\n  }\n}\n';
    expect(() => addSyncTwins(withTry, SIM_FILE)).toThrow(/example\.ts:3: f has a try statement/);
  });

  it('skips a function whose doc comment says @noSyncTwin', () => {
    const tagged = '/** Entry. @noSyncTwin */\nexport function* entry(): Proc<void> {\n  try {\n    yield 0;\n  } catch {}\n}\n';
    expect(addSyncTwins(tagged, SIM_FILE)).toBe(tagged);
  });

  it('applies to main/sim modules only, not their tests', () => {
    expect(isSyncTwinSource(SIM_FILE)).toBe(true);
    expect(isSyncTwinSource(join(ROOT, 'main', 'sim', 'engine.test.ts'))).toBe(false);
    expect(isSyncTwinSource(join(ROOT, 'main', 'store', 'recorder.ts'))).toBe(false);
  });
});

describe('a transformed module, compiled and run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'septwb-sync-twins-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('its twins return what the generators return, and a yield with no scheduler ends the stretch (RUN_OVER)', async () => {
    // Written outside main/sim (so vitest's own plugin leaves it alone) with its proc.ts import
    // made absolute.
    const file = join(dir, 'example.ts');
    writeFileSync(file, addSyncTwins(SOURCE, SIM_FILE).replaceAll("'../proc.ts'", JSON.stringify(join(ROOT, 'main', 'sim', 'proc.ts'))));
    type Twinned = { (...args: never[]): Generator<number, number, void>; sync: (...args: unknown[]) => unknown };
    const mod = (await import(file)) as Record<string, Twinned> & { hooks: Record<string, Twinned> };
    const generatorResult = (g: Generator<number, number, void>): number => {
      let r = g.next();
      while (r.done !== true) r = g.next();
      return r.value;
    };
    for (const [a, b] of [[3, 4], [5, -2], [0, 0]]) {
      expect(mod.outer.sync(a, b)).toBe(generatorResult(mod.outer(a as never, b as never)));
    }
    expect(mod.choose.sync(false, 7)).toBe(-7);
    expect(mod.hooks.run.sync(9)).toBe(18);
    let thrown: unknown = null;
    try {
      mod.stepping.sync();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe(RUN_OVER);
  });
});

describe('running from source (the CLI, browser mode): scripts/sync_twins_hooks.mjs after tsx', () => {
  it('gives main/sim its twins in a real Node process, and a one-vCPU run goes in place with the same hash', () => {
    // The same two registrations as main/cli/bin.mjs and main/api/run_worker_boot.mjs; code given
    // with -e resolves its imports from the working directory, the repository.
    const probe = `
      import { register as registerHooks } from 'node:module';
      import { readFileSync } from 'node:fs';
      import { pathToFileURL } from 'node:url';
      import { register } from 'tsx/esm/api';
      register();
      registerHooks('./scripts/sync_twins_hooks.mjs', pathToFileURL('./'));
      const { runOp } = await import('./main/sim/ops/run_op.ts');
      const { runScenario } = await import('./main/sim/engine.ts');
      const { parseScenarioText } = await import('./shared/scenario_validate.ts');
      const parsed = parseScenarioText(readFileSync('scenarios/fault-aug-busy-retry.json', 'utf8'));
      const twins = runScenario(parsed.scenario, { design: 'per-op' });
      const generators = runScenario(parsed.scenario, { design: 'per-op', stretchesInPlace: false });
      console.log(JSON.stringify({ sync: typeof runOp.sync, inPlace: twins.stepsInStretches, steps: twins.metrics.steps, same: twins.hash === generators.hash }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { sync: string; inPlace: number; steps: number; same: boolean };
    expect(out.sync).toBe('function');
    expect(out.inPlace).toBeGreaterThan(0);
    expect(out.inPlace).toBeLessThan(out.steps + 1);
    expect(out.same).toBe(true);
  });
});
