// The CLI: flag parsing through runF (cli/cli list_test.go style), exit codes from one table,
// TTY-aware tables, and `septwb serve` refusing a database from the future as a real process.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { newServeCmd, type ServeOptions } from './cmd_serve.ts';
import type { CliDeps } from './command.ts';
import { BadInputError, CancelError, exitCodeOf, FlagError, NoResultsError, SilentError } from './errors.ts';
import { defaultDbFile, memoryIO } from './io.ts';
import { main, makeDeps } from './septwb.ts';
import { TablePrinter } from './table_printer.ts';

const dir = mkdtempSync(join(tmpdir(), 'septwb-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function deps(io = memoryIO({ env: { XDG_DATA_HOME: '/data' } })): CliDeps & { io: ReturnType<typeof memoryIO> } {
  return { ...makeDeps(io, new AbortController().signal), io };
}

describe('serve flags', () => {
  const cases: { name: string; argv: string[]; want?: Partial<ServeOptions>; error?: RegExp }[] = [
    { name: 'defaults', argv: [], want: { port: 0, dbFile: '/data/septwb/septwb.db' } },
    { name: 'port and db', argv: ['--port', '8123', '--db', '/tmp/x.db'], want: { port: 8123, dbFile: '/tmp/x.db' } },
    { name: 'explicit token', argv: ['--token', 'abcdefghijklmnop'], want: { token: 'abcdefghijklmnop' } },
    { name: 'port not a number', argv: ['--port', 'x'], error: /--port must be an integer/ },
    { name: 'port too large', argv: ['--port', '65536'], error: /--port must be in \[0, 65535\]/ },
    { name: 'short token', argv: ['--token', 'abc'], error: /--token: the token must be/ },
    { name: 'unknown flag', argv: ['--prot', '1'], error: /Unknown option '--prot'/ },
    { name: 'stray argument', argv: ['extra'], error: /Unexpected argument 'extra'/ },
  ];
  it.each(cases)('$name', async ({ argv, want, error }) => {
    let got: ServeOptions | null = null;
    const run = newServeCmd(deps(), async (opts) => void (got = opts));
    if (error) {
      await expect(run(argv)).rejects.toThrow(error);
      await expect(run(argv)).rejects.toBeInstanceOf(FlagError);
      return;
    }
    await run(argv);
    expect(got).toMatchObject(want ?? {});
    expect(got!.token).toMatch(/^[A-Za-z0-9_-]{32}$|^abcdefghijklmnop$/);
  });
});

describe('main', () => {
  it.each([
    { argv: ['--version'], code: 0, out: /^septwb \d+\.\d+\.\d+\n$/ },
    { argv: ['help'], code: 0, out: /Commands:\n {2}serve/ },
    { argv: ['help', 'serve'], code: 0, out: /Usage: septwb serve/ },
    { argv: ['serve', '--help'], code: 0, out: /Examples:/ },
    { argv: [], code: 2, out: /Usage: septwb <command>/ },
    { argv: ['frobnicate'], code: 2, err: /unknown command "frobnicate"/ },
    { argv: ['help', 'frobnicate'], code: 2, err: /unknown command "frobnicate"/ },
  ])('septwb $argv -> $code', async ({ argv, code, out, err }) => {
    const d = deps();
    expect(await main(argv, d)).toBe(code);
    if (out) expect(d.io.outText()).toMatch(out);
    if (err) expect(d.io.errText()).toMatch(err);
  });
});

describe('errors and output', () => {
  it.each([
    [new FlagError('x'), 2],
    [new BadInputError('x'), 2],
    [new NoResultsError('x'), 3],
    [new CancelError(), 130],
    [new SilentError(7), 7],
    [new Error('bug'), 1],
  ] as const)('%s exits %i', (error, code) => {
    expect(exitCodeOf(error)).toBe(code);
  });

  it('prints a title and uppercase headers on a TTY, tab-separated rows when piped', () => {
    for (const isTTY of [true, false]) {
      const io = memoryIO({ isTTY });
      const table = new TablePrinter(io, 'Scenarios', ['id', 'name']);
      table.addRow([1, 'seed\targument']);
      table.addRow([22, 'x']);
      table.render();
      expect(io.outText()).toBe(isTTY ? 'Scenarios\n\nID  NAME\n1   seed argument\n22  x\n' : '1\tseed argument\n22\tx\n');
    }
  });

  it('puts the default database under XDG_DATA_HOME, else ~/.local/share', () => {
    expect(defaultDbFile({ XDG_DATA_HOME: '/x' }, '/home/u')).toBe('/x/septwb/septwb.db');
    expect(defaultDbFile({}, '/home/u')).toBe('/home/u/.local/share/septwb/septwb.db');
    expect(defaultDbFile({ XDG_DATA_HOME: 'relative' }, '/home/u')).toBe('/home/u/.local/share/septwb/septwb.db');
  });
});

describe('septwb serve as a process', () => {
  it('refuses a database with a higher user_version: exit 2 and a clear message', async () => {
    const file = join(dir, 'future.db');
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    const bin = fileURLToPath(new URL('./bin.mjs', import.meta.url));
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolvePromise) => {
      execFile(process.execPath, [bin, 'serve', '--db', file], { timeout: 30_000 }, (error, _stdout, stderr) => {
        resolvePromise({ code: error ? (error.code as number | null) : 0, stderr });
      });
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/schema version 999.*newer S-EPT Workbench/s);
  });
});
