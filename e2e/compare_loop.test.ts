// The whole loop in Chromium through browser mode, as a new user would walk it (issue 8): drop
// the seed's scenario file on the Library, edit it, see a validation error at its line and fix
// it, run it under both designs with the progress bar visible, land in the comparison, jump to
// the first difference, read the verdict, save, reload, and find it all again. Screenshots of
// the library, the editor and the compare view go to test-results/. No console errors allowed.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openServeSession, ROOT, type ServeSession } from './harness.ts';

const RUN_MS_MAX = 60_000;
const SHOTS = join(ROOT, 'test-results');
const NAME = 'E2E seed: leaf change through the atomic path';

let session: ServeSession | undefined;

/** Drops `text` as a file named `fileName` on the element, as a drag from the desktop would. */
async function dropFile(page: Page, testId: string, fileName: string, text: string): Promise<void> {
  const dataTransfer = await page.evaluateHandle(([name, body]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([body], name, { type: 'application/json' }));
    return dt;
  }, [fileName, text] as const);
  await page.getByTestId(testId).dispatchEvent('dragover', { dataTransfer });
  await page.getByTestId(testId).dispatchEvent('drop', { dataTransfer });
}

beforeAll(async () => {
  session = await openServeSession({ dirPrefix: 'septwb-e2e-compare-', viewport: { width: 1440, height: 1000 } });
});

afterAll(async () => {
  await session?.close();
});

describe('the whole loop in the window', () => {
  it('imports by drop, edits, validates, runs both designs, compares, saves and reopens', async () => {
    const url = session!.url;
    const problems: string[] = [];
    const page = await session!.newPage(problems);
    page.on('dialog', (d) => void d.accept());
    mkdirSync(SHOTS, { recursive: true });

    // 1. The Library, then the seed's scenario dropped on it as a file.
    await page.goto(url);
    await page.getByTestId('scenario-row').first().waitFor({ timeout: 10_000 });
    const seed = JSON.parse(readFileSync(join(ROOT, 'scenarios/seed-leaf-change-atomic.json'), 'utf8')) as Record<string, unknown>;
    seed.name = NAME;
    const fileText = JSON.stringify(seed, null, 2);
    await dropFile(page, 'library-drop-zone', 'seed-leaf-change-atomic.json', fileText);

    // 2. The import opens the editor on the new scenario, valid.
    const textarea = page.getByTestId('scenario-text');
    await textarea.waitFor({ timeout: 10_000 });
    expect(page.url()).toMatch(/#\/library\/scenario\/\d+$/);
    await expect.poll(() => page.getByTestId('validation').textContent()).toContain('Valid scenario');
    expect(await textarea.inputValue()).toBe(fileText);

    // 3. An edit that breaks it: the error names the line, the path and the problem.
    const broken = fileText.replace('"seed": 1,', '"seed": -5,');
    expect(broken).not.toBe(fileText);
    await textarea.fill(broken);
    const seedLine = broken.split('\n').findIndex((l) => l.includes('"seed": -5')) + 1;
    const error = page.getByTestId('validation-error').first();
    await error.waitFor();
    expect(await error.textContent()).toContain(`line ${seedLine}`);
    expect(await page.getByTestId('validation').textContent()).toContain('$.seed');
    expect(await page.getByTestId('run-button').isDisabled()).toBe(true);
    expect(await page.getByTestId('editor-state').textContent()).toContain('unsaved');
    await error.click(); // puts the caret on the line at fault, scrolled into view
    expect(await textarea.evaluate((t: HTMLTextAreaElement) => t.value.slice(0, t.selectionStart).split('\n').length)).toBe(seedLine);
    await page.screenshot({ path: join(SHOTS, 'editor-error.png') });

    // 4. Fixed: a different seed, valid again; the description is rendered beside it.
    await textarea.fill(fileText.replace('"seed": 1,', '"seed": 7,'));
    await expect.poll(() => page.getByTestId('validation').textContent()).toContain('Valid scenario');
    expect(await page.getByTestId('run-seed').inputValue()).toBe('1'); // the run panel keeps its own seed until told
    await page.getByTestId('run-seed').fill('7');
    await page.screenshot({ path: join(SHOTS, 'editor.png') });

    // 5. Run both designs by keyboard (focus the button, Enter): progress bar, then the comparison.
    await page.getByTestId('run-button').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('run-progress').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('run-progress').textContent()).toMatch(/events\/s/);
    await page.waitForURL(/#\/compare\/runs\/\d+\/\d+$/, { timeout: RUN_MS_MAX });

    // 6. The comparison: verdict, metrics, both timelines; jump to the first difference.
    const verdict = page.getByTestId('verdict');
    await verdict.waitFor({ timeout: 20_000 });
    const verdictText = (await verdict.textContent()) ?? '';
    expect(verdictText).toContain('A (per-op)');
    expect(verdictText).toContain('B (unified)');
    expect(verdictText).toMatch(/first behave differently in operation \d+/);
    expect(await page.getByTestId('metrics-table').locator('tr[data-key="divergences"]').count()).toBe(1);
    await page.getByTestId('timeline-a').waitFor();
    await page.getByTestId('timeline-b').waitFor();
    await page.keyboard.press('f');
    await expect.poll(() => page.getByTestId('compare-notice').textContent()).toContain('First difference: operation');
    await expect.poll(() => page.getByTestId('cursor-event-a').textContent()).toMatch(/#\d+/);
    await expect.poll(() => page.getByTestId('cursor-event-b').textContent()).toMatch(/#\d+/);
    const cursorA = (await page.getByTestId('cursor-event-a').textContent()) ?? '';
    const cursorB = (await page.getByTestId('cursor-event-b').textContent()) ?? '';
    expect(await page.getByTestId('signature-table').locator('tr[data-differs="true"]').count()).toBeGreaterThan(0);
    await page.getByTestId('note-input').fill('per-op stops it in the MMU; unified in the TDX glue');
    await page.getByRole('button', { name: 'Add to A' }).click();
    await page.setViewportSize({ width: 1440, height: 2000 });
    await page.evaluate(() => document.querySelector('main')?.scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, 'compare.png') });
    await page.setViewportSize({ width: 1440, height: 1000 });

    // 7. Save (Ctrl+S), reload: the same comparison, cursor and note come back.
    await page.keyboard.press('Control+s');
    await page.waitForURL(/#\/compare\/\d+$/);
    const savedUrl = page.url();
    await page.reload();
    await page.getByTestId('verdict').waitFor({ timeout: 20_000 });
    expect(page.url()).toBe(savedUrl);
    expect(await page.getByTestId('verdict').textContent()).toBe(verdictText);
    await expect.poll(() => page.getByTestId('cursor-event-a').textContent()).toBe(cursorA);
    await expect.poll(() => page.getByTestId('cursor-event-b').textContent()).toBe(cursorB);
    expect(await page.getByTestId('annotations').textContent()).toContain('per-op stops it in the MMU');

    // 8. Back in the Library: the scenario with both runs and their outcome badges.
    await page.keyboard.press('1');
    const row = page.getByTestId('scenario-row').filter({ hasText: NAME });
    await row.waitFor();
    await expect.poll(() => row.getByTestId('run-row').count()).toBe(2);
    expect(await row.textContent()).toMatch(/per-op/);
    expect(await row.textContent()).toMatch(/KVM_BUG_ON|vm-bugged|completed/);
    await page.getByTestId('library-search').fill('leaf change through the atomic');
    await page.screenshot({ path: join(SHOTS, 'library.png') });
    await page.getByTestId('library-search').fill('');

    // 9. The saved comparison is listed in the Compare place's picker too.
    await page.goto(url.replace(/\/\?token=.*$/, '/#/compare/pick'));
    await expect.poll(() => page.getByTestId('saved-comparisons').textContent()).toContain(`per-op vs unified`);
    expect(problems).toEqual([]);
  }, 150_000); // two engine runs plus a browser on a shared 2-core machine
});
