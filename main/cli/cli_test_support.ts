// What the CLI tests share: a temp folder removed after the file's tests, CliDeps over in-memory
// IO (XDG_DATA_HOME inside the temp folder, so the default database is a temp file too), main()
// in memory with its output captured, the flag-table check through runF (cli/cli list_test.go
// style), septwb as a real child process, and a recorded first private 4K fault read back as
// events. Test-only (scripts/check_layers.mjs: `*test_support.ts`).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import type { CliDeps } from './command.ts';
import { FlagError } from './errors.ts';
import { memoryIO } from './io.ts';
import { main, makeDeps } from './septwb.ts';

export const SCENARIOS_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));
/** A built-in scenario file by name. */
export const scenario = (name: string): string => join(SCENARIOS_DIR, name);
export const FIRST_FAULT = scenario('first-private-fault-4k.json');
const BIN = fileURLToPath(new URL('./bin.mjs', import.meta.url));

export type MemoryDeps = CliDeps & { io: ReturnType<typeof memoryIO> };

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export interface CliTestEnv {
  /** The temp folder, removed after the file's tests. */
  dir: string;
  /** The database a command uses without --db: under XDG_DATA_HOME = `<dir>/data`. */
  defaultDb: string;
  deps(isTTY?: boolean): MemoryDeps;
  /** `septwb <argv>` through main() in memory: the exit code and what went to stdout and stderr. */
  septwb(argv: string[], isTTY?: boolean): Promise<CliResult>;
}

/**
 * A temp folder named `septwb-<name>-...`, removed in afterAll. With `scratchTmp`, TMPDIR points
 * at `<dir>/tmp` (returned as `scratchParent`), so a test can see --no-record's scratch
 * databases removed.
 */
export function cliTestEnv(name: string, options: { scratchTmp?: boolean } = {}): CliTestEnv & { scratchParent: string } {
  const dir = mkdtempSync(join(tmpdir(), `septwb-${name}-`));
  const scratchParent = join(dir, 'tmp');
  if (options.scratchTmp === true) {
    mkdirSync(scratchParent, { recursive: true });
    process.env.TMPDIR = scratchParent;
  }
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const deps = (isTTY = false): MemoryDeps => {
    const io = memoryIO({ isTTY, env: { XDG_DATA_HOME: join(dir, 'data') } });
    return { ...makeDeps(io, new AbortController().signal), io };
  };
  const septwb = async (argv: string[], isTTY = false): Promise<CliResult> => {
    const d = deps(isTTY);
    const code = await main(argv, d);
    return { code, out: d.io.outText(), err: d.io.errText() };
  };
  return { dir, scratchParent, defaultDb: join(dir, 'data', 'septwb', 'septwb.db'), deps, septwb };
}

/** One row of a flag table: argv, and either the options runF must get or the FlagError's text. */
export interface FlagCase<T> {
  argv: string[];
  want?: T;
  error?: RegExp;
}

/**
 * Builds the command with a runF that keeps its options, runs `argv`, and checks: a FlagError
 * matching `error` and runF never called, or runF called with `want` (`exact`: equal; `partial`:
 * the fields given).
 */
export async function expectFlags<T extends object>(
  newCmd: (deps: CliDeps, runF: (opts: T) => Promise<void>) => (argv: string[]) => Promise<void>,
  deps: CliDeps,
  { argv, want, error }: FlagCase<T | Partial<T>>,
  match: 'exact' | 'partial' = 'exact',
): Promise<void> {
  let got: T | null = null;
  const run = newCmd(deps, async (opts) => void (got = opts));
  if (error) {
    await expect(run(argv)).rejects.toBeInstanceOf(FlagError);
    await expect(run(argv)).rejects.toThrow(error);
    expect(got).toBeNull();
    return;
  }
  await run(argv);
  if (match === 'exact') expect(got).toEqual(want);
  else expect(got).toMatchObject(want ?? {});
}

/** `node main/cli/bin.mjs <args>` as a real process: its exit code (0 when it succeeded) and output. */
export function runBin(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000, env: options.env }, (error, stdout, stderr) => {
      resolvePromise({ code: error ? (error.code as number | null) : 0, stdout, stderr });
    });
  });
}

/** A line of `septwb events --jsonl`, the fields the tests read. */
export interface EventLine {
  seq: number;
  layer: string;
  name: string;
  gfn: number | null;
  level: number;
  old: string | null;
  new: string | null;
  status: string;
  tree: string;
}

/** Records the first private 4K fault under `unified` into `db` (run 1) and reads its events back. */
export async function recordFirstFault(env: CliTestEnv, db: string): Promise<EventLine[]> {
  const r = await env.septwb(['run', FIRST_FAULT, '--design', 'unified', '--db', db]);
  expect(r.code, r.err).toBe(0);
  const all = await env.septwb(['events', '1', '--jsonl', '--db', db]);
  return all.out.trimEnd().split('\n').map((l) => JSON.parse(l) as EventLine);
}
