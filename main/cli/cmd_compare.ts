// `septwb compare`: one scenario under two designs, side by side (issue 5). Records both runs,
// then asks the Compare area for the metric deltas, the first event where the runs behave
// differently, and the verdict, so the CLI says exactly what the Compare view shows.
import type { Comparison, MetricRow } from '../../shared/api/compare.ts';
import type { DesignId } from '../../shared/scenario.ts';
import { unwrap, type CliDeps, type CommandSpec } from './command.ts';
import { BadInputError, FlagError } from './errors.ts';
import { parseScenarioRunArgs, readScenarioFile, runJob, runJson, withRecordTarget, type FinishedRun, type RecordTarget } from './run_output.ts';
import { printJson, TablePrinter } from './table_printer.ts';

export interface CompareOptions {
  file: string;
  /** Exactly two, or empty for the scenario's first two. */
  designs: DesignId[];
  seed: number | null;
  json: boolean;
  target: RecordTarget;
}

export function newCompareCmd(deps: CliDeps, runF: (opts: CompareOptions) => Promise<void> = (opts) => compareRun(deps, opts)) {
  return async (argv: string[]): Promise<void> => {
    const { file, designs, seed, json, target } = parseScenarioRunArgs(deps, 'compare', argv, (given) => {
      if (given.length !== 0 && given.length !== 2) throw new FlagError(`compare takes two designs: --design A --design B (got ${given.length})`);
    });
    await runF({ file, designs, seed, json, target });
  };
}

export async function compareRun(deps: CliDeps, opts: CompareOptions): Promise<void> {
  const file = readScenarioFile(deps, opts.file);
  const designs = opts.designs.length === 2 ? opts.designs : file.scenario.designs.slice(0, 2);
  if (designs.length !== 2) throw new BadInputError(`the scenario lists ${designs.length} design${designs.length === 1 ? '' : 's'}; give two: --design A --design B`);
  const seed = opts.seed ?? file.scenario.seed;
  const recorded = opts.target.kind === 'db';
  await withRecordTarget(deps, opts.target, async (service, opened) => {
    const runs = await runJob(deps, opened, { file, designs, seed });
    const comparison = unwrap(await service.compareRuns({ runA: runs[0].runId, runB: runs[1].runId }));
    if (opts.json) printJson(deps.io, { runs: runs.map((r) => runJson(r, recorded)), comparison });
    else printComparison(deps, comparison, runs, seed, recorded);
    if (opts.target.kind === 'db') deps.io.err.write(`septwb: recorded runs ${runs[0].runId}, ${runs[1].runId} in ${opts.target.dbFile}\n`);
  });
}

/** `+3`, `-1`, `0`; '' where there is no number to subtract. */
function deltaText(delta: number | null): string {
  if (delta === null) return '';
  return delta > 0 ? `+${delta}` : String(delta);
}

function toneText(row: MetricRow): string {
  return row.tone === 'better' || row.tone === 'worse' ? `B ${row.tone}` : '';
}

/**
 * The table (one row per metric, A and B side by side), then the first difference and the
 * verdict. On a terminal they are labelled paragraphs; piped, `first-difference` and `verdict`
 * rows in the same tab-separated form as the table.
 */
function printComparison(deps: CliDeps, c: Comparison, runs: FinishedRun[], seed: number, recorded: boolean): void {
  const { io } = deps;
  const runText = (r: FinishedRun) => (recorded ? `, run ${r.runId}` : '');
  const title = `${c.scenarioName || runs[0].record.scenarioName || 'scenario'} (seed ${seed}): A = ${c.a.design}${runText(runs[0])}, B = ${c.b.design}${runText(runs[1])}`;
  const table = new TablePrinter(io, title, ['metric', 'A', 'B', 'delta', 'B vs A']);
  const outcome = (s: Comparison['a']) => (s.outcome === null ? '-' : `${s.outcome.status}${s.outcome.site ? ` at ${s.outcome.site}` : ''}`);
  table.addRow(['outcome', outcome(c.a), outcome(c.b), '', '']);
  for (const row of c.metrics) table.addRow([row.label, row.aText, row.bText, deltaText(row.delta), toneText(row)]);
  table.render();
  const d = c.firstDifference;
  const first = d === null ? 'none: the runs make the same SEAMCALLs and checks in every operation' : `operation ${d.ordinal} (${d.opLabel}), A event ${d.seqA}, B event ${d.seqB}: ${d.summary}`;
  if (io.isTTY) {
    io.out.write(`\nFirst difference: ${first}\n\nVerdict: ${c.verdict}\n`);
  } else {
    io.out.write(`first-difference\t${first.replace(/[\t\r\n]+/g, ' ')}\nverdict\t${c.verdict.replace(/[\t\r\n]+/g, ' ')}\n`);
  }
}

export const compareCommand: CommandSpec = {
  name: 'compare',
  summary: 'run a scenario under two designs and compare them side by side',
  help: `Usage: septwb compare <scenario.json> [--design A --design B] [--seed N] [--json] [--db FILE | --no-record]

Runs the scenario under two designs (default: the first two in the scenario's
"designs" list), records both, and prints their metrics side by side with the
delta (B - A), the first event where they behave differently (SEAMCALLs and
checks, aligned by scenario operation), and a short verdict written from the
data. Exits 0 whenever both simulations ran, whatever their outcomes.

Flags:
  --design ID   give exactly two: A then B (per-op, unified, unified-single-hook, mainline-4k)
  --seed N      PRNG seed, 0..4294967295 (default: the scenario's)
  --json        {"runs": [A, B] (as "septwb run --json"), "comparison": {...}}
  --db FILE     database (default: $XDG_DATA_HOME/septwb/septwb.db or ~/.local/share/septwb/septwb.db)
  --no-record   keep nothing: record into a scratch database and delete it

Examples:
  septwb compare scenarios/seed-leaf-change-atomic.json --design per-op --design unified
  septwb compare scenarios/zap-4k-busy-once.json --no-record --json | jq -r .comparison.verdict`,
  create: (deps) => newCompareCmd(deps),
};
