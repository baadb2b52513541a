// `septwb validate`: checks a scenario file against format v1 (shared/scenario_validate.ts).
// Valid: "valid" on stdout, exit 0. Invalid: one line per error on stderr, exit 2, each
// `line:col $.path: problem` (the position when the validator could locate the path), and
// nothing else on stderr, so `2>&1 | cut -d' ' -f2` lists the paths. Errors go to stderr like
// every other diagnostic of the CLI (io.ts: data on stdout, diagnostics on stderr); --json puts
// the verdict and the errors on stdout as data instead.
import { parseScenarioText, SCENARIO_LIMITS } from '../../shared/scenario_validate.ts';
import { parseFlags, type CliDeps, type CommandSpec } from './command.ts';
import { EXIT_BAD_INPUT, FlagError, SilentError } from './errors.ts';
import { readTextFile, scenarioErrorLine } from './run_output.ts';
import { printJson } from './table_printer.ts';

export interface ValidateOptions {
  file: string;
  json: boolean;
}

export function newValidateCmd(deps: CliDeps, runF: (opts: ValidateOptions) => Promise<void> = (opts) => validateRun(deps, opts)) {
  return async (argv: string[]): Promise<void> => {
    const { values, positionals } = parseFlags(argv, { json: { type: 'boolean' } }, true);
    if (positionals.length !== 1) throw new FlagError(positionals.length === 0 ? 'validate needs a scenario file' : `validate takes one file, got ${positionals.length}`);
    await runF({ file: positionals[0], json: values.json === true });
  };
}

/** Exit 0 when valid; SilentError(2) after printing the errors; BadInputError (2) when unreadable. */
export async function validateRun(deps: CliDeps, opts: ValidateOptions): Promise<void> {
  const { io } = deps;
  const parsed = parseScenarioText(readTextFile(opts.file, SCENARIO_LIMITS.textLengthMax));
  if (opts.json) {
    printJson(io, parsed.ok ? { valid: true, name: parsed.scenario.name, errors: [] } : { valid: false, errors: parsed.errors });
    if (!parsed.ok) throw new SilentError(EXIT_BAD_INPUT);
    return;
  }
  if (parsed.ok) {
    io.out.write('valid\n');
    return;
  }
  for (const e of parsed.errors) io.err.write(`${scenarioErrorLine(e)}\n`);
  throw new SilentError(EXIT_BAD_INPUT);
}

export const validateCommand: CommandSpec = {
  name: 'validate',
  summary: 'check a scenario file against the scenario format (v1)',
  help: `Usage: septwb validate <file> [--json]

Checks a scenario file: JSON syntax, the shape of format v1, and the checks that
need the VM (GFNs inside memslots, private memory, alignment, vCPU threads,
schedule names, limits).

Valid: prints "valid" and exits 0. Invalid: exits 2 and prints one line per error
to stderr, "line:col $.json.path: problem" (line:col where the value was found in
the text). An unreadable file also exits 2.

Flags:
  --json   {"valid": true|false, "errors": [{path, problem, line, column}]} on stdout

Examples:
  septwb validate scenarios/zap-4k.json
  septwb validate my-scenario.json --json | jq -r '.errors[].path'`,
  create: (deps) => newValidateCmd(deps),
};
