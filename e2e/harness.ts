// What every end-to-end test does around its own steps: check that Debian's Chromium and the
// built renderer are there (never skip: say what to do), start `septwb serve` as a child process
// over a temp database, read the URL it prints, open Chromium on a persistent profile, collect
// the page's console errors, and tear it all down. Not a test file; bench/ui_bench.ts uses the
// browser part too. Imports no vitest, so the bench can use it outside a test run.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
export const RENDERER_DIR = join(ROOT, 'out/renderer');
const SERVE_START_MS_MAX = 20_000;
/** The line `septwb serve` prints once it listens (cmd_serve.ts). */
const SERVE_URL = /^(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)$/m;

/** Throws, saying what to install or build, when Chromium or the built renderer is missing. */
export function requireBrowserAndBuild(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's package (sudo apt-get install -y chromium), or run "npm test", which installs it when root`);
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) throw new Error('out/renderer is not built: run "npm run build" (npm test builds first)');
}

/** Headless Chromium without a profile (the bench's browser). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Adds every page error, console error and console warning of `page` to `problems`. */
export function collectProblems(page: Page, problems: string[]): void {
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
}

export interface ServeSessionOptions {
  /** Prefix of the temp folder (database, XDG data, browser profile). */
  dirPrefix: string;
  viewport?: { width: number; height: number };
  /** Fills the database before the server opens it. */
  prepareDb?: (dbFile: string) => void;
}

/** A running `septwb serve` and a Chromium context on it; `close()` undoes all of it. */
export interface ServeSession {
  dir: string;
  url: string;
  context: BrowserContext;
  /** A new page whose page errors, console errors and warnings go to `problems`. */
  newPage(problems: string[]): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Starts `septwb serve --db <dir>/e2e.db` and resolves to the URL it prints. The child is
 * handed to `track` at once, so a server that never prints its URL is still stopped.
 */
function startServe(dir: string, dbFile: string, track: (child: ChildProcess) => void): Promise<string> {
  const child = spawn(process.execPath, [join(ROOT, 'main/cli/bin.mjs'), 'serve', '--db', dbFile], {
    env: { ...process.env, XDG_DATA_HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let stderr = '';
  child.stderr!.on('data', (p: Buffer) => (stderr += p.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`septwb serve printed no URL in ${SERVE_START_MS_MAX} ms; stderr: ${stderr}`)), SERVE_START_MS_MAX);
    let stdout = '';
    child.stdout!.on('data', (p: Buffer) => {
      stdout += p.toString();
      const match = SERVE_URL.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`septwb serve exited ${code}; stderr: ${stderr}`)));
  });
}

/**
 * The whole setup of an e2e test: checks, temp folder, database (`prepareDb`), server, browser.
 * If any step fails, what was started is torn down before the error is thrown.
 */
export async function openServeSession(options: ServeSessionOptions): Promise<ServeSession> {
  requireBrowserAndBuild();
  const dir = mkdtempSync(join(tmpdir(), options.dirPrefix));
  let child: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  const close = async (): Promise<void> => {
    await context?.close();
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const dbFile = join(dir, 'e2e.db');
    options.prepareDb?.(dbFile);
    const url = await startServe(dir, dbFile, (c) => (child = c));
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, ...(options.viewport ? { viewport: options.viewport } : {}),
    });
    const browserContext = context;
    const newPage = async (problems: string[]): Promise<Page> => {
      const page = await browserContext.newPage();
      collectProblems(page, problems);
      return page;
    };
    return { dir, url, context, newPage, close };
  } catch (thrown) {
    await close();
    throw thrown;
  }
}
