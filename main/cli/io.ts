// The CLI's view of the outside world, injected so tests run commands in memory.
// Data goes to `out`; progress and notices go to `err` only (so `| jq` and `> file` stay clean).
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Writable {
  write(text: string): void;
}

export interface IOStreams {
  out: Writable;
  err: Writable;
  /** Whether `out` is a terminal: decides table headers and alignment. */
  isTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
}

export function processIO(): IOStreams {
  // A reader that stops early (`septwb events --jsonl | head`) closes the pipe: that is the
  // reader's choice, not an error, so end quietly as Unix tools do.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  return {
    out: { write: (text) => void process.stdout.write(text) },
    err: { write: (text) => void process.stderr.write(text) },
    isTTY: process.stdout.isTTY === true,
    env: process.env,
  };
}

/** An in-memory IOStreams for tests: read `outText()` / `errText()` afterwards. */
export function memoryIO(options: { isTTY?: boolean; env?: Record<string, string> } = {}): IOStreams & { outText(): string; errText(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: { write: (text) => void out.push(text) },
    err: { write: (text) => void err.push(text) },
    isTTY: options.isTTY ?? false,
    env: options.env ?? {},
    outText: () => out.join(''),
    errText: () => err.join(''),
  };
}

/** `$XDG_DATA_HOME/septwb/septwb.db`, else `~/.local/share/septwb/septwb.db` (XDG default). */
export function defaultDbFile(env: IOStreams['env'], home: string = homedir()): string {
  const xdg = env.XDG_DATA_HOME;
  const dataHome = xdg && xdg.startsWith('/') ? xdg : join(home, '.local', 'share');
  return join(dataHome, 'septwb', 'septwb.db');
}
