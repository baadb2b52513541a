// What every command gets and how it is described. A command file exports a CommandSpec; its
// `create(deps)` returns the parser `newXCmd(deps, runF?)` builds (cli/cli style: parse flags into
// an options object, then `xRun(opts)` does the work through deps.io and the api).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { SeptwbApi } from '../../shared/api/api.ts';
import type { ApiError, Result } from '../../shared/api/contract.ts';
import type { AppMode } from '../../shared/api/library.ts';
import type { OpenedService, OpenFailure } from '../api/service.ts';
import { BadInputError, CancelError, FlagError, NoResultsError } from './errors.ts';
import { defaultDbFile, type IOStreams } from './io.ts';

export interface AppPaths {
  /** The installed app (the repository in a checkout). */
  rootDir: string;
  /** The built renderer that browser mode serves. */
  rendererDir: string;
  /** Built-in scenario files. */
  scenariosDir: string;
}

export interface CliDeps {
  io: IOStreams;
  appVersion: string;
  paths: AppPaths;
  /** Aborted on Ctrl-C / SIGTERM; long commands stop and clean up. */
  signal: AbortSignal;
  openService(dbFile: string, mode: AppMode): { ok: true; value: OpenedService } | OpenFailure;
}

export interface CommandSpec {
  name: string;
  /** One line for `septwb help`. */
  summary: string;
  /** Usage, flags and examples for `septwb help <name>` and `<name> --help`. */
  help: string;
  create(deps: CliDeps): (argv: string[]) => Promise<void>;
}

/** node:util parseArgs in strict mode, with its errors turned into FlagError (exit 2). */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (thrown) {
    throw new FlagError(thrown instanceof Error ? thrown.message : String(thrown));
  }
}

export function parseIntFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new FlagError(`--${name} must be an integer, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new FlagError(`--${name} must be in [${min}, ${max}], got ${value}`);
  return value;
}

/** The `--db` flag's value, or the user's default database. */
export function dbFileOf(deps: CliDeps, flag: string | undefined): string {
  return flag ?? defaultDbFile(deps.io.env);
}

/**
 * Opens the service over `dbFile`, runs `body`, and always closes it. A database that cannot be
 * opened (newer schema, unreadable file) is a BadInputError with the store's message.
 */
export async function withService<T>(deps: CliDeps, dbFile: string, body: (service: SeptwbApi, opened: OpenedService) => Promise<T>): Promise<T> {
  const opened = deps.openService(dbFile, 'cli');
  if (!opened.ok) throw new BadInputError(opened.message);
  try {
    return await body(opened.value.service, opened.value);
  } finally {
    opened.value.close();
  }
}

/** The value of an api Result, or the matching CLI error (bad-input/conflict 2, not-found 3). */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw errorOfApi(result.error);
}

export function errorOfApi(error: ApiError): Error {
  const message = error.path ? `${error.path}: ${error.message}` : error.message;
  switch (error.code) {
    case 'bad-input':
    case 'conflict':
      return new BadInputError(message);
    case 'not-found':
      return new NoResultsError(message);
    case 'cancelled':
      return new CancelError(message);
    case 'internal':
      return new Error(message);
  }
}
