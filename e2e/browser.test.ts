// End to end in Debian's Chromium: `septwb serve` as a child process over a temp database into
// which the test first put a scenario through the Store; the UI must show that scenario, which
// can only have come from the SQLite file through the api. Never skipped: a missing browser or
// build fails with what to do.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../main/store/store.ts';
import { openServeSession, ROOT, type ServeSession } from './harness.ts';

let session: ServeSession | undefined;
const scenarioName = `E2E probe ${process.pid}-${Date.now().toString(36)}`;

beforeAll(async () => {
  session = await openServeSession({
    dirPrefix: 'septwb-e2e-',
    prepareDb: (dbFile) => {
      const store = Store.open(dbFile);
      store.putScenario({ name: scenarioName, description: 'put into SQLite by the e2e test', json: '{"schema":"septwb/scenario@1"}', builtin: false });
      store.close();
    },
  });
});

afterAll(async () => {
  await session?.close();
});

describe('browser mode in Chromium', () => {
  it('shows the scenario stored in SQLite, the app version, and switches places and theme', async () => {
    const problems: string[] = [];
    const page = await session!.newPage(problems);
    await page.goto(session!.url);
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
