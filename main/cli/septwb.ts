// The `septwb` entry point: picks the command, runs it, maps its error to an exit code
// (errors.ts). `main` takes its world as arguments so tests call it in memory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openService } from '../api/service.ts';
import type { AppPaths, CliDeps, CommandSpec } from './command.ts';
import { newHelpCmd, usageText } from './cmd_help.ts';
import { EXIT_OK, EXIT_USAGE, exitCodeOf, FlagError, SilentError } from './errors.ts';
import { processIO, type IOStreams } from './io.ts';
import { COMMANDS } from './registry.ts';

/** Paths of the app, from this file's place in it (main/cli/septwb.ts). */
export function appPaths(): AppPaths {
  const rootDir = fileURLToPath(new URL('../../', import.meta.url));
  return { rootDir, rendererDir: join(rootDir, 'out', 'renderer'), scenariosDir: join(rootDir, 'scenarios') };
}

export function appVersionOf(rootDir: string): string {
  const pkg = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

export function makeDeps(io: IOStreams, signal: AbortSignal, paths: AppPaths = appPaths()): CliDeps {
  const appVersion = appVersionOf(paths.rootDir);
  return {
    io,
    appVersion,
    paths,
    signal,
    openService: (dbFile, mode) => openService({ dbFile, scenariosDir: paths.scenariosDir, appVersion, mode }),
  };
}

/** Runs one command line; returns the exit code. Never throws. */
export async function main(argv: string[], deps: CliDeps, commands: readonly CommandSpec[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h') {
      deps.io.out.write(usageText(commands, deps.appVersion));
      return name === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (name === '--version' || name === '-V') {
      deps.io.out.write(`septwb ${deps.appVersion}\n`);
      return EXIT_OK;
    }
    if (name === 'help') {
      await newHelpCmd(deps, commands)(rest);
      return EXIT_OK;
    }
    const command = commands.find((c) => c.name === name);
    if (!command) throw new FlagError(`unknown command ${JSON.stringify(name)}; see "septwb help"`);
    if (rest.includes('--help') || rest.includes('-h')) {
      deps.io.out.write(`${command.help}\n`);
      return EXIT_OK;
    }
    await command.create(deps)(rest);
    return EXIT_OK;
  } catch (thrown) {
    return report(deps.io, thrown, name);
  }
}

function report(io: IOStreams, thrown: unknown, name: string | undefined): number {
  const code = exitCodeOf(thrown);
  if (thrown instanceof SilentError) return code;
  if (thrown instanceof Error && code !== 1) {
    io.err.write(`septwb: ${thrown.message}\n`);
    if (thrown instanceof FlagError && name) io.err.write(`Run "septwb help ${name === 'help' ? '' : name}" for usage.\n`);
    return code;
  }
  io.err.write(`septwb: internal error: ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}\n`);
  return code;
}

/** The process entry (bin.mjs imports this module): wire signals, run, exit. */
async function runProcess(): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const code = await main(process.argv.slice(2), makeDeps(processIO(), controller.signal));
  process.exitCode = code;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
}

if (process.env.SEPTWB_CLI_ENTRY === '1') await runProcess();
