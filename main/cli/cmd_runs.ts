// `septwb runs list|show|delete|export|import`: recorded runs (issue 6), through the Runs area.
// A run file (main/store/share.ts layout) carries the scenario, design, seed, outcome, metrics,
// view state and every event; importing it on another machine gives the same content hash.
import type { RunRecord } from '../../shared/api/runs.ts';
import { metricsView } from '../api/compare_service.ts';
import { dbFileOf, parseFlags, unwrap, withService, type CliDeps, type CommandSpec } from './command.ts';
import { BadInputError, FlagError } from './errors.ts';
import { latencyText, parseIdArg, readTextFile, writeOutFile } from './run_output.ts';
import { printJson, TablePrinter } from './table_printer.ts';

export type RunsOptions =
  | { action: 'list'; dbFile: string; json: boolean; scenarioId: number | null }
  | { action: 'show'; dbFile: string; json: boolean; id: number }
  | { action: 'delete'; dbFile: string; id: number }
  | { action: 'export'; dbFile: string; id: number; out: string | null }
  | { action: 'import'; dbFile: string; file: string; json: boolean };

const ACTIONS = ['list', 'show', 'delete', 'export', 'import'] as const;

/**
 * A run file read whole into one string must stay under V8's string limit (about 2^29
 * characters); the Runs area's importer takes text.
 */
export const RUN_FILE_BYTES_MAX = 512 * 1024 * 1024;

export function newRunsCmd(deps: CliDeps, runF: (opts: RunsOptions) => Promise<void> = (opts) => runsRun(deps, opts)) {
  return async (argv: string[]): Promise<void> => {
    const [action, ...rest] = argv;
    if (action === undefined) throw new FlagError(`runs needs an action: ${ACTIONS.join(', ')}`);
    const db = { db: { type: 'string' } } as const;
    const json = { json: { type: 'boolean' } } as const;
    const one = (positionals: string[], what: string): string => {
      if (positionals.length !== 1) throw new FlagError(`runs ${action} takes one ${what}`);
      return positionals[0];
    };
    switch (action) {
      case 'list': {
        const { values } = parseFlags(rest, { ...db, ...json, scenario: { type: 'string' } });
        const scenarioId = values.scenario === undefined ? null : parseIdArg('scenario', values.scenario);
        return runF({ action, dbFile: dbFileOf(deps, values.db), json: values.json === true, scenarioId });
      }
      case 'show': {
        const { values, positionals } = parseFlags(rest, { ...db, ...json }, true);
        return runF({ action, dbFile: dbFileOf(deps, values.db), json: values.json === true, id: parseIdArg('run', one(positionals, 'run id')) });
      }
      case 'delete': {
        const { values, positionals } = parseFlags(rest, db, true);
        return runF({ action, dbFile: dbFileOf(deps, values.db), id: parseIdArg('run', one(positionals, 'run id')) });
      }
      case 'export': {
        const { values, positionals } = parseFlags(rest, { ...db, out: { type: 'string' } }, true);
        return runF({ action, dbFile: dbFileOf(deps, values.db), id: parseIdArg('run', one(positionals, 'run id')), out: values.out ?? null });
      }
      case 'import': {
        const { values, positionals } = parseFlags(rest, { ...db, ...json }, true);
        return runF({ action, dbFile: dbFileOf(deps, values.db), file: one(positionals, 'run file'), json: values.json === true });
      }
      default:
        throw new FlagError(`unknown action ${JSON.stringify(action)}; runs takes ${ACTIONS.join(', ')}`);
    }
  };
}

export async function runsRun(deps: CliDeps, opts: RunsOptions): Promise<void> {
  const { io } = deps;
  await withService(deps, opts.dbFile, async (service) => {
    switch (opts.action) {
      case 'list': {
        const runs = unwrap(await service.listRuns(opts.scenarioId === null ? {} : { scenarioId: opts.scenarioId }));
        if (opts.json) return printJson(io, runs);
        const table = new TablePrinter(io, `Runs in ${opts.dbFile}`, ['id', 'scenario', 'design', 'seed', 'status', 'outcome', 'events', 'hash', 'started']);
        for (const r of runs) table.addRow([r.id, r.scenarioName || '-', r.design, r.seed, r.status, r.outcome?.status ?? '-', r.eventCount, r.eventHash || '-', r.startedAt]);
        return table.render();
      }
      case 'show': {
        const run = unwrap(await service.getRun({ id: opts.id }));
        if (opts.json) return printJson(io, run);
        return printRun(deps, run);
      }
      case 'delete':
        unwrap(await service.deleteRun({ id: opts.id }));
        io.err.write(`septwb: deleted run ${opts.id}\n`);
        return;
      case 'export': {
        const exported = unwrap(await service.exportRun({ id: opts.id }));
        if (opts.out === null) return io.out.write(exported.text);
        writeOutFile(opts.out, exported.text);
        io.err.write(`septwb: wrote run ${opts.id} to ${opts.out}\n`);
        return;
      }
      case 'import': {
        const result = await service.importRun({ text: readTextFile(opts.file, RUN_FILE_BYTES_MAX) });
        // The importer names the line and JSON path at fault; say it about the file, not args.text.
        if (!result.ok) throw new BadInputError(`${opts.file}: ${result.error.path?.replace(/^args\.text: /, '') ?? 'file'}: ${result.error.message}`);
        if (opts.json) printJson(io, result.value);
        else io.out.write(`${result.value.runId}\n`);
        io.err.write(`septwb: imported run ${result.value.runId} (scenario ${result.value.scenarioId})\n`);
        return;
      }
    }
  });
}

/** One run as field/value rows: what it is, how it ended, and its metrics. */
function printRun(deps: CliDeps, run: RunRecord): void {
  const m = metricsView(run.metrics);
  const table = new TablePrinter(deps.io, `Run ${run.id}`, ['field', 'value']);
  const rows: [string, string | number][] = [
    ['scenario', run.scenarioName || '-'],
    ['design', run.design],
    ['seed', run.seed],
    ['status', run.status],
    ['outcome', run.outcome?.status ?? '-'],
    ['site', run.outcome?.site || '-'],
    ['reason', run.outcome?.reason || '-'],
    ['events', run.eventCount],
    ['event hash', run.eventHash || '-'],
    ['content hash', run.contentHash || '-'],
    ['threads', run.threadNames.join(', ')],
    ['app version', run.appVersion],
    ['started', run.startedAt],
    ['finished', run.finishedAt ?? '-'],
  ];
  for (const [key, n] of Object.entries(m.hookCalls)) rows.push([`hook ${key}`, n]);
  for (const [leaf, byStatus] of Object.entries(m.seamcalls)) for (const [status, n] of Object.entries(byStatus)) rows.push([`seamcall ${leaf} ${status}`, n]);
  rows.push(['retries', m.retries], ['kicks', m.kicks]);
  for (const b of m.bugs) rows.push([`bug ${b.kind}`, `${b.site}: ${b.reason} (event ${b.seq})`]);
  for (const [site, n] of Object.entries(m.warns)) rows.push([`warn ${site}`, n]);
  rows.push(['divergences', m.divergences], ['first divergence', m.firstDivergenceSeq], ['first detection', m.firstDetectionSeq]);
  rows.push(['detection latency', latencyText(m)], ['steps', m.steps]);
  for (const row of rows) table.addRow(row);
  table.render();
}

export const runsCommand: CommandSpec = {
  name: 'runs',
  summary: 'list, show, delete, export and import recorded runs',
  help: `Usage: septwb runs list [--scenario ID] [--json] [--db FILE]
       septwb runs show <id> [--json] [--db FILE]
       septwb runs delete <id> [--db FILE]
       septwb runs export <id> [--out FILE] [--db FILE]
       septwb runs import <file> [--json] [--db FILE]

list     recorded runs, newest first (--scenario ID: only that scenario's)
show     one run: outcome, hashes and metrics
delete   remove a run and its events
export   the run as one file (JSON Lines: header, strings, events, trailer with the
         content hash) to stdout or --out FILE
import   store a run file; a damaged or hostile file is refused with the line and
         JSON path at fault, and nothing is stored. Prints the new run id.

A missing run exits 3; bad arguments or a refused file exit 2.

Flags:
  --scenario ID   only runs of this scenario (list)
  --json          the data objects instead of a table (list, show, import)
  --out FILE      write to FILE instead of stdout (export)
  --db FILE       database (default: $XDG_DATA_HOME/septwb/septwb.db or ~/.local/share/septwb/septwb.db)

Examples:
  septwb runs list
  septwb runs show 12 --json | jq .metrics.seamcalls
  septwb runs export 12 --out race.septwb-run.jsonl
  septwb runs import race.septwb-run.jsonl --db ~/other.db`,
  create: (deps) => newRunsCmd(deps),
};
