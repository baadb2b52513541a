// `septwb serve`: browser mode (PRODUCT.md section 4). Prints the URL with this launch's token on
// stdout (one line, so scripts and the e2e test can read it); notices go to stderr.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../server/server.ts';
import { parseTokenOption } from '../server/request_checks.ts';
import { dbFileOf, parseFlags, parseIntFlag, type CliDeps, type CommandSpec } from './command.ts';
import { BadInputError, FlagError } from './errors.ts';

export interface ServeOptions {
  port: number;
  dbFile: string;
  token: string;
}

export function newServeCmd(deps: CliDeps, runF: (opts: ServeOptions) => Promise<void> = (opts) => serveRun(deps, opts)) {
  return async (argv: string[]): Promise<void> => {
    const { values } = parseFlags(argv, {
      port: { type: 'string' },
      db: { type: 'string' },
      token: { type: 'string' },
    });
    const token = parseTokenOption(values.token);
    if (token.kind === 'error') throw new FlagError(`--token: ${token.message}`);
    const opts: ServeOptions = {
      port: parseIntFlag('port', values.port, 0, 65535) ?? 0,
      dbFile: dbFileOf(deps, values.db),
      token: token.token,
    };
    await runF(opts);
  };
}

/** Serves until deps.signal aborts (Ctrl-C, SIGTERM), then closes the server and the store. */
export async function serveRun(deps: CliDeps, opts: ServeOptions): Promise<void> {
  const { io } = deps;
  const opened = deps.openService(opts.dbFile, 'browser');
  if (!opened.ok) throw new BadInputError(opened.message);
  const { service, events, builtins } = opened.value;
  try {
    if (!existsSync(join(deps.paths.rendererDir, 'index.html'))) {
      io.err.write(`septwb: the renderer is not built (${deps.paths.rendererDir}); run "npm run build"\n`);
    }
    for (const problem of builtins.problems) io.err.write(`septwb: built-in scenario skipped: ${problem}\n`);
    const server = await startServer({
      service,
      events,
      rendererDir: deps.paths.rendererDir,
      port: opts.port,
      token: opts.token,
      logError: (message) => io.err.write(`septwb: ${message}\n`),
    }).catch((thrown: unknown) => {
      throw new BadInputError(`cannot listen on 127.0.0.1:${opts.port}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
    });
    io.err.write(`septwb: browser mode, database ${opts.dbFile}; open this URL (Ctrl-C stops):\n`);
    io.out.write(`${server.url}\n`);
    await abortedPromise(deps.signal);
    await server.close();
  } finally {
    opened.value.close();
  }
}

function abortedPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolvePromise) => signal.addEventListener('abort', () => resolvePromise(), { once: true }));
}

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'serve the workbench to a browser on 127.0.0.1 (browser mode)',
  help: `Usage: septwb serve [--port N] [--db FILE] [--token TOKEN]

Serves the workbench UI and api on 127.0.0.1 only, and prints a URL carrying a
per-launch token; requests without it, or with a foreign Host or Origin, are refused.

Flags:
  --port N        port to listen on (default: a free one)
  --db FILE       database (default: $XDG_DATA_HOME/septwb/septwb.db or ~/.local/share/septwb/septwb.db)
  --token TOKEN   use this token instead of a random one (16-128 of A-Z a-z 0-9 - _)

Examples:
  septwb serve
  septwb serve --port 8123 --db /tmp/scratch.db`,
  create: (deps) => newServeCmd(deps),
};
