// End to end in Debian's Chromium: `septwb serve` as a child process over a temp database into
// which the test first put a scenario through the Store; the UI must show that scenario, which
// can only have come from the SQLite file through the api. Never skipped: a missing browser or
// build fails with what to do.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../main/store/store.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const SERVE_START_MS_MAX = 20_000;

let dir: string;
let child: ChildProcess;
let url: string;
let context: BrowserContext;
const scenarioName = `E2E probe ${process.pid}-${Date.now().toString(36)}`;

function startServe(dbFile: string): Promise<string> {
  child = spawn(process.execPath, [join(ROOT, 'main/cli/bin.mjs'), 'serve', '--db', dbFile], {
    env: { ...process.env, XDG_DATA_HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (p: Buffer) => (stderr += p.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`septwb serve printed no URL in ${SERVE_START_MS_MAX} ms; stderr: ${stderr}`)), SERVE_START_MS_MAX);
    let stdout = '';
    child.stdout!.on('data', (p: Buffer) => {
      stdout += p.toString();
      const match = /^(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`septwb serve exited ${code}; stderr: ${stderr}`)));
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's package (sudo apt-get install -y chromium), or run "npm test", which installs it when root`);
  if (!existsSync(join(ROOT, 'out/renderer/index.html'))) throw new Error('out/renderer is not built: run "npm run build" (npm test builds first)');
  dir = mkdtempSync(join(tmpdir(), 'septwb-e2e-'));
  const dbFile = join(dir, 'e2e.db');
  const store = Store.open(dbFile);
  store.putScenario({ name: scenarioName, description: 'put into SQLite by the e2e test', json: '{"schema":"septwb/scenario@1"}', builtin: false });
  store.close();
  url = await startServe(dbFile);
  context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await context?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('browser mode in Chromium', () => {
  it('shows the scenario stored in SQLite, the app version, and switches places and theme', async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    await page.goto(url);
    const row = page.getByTestId('scenario-row').filter({ hasText: scenarioName });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('put into SQLite by the e2e test');
    await expect.poll(() => page.getByTestId('app-info').textContent()).toMatch(/S-EPT Workbench v\d+\.\d+\.\d+ · browser mode/);
    expect(new URL(page.url()).search).toBe(''); // the token left the address bar

    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results/library-light.png'), fullPage: true });
    await page.keyboard.press('t');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.screenshot({ path: join(ROOT, 'test-results/library-dark.png') });
    await page.keyboard.press('2');
    expect(await page.getByRole('tab', { name: 'Run' }).getAttribute('aria-selected')).toBe('true');
    await page.reload();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark'); // saved
    expect(problems).toEqual([]); // includes CSP violations
  });
});
