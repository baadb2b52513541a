// `septwb help [command]`: the command list, or one command's usage, flags and examples.
import { parseFlags, type CliDeps, type CommandSpec } from './command.ts';
import { FlagError } from './errors.ts';

export interface HelpOptions {
  topic: string | null;
}

export function newHelpCmd(deps: CliDeps, commands: readonly CommandSpec[], runF?: (opts: HelpOptions) => Promise<void>) {
  return async (argv: string[]): Promise<void> => {
    const { positionals } = parseFlags(argv, {}, true);
    if (positionals.length > 1) throw new FlagError('help takes at most one command name');
    const opts: HelpOptions = { topic: positionals[0] ?? null };
    await (runF ?? ((o) => helpRun(deps, commands, o)))(opts);
  };
}

export async function helpRun(deps: CliDeps, commands: readonly CommandSpec[], opts: HelpOptions): Promise<void> {
  if (opts.topic !== null) {
    const command = commands.find((c) => c.name === opts.topic);
    if (!command) throw new FlagError(`unknown command ${JSON.stringify(opts.topic)}; see "septwb help"`);
    deps.io.out.write(`${command.help}\n`);
    return;
  }
  deps.io.out.write(usageText(commands, deps.appVersion));
}

export function usageText(commands: readonly CommandSpec[], appVersion: string): string {
  const width = Math.max(4, ...commands.map((c) => c.name.length));
  const lines = [
    `septwb ${appVersion}: the S-EPT Workbench from the command line`,
    '',
    'Usage: septwb <command> [flags]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${'help'.padEnd(width)}  show this list, or "septwb help <command>" for one command`,
    '',
    'Flags:',
    '  --version   print the version',
    '  --help      show help (also after a command)',
    '',
    'Examples:',
    '  septwb run scenarios/seed-age-leaf-bypass.json --json',
    '  septwb compare scenarios/seed-leaf-change-write-lock.json --design per-op --design unified',
    '  septwb validate my-scenario.json',
    '  septwb state 3 --at 120',
    '  septwb serve --port 8123',
    '  septwb help run',
    '',
  ];
  return lines.join('\n');
}
