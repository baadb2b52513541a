// `septwb run`: runs a scenario under each design and prints the outcomes and metrics (issue 5).
// A simulated bug is an outcome, not a failure: the command exits 0 whenever the simulation ran.
import type { DesignId } from '../../shared/scenario.ts';
import type { CliDeps, CommandSpec } from './command.ts';
import { writeEventsJsonl } from './event_jsonl.ts';
import { BadInputError, FlagError } from './errors.ts';
import {
  isCompleted, parseScenarioRunArgs, readScenarioFile, reproduceLine, runJob, runJson, runTableRow, RUN_TABLE_HEADERS,
  withRecordTarget, type FinishedRun, type RecordTarget,
} from './run_output.ts';
import { printJson, TablePrinter } from './table_printer.ts';

export type RunFormat = 'table' | 'json' | 'jsonl';

export interface RunOptions {
  file: string;
  /** Designs to run; empty means the scenario's own list. */
  designs: DesignId[];
  /** null: the scenario's seed. */
  seed: number | null;
  format: RunFormat;
  target: RecordTarget;
}

export function newRunCmd(deps: CliDeps, runF: (opts: RunOptions) => Promise<void> = (opts) => runRun(deps, opts)) {
  return async (argv: string[]): Promise<void> => {
    const args = parseScenarioRunArgs(deps, 'run', argv, (designs, jsonl) => {
      if (jsonl && designs.length > 1) throw new FlagError(`--jsonl streams one run: give at most one --design (got ${designs.length})`);
    });
    const { file, designs, seed, target } = args;
    await runF({ file, designs, seed, format: args.jsonl ? 'jsonl' : args.json ? 'json' : 'table', target });
  };
}

export async function runRun(deps: CliDeps, opts: RunOptions): Promise<void> {
  const file = readScenarioFile(deps, opts.file);
  const designs = opts.designs.length > 0 ? opts.designs : file.scenario.designs;
  if (opts.format === 'jsonl' && designs.length !== 1) {
    throw new BadInputError(`--jsonl streams one run, but the scenario lists ${designs.length} designs (${designs.join(', ')}): give one --design`);
  }
  const seed = opts.seed ?? file.scenario.seed;
  const recorded = opts.target.kind === 'db';
  await withRecordTarget(deps, opts.target, async (service, opened) => {
    const runs = await runJob(deps, opened, { file, designs, seed });
    if (opts.format === 'jsonl') await writeEventsJsonl(service, { runId: runs[0].runId, seqFrom: 0, seqTo: Infinity, limit: Infinity }, (t) => deps.io.out.write(t));
    else if (opts.format === 'json') printJson(deps.io, { runs: runs.map((r) => runJson(r, recorded)) });
    else printRunTable(deps, file.scenario.name, seed, runs, recorded);
    reportEndings(deps, runs, opts);
  });
}

function printRunTable(deps: CliDeps, scenarioName: string, seed: number, runs: FinishedRun[], recorded: boolean): void {
  const headers = recorded ? ['run', ...RUN_TABLE_HEADERS] : RUN_TABLE_HEADERS;
  const table = new TablePrinter(deps.io, `${scenarioName} (seed ${seed})`, headers);
  for (const run of runs) table.addRow(recorded ? [run.runId, ...runTableRow(run)] : runTableRow(run));
  table.render();
}

/** Notices on stderr: where the runs are kept, and how to reproduce each that did not complete. */
function reportEndings(deps: CliDeps, runs: FinishedRun[], opts: RunOptions): void {
  if (opts.target.kind === 'db') {
    deps.io.err.write(`septwb: recorded run${runs.length === 1 ? '' : 's'} ${runs.map((r) => r.runId).join(', ')} in ${opts.target.dbFile}\n`);
  }
  for (const run of runs) {
    if (isCompleted(run)) continue;
    const outcome = run.record.outcome;
    deps.io.err.write(`septwb: ${run.record.design}: ${outcome?.status ?? run.record.status}${outcome?.reason ? `: ${outcome.reason}` : ''}\n`);
    deps.io.err.write(`  reproduce: ${reproduceLine(run, opts.file)}\n`);
  }
}

export const runCommand: CommandSpec = {
  name: 'run',
  summary: 'run a scenario under each design and print outcomes and metrics',
  help: `Usage: septwb run <scenario.json> [--design ID]... [--seed N] [--json | --jsonl] [--db FILE | --no-record]

Runs the scenario under each design (default: the scenario's "designs" list) and
prints one row per design: outcome, where it ended, hook calls, SEAMCALLs, BUSY
retries, kicks, bugs, WARNs, checker divergences, detection latency (steps from
the first divergence to the first detection; "never" if undetected), steps,
events and the event-stream hash. A simulated bug is an outcome: the command
exits 0 whenever the simulation ran. For each run that did not complete, a
"reproduce:" line goes to stderr.

Runs are recorded in the database (see "septwb runs"); --no-record uses a
scratch database that is deleted afterwards.

Flags:
  --design ID   run this design (repeatable): per-op, unified, unified-single-hook, mainline-4k
  --seed N      PRNG seed, 0..4294967295 (default: the scenario's)
  --json        one JSON document: {"runs": [{design, seed, hash, runId, outcome, metrics}]}
  --jsonl       every event of the (single) run as one JSON object per line:
                seq, thread, layer, name, parent, gfn, level, old, new (hex or null),
                status, detail, end, step, op, tree
  --db FILE     database (default: $XDG_DATA_HOME/septwb/septwb.db or ~/.local/share/septwb/septwb.db)
  --no-record   keep nothing: record into a scratch database and delete it

Exit codes: 0 the simulation ran (whatever its outcome), 2 bad flags or scenario,
1 internal error, 130 interrupted.

Examples:
  septwb run scenarios/first-private-fault-4k.json
  septwb run scenarios/zap-4k-busy-twice.json --design per-op --json | jq '.runs[0].outcome'
  septwb run scenarios/zap-4k.json --design unified --jsonl --no-record | jq -c 'select(.layer == "tdx")'`,
  create: (deps) => newRunCmd(deps),
};
