// Engine benchmark (PRODUCT.md section 5: "at least 500,000 simulated 4K private faults per
// second, checker on, one core"). Runs the built-in scenario fault-range-1gib-4k (262,144 private
// 4K faults on one vCPU) through the whole engine: MMU, TDX module, KVM TDX glue, the design's
// hooks, the invariant checker and event emission, chunks handed to a no-op consumer.
//
// The engine is measured as it ships: bundled by Vite (rolldown) with the app's main-process
// output options (scripts/main_output.mjs) and its sync twins (scripts/sync_twins.mjs), as
// electron-vite builds it. Under tsx every imported binding is a getter, which makes the same
// code several times slower; bundled with Vite's default options every top-level const becomes a
// var, about a sixth slower. So the engine is built here with Vite's JS API into a temporary
// directory and imported from there; if that fails the unbundled import is measured instead and
// the figure's name says so. The machine may be shared and noisy: each figure is the best of RUNS
// runs, wall-clock, after a warm-up run of every design. With the checker on, the baseline column
// is the same engine on its generators (stretches in place off), its runs taken in turn with the
// figure's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DesignId, Scenario } from '../shared/scenario.ts';
import { parseScenarioText } from '../shared/scenario_validate.ts';
import type { RunOptions, RunResult } from '../main/sim/engine.ts';
import { syncTwinsVitePlugin } from '../scripts/sync_twins.mjs';
import { MAIN_OUTPUT_OPTIONS } from '../scripts/main_output.mjs';
// Types only: bench.ts is the entry module and imports this file while its own top-level await
// is pending, so a value import of bench.ts from here would wait on it forever (exit code 13).
import type { Figure, FigureProvider } from './figure.ts';

const SCENARIO_FILE = '../scenarios/fault-range-1gib-4k.json';
const DESIGNS_MEASURED: readonly DesignId[] = ['per-op', 'unified', 'mainline-4k'];
const FAULTS_PER_SECOND_BAR = 500_000;
const RUNS = 5;

type RunScenario = (scenario: Scenario, options: RunOptions) => RunResult;

interface Engine {
  runScenario: RunScenario;
  /** 'bundled' or 'unbundled (bundling failed: ...)', for the figure names. */
  how: string;
}

/** Builds main/sim/engine.ts with Vite as the app's main process is built, into `dir`, and imports it; the tsx import if that fails. */
async function loadEngine(dir: string): Promise<Engine> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    const { build } = await import('vite');
    await build({
      configFile: false,
      root,
      logLevel: 'silent',
      plugins: [syncTwinsVitePlugin()],
      build: {
        ssr: join(root, 'main/sim/engine.ts'),
        outDir: dir,
        emptyOutDir: true,
        rollupOptions: { output: { ...MAIN_OUTPUT_OPTIONS, entryFileNames: 'engine.mjs' } },
      },
    });
    const mod = (await import(pathToFileURL(join(dir, 'engine.mjs')).href)) as { runScenario: RunScenario };
    return { runScenario: mod.runScenario, how: 'bundled' };
  } catch (err) {
    const mod = await import('../main/sim/engine.ts');
    return { runScenario: mod.runScenario, how: `unbundled (bundling failed: ${(err as Error).message.split('\n')[0]})` };
  }
}

function loadScenario(): Scenario {
  const parsed = parseScenarioText(readFileSync(fileURLToPath(new URL(SCENARIO_FILE, import.meta.url)), 'utf8'));
  if (!parsed.ok) throw new Error(`engine_bench: ${SCENARIO_FILE} does not validate`);
  return parsed.scenario;
}

/** Private 4K faults the scenario makes: the pages of its fault-range operations. */
function faultsOf(scenario: Scenario): number {
  let faults = 0;
  for (const phase of scenario.phases) {
    for (const ops of Object.values(phase.threads)) for (const op of ops) if (op.op === 'fault-range') faults += op.pages;
  }
  return faults;
}

interface TimedRun {
  faultsPerSecond: number;
  eventsPerFault: number;
  stepsPerFault: number;
  /** Share of the steps run on the sync twins (proc.ts, stretches in place), in percent. */
  stepsInPlacePercent: number;
}

/** One timed run: faults per second and the work per fault. Throws if the run did not complete (then the figures mean nothing). */
function timedRun(engine: Engine, scenario: Scenario, design: DesignId, checker: boolean, faults: number, stretchesInPlace = true): TimedRun {
  const started = performance.now();
  const result = engine.runScenario(scenario, { design, checker, onChunk: () => {}, stretchesInPlace });
  const seconds = (performance.now() - started) / 1000;
  if (result.outcome.status !== 'completed') throw new Error(`engine_bench: ${design} ended ${result.outcome.status}: ${result.outcome.reason}`);
  if (checker && result.metrics.divergences !== 0) throw new Error(`engine_bench: ${design} reported ${result.metrics.divergences} divergences`);
  return {
    faultsPerSecond: faults / seconds,
    eventsPerFault: result.metrics.events / faults,
    stepsPerFault: result.metrics.steps / faults,
    stepsInPlacePercent: (100 * result.stepsInStretches) / result.metrics.steps,
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The run with the most faults per second. */
function fastest(runs: readonly TimedRun[]): TimedRun {
  return runs.reduce((best, r) => (r.faultsPerSecond > best.faultsPerSecond ? r : best));
}

/** The fastest of `runs` runs. */
function bestOf(runs: number, measure: () => TimedRun): TimedRun {
  return bestOfEach(runs, [measure])[0];
}

/** The fastest of `runs` runs of each way of running, the ways taken in turn so that the machine's drift treats them alike. */
function bestOfEach(runs: number, ways: readonly (() => TimedRun)[]): TimedRun[] {
  const timed: TimedRun[][] = ways.map(() => []);
  for (let i = 0; i < runs; i++) ways.forEach((measure, w) => timed[w].push(measure()));
  return timed.map(fastest);
}

export const figures: FigureProvider = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'septwb-engine-bench-'));
  try {
    const engine = await loadEngine(dir);
    const scenario = loadScenario();
    const faults = faultsOf(scenario);
    const out: Figure[] = [];
    // One untimed run of each design, each way, first: the designs share most of the engine, so
    // without it the first design measured would carry the whole engine's compilation in its
    // runs, and the others would not.
    for (const design of DESIGNS_MEASURED) {
      timedRun(engine, scenario, design, true, faults);
      timedRun(engine, scenario, design, true, faults, false);
    }
    for (const checker of [true, false]) {
      for (const design of DESIGNS_MEASURED) {
        const name = `engine ${design}: 4K private faults, checker ${checker ? 'on' : 'off (reference)'} (${engine.how}, best of ${RUNS})`;
        if (!checker) {
          const rate = bestOf(RUNS, () => timedRun(engine, scenario, design, false, faults)).faultsPerSecond;
          out.push({ name, value: Math.round(rate), unit: 'faults/s', bar: null, meets: null, baseline: null });
          continue;
        }
        // The same engine on its generators (stretches in place off) is the baseline, in turn with it.
        const [best, generators] = bestOfEach(RUNS, [() => timedRun(engine, scenario, design, true, faults), () => timedRun(engine, scenario, design, true, faults, false)]);
        const rate = best.faultsPerSecond;
        out.push({ name, value: Math.round(rate), unit: 'faults/s', bar: FAULTS_PER_SECOND_BAR, meets: rate >= FAULTS_PER_SECOND_BAR, baseline: Math.round(generators.faultsPerSecond) });
        // What one fault costs in events and scheduler steps: at the bar, all of it gets 2 us.
        out.push({ name: `engine ${design}: events per 4K private fault`, value: round2(best.eventsPerFault), unit: 'events', bar: null, meets: null, baseline: null });
        out.push({ name: `engine ${design}: scheduler steps per 4K private fault`, value: round2(best.stepsPerFault), unit: 'steps', bar: null, meets: null, baseline: null });
        // How much ran on the sync twins: all of it when the build generated them (one vCPU).
        out.push({ name: `engine ${design}: steps run in place on the sync twins`, value: round2(best.stepsInPlacePercent), unit: '%', bar: null, meets: null, baseline: null });
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
