// `septwb scenarios list|add|export`: the scenario library in the database (issue 6), through
// the Library area. Built-ins are loaded from the app's scenarios/ folder on every open.
import { dbFileOf, parseFlags, unwrap, withService, type CliDeps, type CommandSpec } from './command.ts';
import { FlagError } from './errors.ts';
import { parseIdArg, readScenarioFile, writeOutFile } from './run_output.ts';
import { printJson, TablePrinter } from './table_printer.ts';

export type ScenariosOptions =
  | { action: 'list'; dbFile: string; json: boolean }
  | { action: 'add'; dbFile: string; file: string; json: boolean }
  | { action: 'export'; dbFile: string; id: number; out: string | null };

const ACTIONS = ['list', 'add', 'export'] as const;

export function newScenariosCmd(deps: CliDeps, runF: (opts: ScenariosOptions) => Promise<void> = (opts) => scenariosRun(deps, opts)) {
  return async (argv: string[]): Promise<void> => {
    const [action, ...rest] = argv;
    if (action === undefined) throw new FlagError(`scenarios needs an action: ${ACTIONS.join(', ')}`);
    switch (action) {
      case 'list': {
        const { values } = parseFlags(rest, { db: { type: 'string' }, json: { type: 'boolean' } });
        return runF({ action, dbFile: dbFileOf(deps, values.db), json: values.json === true });
      }
      case 'add': {
        const { values, positionals } = parseFlags(rest, { db: { type: 'string' }, json: { type: 'boolean' } }, true);
        if (positionals.length !== 1) throw new FlagError('scenarios add takes one scenario file');
        return runF({ action, dbFile: dbFileOf(deps, values.db), file: positionals[0], json: values.json === true });
      }
      case 'export': {
        const { values, positionals } = parseFlags(rest, { db: { type: 'string' }, out: { type: 'string' } }, true);
        if (positionals.length !== 1) throw new FlagError('scenarios export takes one scenario id');
        return runF({ action, dbFile: dbFileOf(deps, values.db), id: parseIdArg('scenario', positionals[0]), out: values.out ?? null });
      }
      default:
        throw new FlagError(`unknown action ${JSON.stringify(action)}; scenarios takes ${ACTIONS.join(', ')}`);
    }
  };
}

export async function scenariosRun(deps: CliDeps, opts: ScenariosOptions): Promise<void> {
  const { io } = deps;
  switch (opts.action) {
    case 'list':
      return scenariosList(deps, opts.dbFile, opts.json);
    case 'add': {
      // Validated before saving: a library scenario must run (the Library area itself only
      // requires JSON, because the editor saves drafts).
      const file = readScenarioFile(deps, opts.file);
      const saved = await withService(deps, opts.dbFile, async (service) =>
        unwrap(await service.saveScenario({ name: file.scenario.name, description: file.scenario.description, json: file.text })),
      );
      if (opts.json) printJson(io, saved);
      else io.out.write(`${saved.id}\n`);
      io.err.write(`septwb: added scenario ${saved.id} "${saved.name}"\n`);
      return;
    }
    case 'export': {
      const record = await withService(deps, opts.dbFile, async (service) => unwrap(await service.getScenario({ id: opts.id })));
      if (opts.out === null) io.out.write(record.json.endsWith('\n') ? record.json : `${record.json}\n`);
      else {
        writeOutFile(opts.out, record.json);
        io.err.write(`septwb: wrote scenario ${record.id} to ${opts.out}\n`);
      }
      return;
    }
  }
}

async function scenariosList(deps: CliDeps, dbFile: string, json: boolean): Promise<void> {
  const list = await withService(deps, dbFile, async (service) => unwrap(await service.listScenarios({})));
  if (json) return printJson(deps.io, list);
  const table = new TablePrinter(deps.io, `Scenarios in ${dbFile}`, ['id', 'kind', 'name', 'updated']);
  for (const s of list) table.addRow([s.id, s.builtin ? 'built-in' : 'own', s.name, s.updatedAt]);
  table.render();
}

export const scenariosCommand: CommandSpec = {
  name: 'scenarios',
  summary: 'list, add and export scenarios in the database',
  help: `Usage: septwb scenarios list [--json] [--db FILE]
       septwb scenarios add <scenario.json> [--json] [--db FILE]
       septwb scenarios export <id> [--out FILE] [--db FILE]

list     every scenario, built-in first (built-ins come from the app's scenarios/ folder)
add      validate a scenario file and save it as your own; prints the new id
export   the scenario's JSON text, exactly as saved, to stdout or --out FILE

Flags:
  --json       the data objects instead of a table (list, add)
  --out FILE   write to FILE instead of stdout (export)
  --db FILE    database (default: $XDG_DATA_HOME/septwb/septwb.db or ~/.local/share/septwb/septwb.db)

Examples:
  septwb scenarios list
  septwb scenarios add my-race.json
  septwb scenarios export 3 --out zap-4k.json`,
  create: (deps) => newScenariosCmd(deps),
};
