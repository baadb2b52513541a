// The Run view end to end in Debian's Chromium, against browser mode (`septwb serve` as a child
// process) over a database holding REAL runs: built-in scenarios run through the engine and
// recorded by the store before the server starts. The test drives the UI only through the
// mouse and keyboard, and reads the canvas's data attributes (visible range, drawn slices,
// cursor) and the DOM. Screenshots land in test-results/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimEvent } from '../shared/event.ts';
import { parseScenarioText } from '../shared/scenario_validate.ts';
import type { DesignId } from '../shared/scenario.ts';
import { openService } from '../main/api/service.ts';
import { runScenario } from '../main/sim/engine.ts';
import { Recorder } from '../main/store/recorder.ts';
import type { Store } from '../main/store/store.ts';
import { openServeSession, ROOT, type ServeSession } from './harness.ts';

const STEPS_MAX = 400;
// Layout constants of renderer/src/run/timeline_render.ts (label column, axis, lane height).
const LABEL_WIDTH_PX = 150;
const AXIS_HEIGHT_PX = 24;
const LANE_HEIGHT_PX = 30;

interface RecordedRun {
  runId: number;
  events: SimEvent[];
}

let session: ServeSession | undefined;
let split: RecordedRun;
let busy: RecordedRun;
const problems: string[] = [];

/** Runs a built-in scenario through the engine and records it, as the run job does. */
function recordBuiltin(store: Store, fileName: string, design: DesignId): RecordedRun {
  const name = (JSON.parse(readFileSync(join(ROOT, 'scenarios', fileName), 'utf8')) as { name: string }).name;
  const summary = store.listScenarios().find((s) => s.builtin && s.name === name);
  const record = summary === undefined ? null : store.getScenario(summary.id);
  if (record === null) throw new Error(`built-in ${fileName} was not loaded`);
  const parsed = parseScenarioText(record.json);
  if (!parsed.ok) throw new Error(`${fileName}: ${JSON.stringify(parsed.errors)}`);
  const recorder = new Recorder(store.writable);
  const runId = recorder.beginRun({ scenarioId: record.id, scenarioJson: record.json, design, seed: parsed.scenario.seed, schedule: null, appVersion: 'e2e', threadNames: [] });
  const result = runScenario(parsed.scenario, { design, keep: true, onChunk: (c) => recorder.writeChunk(c) });
  recorder.finishRun(runId, { status: 'completed', outcome: result.outcome, metrics: result.metrics, hash: result.hash });
  store.writable.prepare('UPDATE runs SET thread_names_json = ? WHERE id = ?').run(JSON.stringify(result.threadNames), runId);
  return { runId, events: result.events! };
}

beforeAll(async () => {
  session = await openServeSession({
    dirPrefix: 'septwb-e2e-run-',
    viewport: { width: 1500, height: 1100 },
    prepareDb: (dbFile) => {
      const opened = openService({ dbFile, scenariosDir: join(ROOT, 'scenarios'), appVersion: 'e2e', mode: 'cli' });
      if (!opened.ok) throw new Error(opened.message);
      split = recordBuiltin(opened.value.store, 'split-on-convert-2m.json', 'per-op');
      busy = recordBuiltin(opened.value.store, 'fault-aug-busy-retry.json', 'unified');
      opened.value.close();
    },
  });
});

afterAll(async () => {
  await session?.close();
});

async function openRun(runId: number): Promise<Page> {
  const page = await session!.newPage(problems);
  const u = new URL(session!.url);
  u.hash = `#/run/${runId}`;
  await page.goto(u.href);
  await page.getByTestId('run-workspace').waitFor({ timeout: 10_000 });
  await expect.poll(() => attr(page, 'drawnSlices'), { timeout: 10_000 }).toBeGreaterThan(0);
  return page;
}

const canvasOf = (page: Page) => page.getByTestId('timeline-canvas');

async function attr(page: Page, name: string): Promise<number> {
  return Number(await canvasOf(page).evaluate((el, n) => (el as HTMLElement).dataset[n] ?? 'NaN', name));
}

async function lanes(page: Page): Promise<string[]> {
  return (await canvasOf(page).evaluate((el) => (el as HTMLElement).dataset.lanes ?? '')).split(',');
}

/**
 * Waits until the actions queued so far (key presses, clicks) have run: the timeline runs them at
 * the start of the next animation frame (raf_scheduler.ts), so a read right after a press can see
 * the state before it. Two frames: the one that runs them, and one after.
 */
async function framesSettled(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => done()))));
}

/** Where event `seq` on lane (thread, layer) is drawn, in page coordinates (top row of the lane). */
async function slicePoint(page: Page, seq: number, thread: number, layer: string): Promise<{ x: number; y: number }> {
  await framesSettled(page);
  const box = (await canvasOf(page).boundingBox())!;
  const [start, end] = [await attr(page, 'visibleStart'), await attr(page, 'visibleEnd')];
  const lane = (await lanes(page)).indexOf(`${thread}:${layer}`);
  expect(lane).toBeGreaterThanOrEqual(0);
  const x = LABEL_WIDTH_PX + ((seq + 0.5 - start) / (end - start)) * (box.width - LABEL_WIDTH_PX);
  return { x: box.x + x, y: box.y + AXIS_HEIGHT_PX + lane * LANE_HEIGHT_PX + 8 };
}

/** Moves the cursor to `seq` with the keyboard (Left/Right), from wherever it is. */
async function cursorTo(page: Page, seq: number): Promise<void> {
  await canvasOf(page).focus();
  for (let i = 0; i < STEPS_MAX; i++) {
    const c = await attr(page, 'cursor');
    if (c === seq) return;
    await page.keyboard.press(c < seq ? 'ArrowRight' : 'ArrowLeft');
    await framesSettled(page);
  }
  throw new Error(`cursor did not reach ${seq}`);
}

/** Clicks the axis at `seq` (sets the cursor near it), then steps exactly there. */
async function cursorNear(page: Page, seq: number): Promise<void> {
  await framesSettled(page);
  const box = (await canvasOf(page).boundingBox())!;
  const [start, end] = [await attr(page, 'visibleStart'), await attr(page, 'visibleEnd')];
  await page.mouse.click(box.x + LABEL_WIDTH_PX + ((seq + 0.5 - start) / (end - start)) * (box.width - LABEL_WIDTH_PX), box.y + 8);
  await cursorTo(page, seq);
}

async function inspectorAt(page: Page, seq: number): Promise<void> {
  await expect.poll(() => page.getByTestId('inspector').getAttribute('data-seq'), { timeout: 10_000 }).toBe(String(seq));
}

describe('Run view in Chromium on real engine runs', () => {
  it('draws the timeline, and W/S/A/D change the visible range', async () => {
    const page = await openRun(split.runId);
    expect(await attr(page, 'visibleEnd')).toBe(split.events.length);
    expect((await lanes(page)).length).toBeGreaterThanOrEqual(4);
    const pixels = await canvasOf(page).evaluate((el) => {
      const c = el as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(160, 30, c.width - 170, 60).data;
      const colours = new Set<number>();
      for (let i = 0; i < data.length; i += 16) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      return colours.size;
    });
    expect(pixels).toBeGreaterThan(3); // slices of several colours, not a blank canvas
    await canvasOf(page).focus();
    const span0 = (await attr(page, 'visibleEnd')) - (await attr(page, 'visibleStart'));
    for (let i = 0; i < 3; i++) await page.keyboard.press('w');
    await expect.poll(async () => (await attr(page, 'visibleEnd')) - (await attr(page, 'visibleStart'))).toBeLessThan(span0 / 3);
    const start0 = await attr(page, 'visibleStart');
    await page.keyboard.press('d');
    await expect.poll(() => attr(page, 'visibleStart')).toBeGreaterThan(start0);
    await page.keyboard.press('a');
    await page.keyboard.press('a');
    await expect.poll(() => attr(page, 'visibleStart')).toBeLessThan(start0 + 1);
    await page.keyboard.press('s');
    await expect.poll(async () => (await attr(page, 'visibleEnd')) - (await attr(page, 'visibleStart'))).toBeGreaterThan(span0 / 3);
    await page.close();
  });

  it('clicking a SEAMCALL shows its status by name and value', async () => {
    const page = await openRun(busy.runId);
    const aug = busy.events.find((e) => e.name === 'TDH.MEM.PAGE.AUG' && e.status.startsWith('TDX_OPERAND_BUSY'))!;
    expect(aug).toBeDefined();
    expect(await canvasOf(page).getAttribute('data-mode')).toBe('events');
    const p = await slicePoint(page, aug.seq, aug.thread, 'tdx');
    await page.mouse.click(p.x, p.y);
    await expect.poll(() => attr(page, 'selectedSeq')).toBe(aug.seq);
    const status = page.getByTestId('event-status');
    await status.waitFor();
    expect(await status.textContent()).toMatch(/TDX_OPERAND_BUSY(\|\w+)? = 0x80000200000000[0-9a-f]{2}/);
    expect(await page.getByTestId('parent-chain').textContent()).toContain('set_external_spte');
    await page.close();
  });

  it('stepping the cursor past the zap changes the inspector; last writer and GFN search work', async () => {
    const page = await openRun(split.runId);
    const zapGfn = 0x234;
    const zap = split.events.find((e) => e.tree === 'mirror' && e.level === 1 && e.gfn === zapGfn && e.seq > 40 && e.name !== 'fill')!;
    expect(zap).toBeDefined();
    await cursorNear(page, zap.seq - 1);
    await inspectorAt(page, zap.seq - 1);
    const mirror = page.getByTestId('tree-mirror');
    const before = await mirror.textContent();
    await page.keyboard.press('ArrowRight');
    await inspectorAt(page, zap.seq);
    const after = await mirror.textContent();
    expect(after).not.toBe(before);
    expect(await mirror.locator('.row.changed').count()).toBeGreaterThan(0);

    // GFN search opens the path to 0x300 in both trees.
    await page.getByTestId('gfn-search').fill('0x300');
    await page.getByTestId('gfn-search').press('Enter');
    for (const tree of ['tree-mirror', 'tree-sept']) await page.getByTestId(tree).locator('[data-found="true"]').waitFor({ timeout: 5000 });
    const found = page.getByTestId('tree-mirror').locator('[data-found="true"]');
    const gfnStart = Number(await found.getAttribute('data-gfn-start'));
    const level = Number(await found.getAttribute('data-level'));
    expect(gfnStart <= 0x300 && level >= 1).toBe(true);

    // "Jump to last writer" selects the last event that wrote that entry at or before the cursor.
    await found.locator('.label').click();
    await page.getByTestId('last-writer').click();
    const want = split.events.filter((e) => e.seq <= zap.seq && e.tree === 'mirror' && e.level === level && e.gfn === gfnStart).at(-1)!;
    await expect.poll(() => attr(page, 'selectedSeq')).toBe(want.seq);
    await expect.poll(() => attr(page, 'cursor')).toBe(want.seq);
    await page.close();
  });

  it('an annotation and the cursor survive a reload', async () => {
    const page = await openRun(split.runId);
    await cursorNear(page, 100);
    const text = `after the fault ${Date.now().toString(36)}`;
    await page.getByTestId('annotation-text').fill(text);
    await page.getByTestId('annotation-text').press('Enter');
    await page.getByTestId('annotation').filter({ hasText: text }).waitFor();
    await page.waitForTimeout(400); // the cursor's save is debounced (250 ms)
    await page.reload();
    await page.getByTestId('annotation').filter({ hasText: text }).waitFor({ timeout: 10_000 });
    await expect.poll(() => attr(page, 'cursor')).toBe(100);
    expect(await page.getByTestId('annotation').filter({ hasText: text }).textContent()).toContain('#100');
    await page.close();
  });

  it("W keeps zooming around the cursor, even on the run's first event", async () => {
    const page = await openRun(busy.runId);
    await cursorNear(page, 0);
    for (let i = 0; i < 4; i++) {
      const span = (await attr(page, 'visibleEnd')) - (await attr(page, 'visibleStart'));
      await page.keyboard.press('w');
      await expect.poll(async () => (await attr(page, 'visibleEnd')) - (await attr(page, 'visibleStart'))).toBeLessThan(span);
      expect(await attr(page, 'visibleStart')).toBeLessThanOrEqual(0.5); // seq 0 stays on screen
    }
    await page.close();
  });

  it('selecting an operation draws flows to the SEAMCALLs and entry writes it caused', async () => {
    // A 41-event run: its first fault is readable on screen after a few zoom steps.
    const page = await openRun(busy.runId);
    // Caused = descendants by the recorded parent chain, walked here independently of the store.
    const causedBy = (op: SimEvent): SimEvent[] =>
      busy.events.filter((e) => {
        if (e.seq <= op.seq || (e.tree === 'none' && e.layer !== 'tdx')) return false;
        for (let p = e.parent; p >= 0; p = busy.events[p].parent) if (p === op.seq) return true;
        return false;
      });
    const op = busy.events.find((e) => e.layer === 'op' && causedBy(e).some((c) => c.name === 'TDH.MEM.PAGE.AUG'))!;
    expect(op).toBeDefined();
    const want = causedBy(op);
    await cursorNear(page, op.seq);
    for (let i = 0; i < 8 && (await attr(page, 'visibleEnd')) - (await attr(page, 'visibleStart')) > (op.end - op.seq) * 3; i++) await page.keyboard.press('w');
    await expect.poll(() => canvasOf(page).getAttribute('data-mode')).toBe('events');
    const p = await slicePoint(page, op.seq, op.thread, 'op');
    await page.mouse.click(p.x, p.y);
    await expect.poll(() => attr(page, 'selectedSeq')).toBe(op.seq);
    const [start, end] = [await attr(page, 'visibleStart'), await attr(page, 'visibleEnd')];
    const onScreen = want.filter((e) => e.seq >= start - 1 && e.seq <= end).length;
    expect(onScreen).toBeGreaterThan(0);
    await expect.poll(() => attr(page, 'drawnFlows')).toBe(onScreen);
    const listed = await page.getByTestId('caused').locator('li button').allTextContents();
    expect(listed).toEqual(want.slice(0, listed.length).map((e) => `#${e.seq} ${e.name}`));
    expect(await page.getByTestId('caused-summary').textContent()).toContain(`${want.filter((e) => e.tree === 'none').length} SEAMCALLs, ${want.filter((e) => e.tree !== 'none').length} entry writes`);
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results/run-view-flows.png'), fullPage: true });
    // Selecting an effect that caused nothing itself clears the flows.
    const quiet = want.slice(0, listed.length).find((e) => causedBy(e).length === 0)!;
    expect(quiet).toBeDefined();
    await page.getByTestId('caused').getByRole('button', { name: `#${quiet.seq} ${quiet.name}`, exact: true }).click();
    await expect.poll(() => attr(page, 'selectedSeq')).toBe(quiet.seq);
    await expect.poll(() => attr(page, 'drawnFlows')).toBe(0);
    await page.close();
  });

  it('Export run downloads the run file, trailer and all', async () => {
    const page = await openRun(busy.runId);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('run-export').click()]);
    expect(download.suggestedFilename()).toBe(`septwb-run-${busy.runId}.septwb-run.jsonl`);
    const lines = readFileSync((await download.path())!, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(lines[0]).format).toBe('septwb/run');
    const trailer = JSON.parse(lines[lines.length - 1]) as [string, { events: number }];
    expect(trailer[0]).toBe('end');
    expect(trailer[1].events).toBe(busy.events.length);
    await page.close();
  });

  it('screenshots both views just after the split, and no console errors happened', async () => {
    const page = await openRun(split.runId);
    const splitSpan = split.events.find((e) => e.name === 'tdp_mmu_split_huge_page')!;
    await cursorNear(page, splitSpan.seq);
    for (let i = 0; i < 6; i++) await page.keyboard.press('w'); // zoom in around the cursor
    await expect.poll(() => canvasOf(page).getAttribute('data-mode')).toBe('events');
    const p = await slicePoint(page, splitSpan.seq, splitSpan.thread, 'mmu');
    await page.mouse.click(p.x, p.y + 13); // the split sits in the lane's second row, under the walk
    await expect.poll(() => attr(page, 'selectedSeq')).toBe(splitSpan.seq);
    for (let i = 0; i < 6; i++) await page.keyboard.press('s');
    await cursorNear(page, splitSpan.end + 1); // a click on the axis moves the cursor, not the selection
    await inspectorAt(page, splitSpan.end + 1);
    expect(await attr(page, 'selectedSeq')).toBe(splitSpan.seq);
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results/run-view-after-split.png'), fullPage: true });
    await page.keyboard.press('t');
    await page.waitForTimeout(100); // the next frame redraws the canvas in the new theme
    await page.screenshot({ path: join(ROOT, 'test-results/run-view-after-split-dark.png'), fullPage: true });
    await page.keyboard.press('t');
    await page.close();
    expect(problems).toEqual([]);
  });
});
