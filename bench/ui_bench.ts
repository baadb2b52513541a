// The Run view's figures (PRODUCT.md section 5, "Timeline"): in headless Chromium against
// browser mode, on a run of at least 1,000,000 events recorded from the engine's fault-range
// scenario, the time to first paint of the timeline (bar: under 1 s) and the p95 frame time
// during a scripted pan/zoom (bar: under 16.7 ms).
//
// What is measured. First paint: the page's own clock (performance.now(), from navigation
// start) when the timeline first drew slices, read from the canvas's data-first-paint-ms. Frame
// time: the duration of each requestAnimationFrame callback while W/S/A/D, wheel and drag input
// arrive (the app has one frame loop, raf_scheduler.ts, so these are its frames: actions plus
// redraw), collected by wrapping requestAnimationFrame before the app loads.
//
// The inspector (PRODUCT.md section 5, "Inspector": under 50 ms p95 at any event of a
// 1,000,000-event run). Measured over HTTP, as the Run view calls it (POST /api/stateAt with
// {runId, seq}), from the moment the server starts: the first call (cold: the run's checkpoints
// are not built yet, main reads the store's state), then INSPECTOR_CALLS calls at random
// cursors while the checkpoint sweep still runs in the background, and as many again after the
// Chromium part (the sweep done: the steady state). In Chromium: the time from
// a click on the timeline's axis (pointerdown) to the first frame after the inspector shows the
// new cursor's trees, over INSPECTOR_CLICKS random clicks.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenarioText } from '../shared/scenario_validate.ts';
import { openService } from '../main/api/service.ts';
import { startServer } from '../main/server/server.ts';
import { runScenario } from '../main/sim/engine.ts';
import { Recorder } from '../main/store/recorder.ts';
import type { Store } from '../main/store/store.ts';
import { launchChromium, RENDERER_DIR, requireBrowserAndBuild, ROOT } from '../e2e/harness.ts';
import { figure, type Figure, type FigureProvider } from './figure.ts';

/** 4K faults to fault in: about 10 events each, so a little over 1,000,000 events. */
const FAULT_PAGES = 102_400;
const EVENTS_MIN = 1_000_000;
const KEY_GAP_MS = 25;
const FIRST_PAINT_WAIT_MS = 30_000;
const INSPECTOR_CALLS = 200;
const INSPECTOR_CLICKS = 30;
const REPAINT_WAIT_MS = 10_000;
/** The bench's own PRNG (a 32-bit LCG): the cursors are the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Records the fault-range built-in, cut to FAULT_PAGES pages, under `unified`. */
function recordBigRun(store: Store): { runId: number; events: number; simMs: number } {
  const text = readFileSync(join(ROOT, 'scenarios/fault-range-1gib-4k.json'), 'utf8').replace('"pages": 262144}\n', `"pages": ${FAULT_PAGES}}\n`);
  const parsed = parseScenarioText(text);
  if (!parsed.ok) throw new Error(`fault-range scenario: ${JSON.stringify(parsed.errors)}`);
  const recorder = new Recorder(store.writable);
  const runId = recorder.beginRun({ scenarioId: null, scenarioJson: text, design: 'unified', seed: parsed.scenario.seed, schedule: null, appVersion: 'bench', threadNames: ['vcpu0'] });
  const started = performance.now();
  const result = runScenario(parsed.scenario, { design: 'unified', onChunk: (c) => recorder.writeChunk(c) });
  const simMs = performance.now() - started;
  recorder.finishRun(runId, { status: 'completed', outcome: result.outcome, metrics: result.metrics, hash: result.hash });
  return { runId, events: store.getRun(runId)!.eventCount, simMs };
}

function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? NaN;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

export async function uiBench(): Promise<Figure[]> {
  requireBrowserAndBuild();
  const dir = mkdtempSync(join(tmpdir(), 'septwb-ui-bench-'));
  const opened = openService({ dbFile: join(dir, 'bench.db'), scenariosDir: join(ROOT, 'scenarios'), appVersion: 'bench', mode: 'browser' });
  if (!opened.ok) throw new Error(opened.message);
  const token = 'ui-bench-token-0123456789';
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  const browser = await launchChromium();
  try {
    const run = recordBigRun(opened.value.store);
    if (run.events < EVENTS_MIN) throw new Error(`the bench run has ${run.events} events, fewer than ${EVENTS_MIN}`);
    server = await startServer({ service: opened.value.service, events: opened.value.events, rendererDir: RENDERER_DIR, port: 0, token });
    const inspector = await inspectorCalls(server.port, token, run.runId, run.events);
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    await page.addInitScript(() => {
      const durations: number[] = [];
      (window as unknown as { septwbFrameMs: number[] }).septwbFrameMs = durations;
      const raf = window.requestAnimationFrame.bind(window);
      window.requestAnimationFrame = (cb) => raf((t) => {
        const started = performance.now();
        cb(t);
        durations.push(performance.now() - started);
      });
    });
    await page.goto(`${server.url}#/run/${run.runId}`);
    const canvas = page.getByTestId('timeline-canvas');
    await canvas.waitFor({ timeout: FIRST_PAINT_WAIT_MS });
    await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid="timeline-canvas"]')?.dataset.firstPaintMs !== undefined, undefined, { timeout: FIRST_PAINT_WAIT_MS });
    const firstPaintMs = Number(await canvas.getAttribute('data-first-paint-ms'));
    const frames = await scriptedPanZoom(page);
    const drawn = Number(await canvas.getAttribute('data-drawn-slices'));
    const repaints = await cursorToRepaint(page);
    // By now the background sweep has long finished: the steady state of a run being looked at.
    const warm = await inspectorCalls(server.port, token, run.runId, run.events);
    await screenshotAtEnd(page).catch((e: unknown) => process.stderr.write(`ui_bench: no screenshot: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`));
    return [
      figure(`timeline first paint, ${run.events.toLocaleString('en-US')}-event run (headless Chromium)`, round2(firstPaintMs), 'ms', { bar: 1000, better: 'lower' }),
      figure(`timeline frame time p95 during scripted pan/zoom (${frames.length} frames, ${drawn} slices in last frame)`, round2(p95(frames)), 'ms', { bar: 16.7, better: 'lower' }),
      figure('timeline frame time max during scripted pan/zoom', round2(Math.max(...frames)), 'ms'),
      figure(`inspector stateAt over HTTP, first call (cold: no checkpoints yet; ${inspector.rows} rows)`, round2(inspector.firstMs), 'ms'),
      figure(`inspector stateAt over HTTP p95, ${INSPECTOR_CALLS} random cursors from a cold start`, round2(p95(inspector.timesMs)), 'ms', { bar: 50, better: 'lower' }),
      figure('inspector stateAt over HTTP max over those cursors', round2(Math.max(...inspector.timesMs)), 'ms'),
      figure(`inspector stateAt over HTTP p95, ${INSPECTOR_CALLS} random cursors once the checkpoints are built`, round2(p95(warm.timesMs)), 'ms', { bar: 50, better: 'lower' }),
      figure(`inspector cursor move to repaint p95 in Chromium (${repaints.length} axis clicks)`, round2(p95(repaints)), 'ms', { bar: 50, better: 'lower' }),
    ];
  } finally {
    await browser.close();
    await server?.close();
    opened.value.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Times stateAt over HTTP: the first call, then INSPECTOR_CALLS at random cursors. */
async function inspectorCalls(port: number, token: string, runId: number, events: number): Promise<{ firstMs: number; timesMs: number[]; rows: number }> {
  const call = async (seq: number): Promise<{ ms: number; rows: number }> => {
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${port}/api/stateAt?token=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runId, seq }) });
    const result = (await response.json()) as { ok: boolean; value?: { mirror: unknown[]; sept: unknown[] } };
    const ms = performance.now() - started;
    if (!result.ok || result.value === undefined) throw new Error(`stateAt at ${seq} failed: ${JSON.stringify(result).slice(0, 200)}`);
    return { ms, rows: result.value.mirror.length + result.value.sept.length };
  };
  const random = lcg(5);
  const first = await call(Math.floor(random() * events));
  const timesMs: number[] = [];
  let rows = first.rows;
  for (let i = 0; i < INSPECTOR_CALLS; i++) {
    const r = await call(Math.floor(random() * events));
    timesMs.push(r.ms);
    rows = Math.max(rows, r.rows);
  }
  return { firstMs: first.ms, timesMs, rows };
}

/**
 * Clicks the timeline's axis at random points: each moves the cursor, and the inspector loads
 * the trees there. Returns, per click, ms from pointerdown to the first animation frame after
 * the inspector's data-seq changed (Svelte updates the rows and data-seq in one flush).
 */
async function cursorToRepaint(page: import('playwright-core').Page): Promise<number[]> {
  const canvas = page.getByTestId('timeline-canvas');
  const box = (await canvas.boundingBox())!;
  const random = lcg(9);
  const out: number[] = [];
  for (let i = 0; i < INSPECTOR_CLICKS; i++) {
    await page.evaluate((waitMs) => {
      const w = window as unknown as { septwbRepaint: Promise<number> };
      w.septwbRepaint = new Promise<number>((resolve, reject) => {
        const inspector = document.querySelector('[data-testid="inspector"]')!;
        const before = inspector.getAttribute('data-seq');
        let t0 = -1;
        window.addEventListener('pointerdown', () => (t0 = performance.now()), { capture: true, once: true });
        const timer = setTimeout(() => reject(new Error('the inspector did not change')), waitMs);
        const observer = new MutationObserver(() => {
          if (t0 < 0 || inspector.getAttribute('data-seq') === before) return;
          observer.disconnect();
          clearTimeout(timer);
          requestAnimationFrame(() => resolve(performance.now() - t0));
        });
        observer.observe(inspector, { attributes: true, attributeFilter: ['data-seq'] });
      });
    }, REPAINT_WAIT_MS);
    await page.mouse.click(box.x + 160 + random() * (box.width - 170), box.y + 8);
    out.push(await page.evaluate(() => (window as unknown as { septwbRepaint: Promise<number> }).septwbRepaint));
  }
  return out;
}

/** Zooms in and out with W/S and the wheel, pans with A/D and a drag; returns the frame times. */
async function scriptedPanZoom(page: import('playwright-core').Page): Promise<number[]> {
  const canvas = page.getByTestId('timeline-canvas');
  const box = (await canvas.boundingBox())!;
  await canvas.focus();
  await page.evaluate(() => ((window as unknown as { septwbFrameMs: number[] }).septwbFrameMs.length = 0));
  const press = async (key: string, times: number) => {
    for (let i = 0; i < times; i++) {
      await page.keyboard.press(key);
      await page.waitForTimeout(KEY_GAP_MS);
    }
  };
  await press('w', 12);
  await press('d', 15);
  await press('a', 15);
  await page.mouse.move(box.x + box.width * 0.6, box.y + 60);
  for (let i = 0; i < 15; i++) {
    await page.mouse.wheel(0, i < 8 ? -120 : 120);
    await page.waitForTimeout(KEY_GAP_MS);
  }
  await page.mouse.down();
  for (let i = 0; i < 20; i++) {
    await page.mouse.move(box.x + box.width * 0.6 - i * 15, box.y + 60);
    await page.waitForTimeout(KEY_GAP_MS);
  }
  await page.mouse.up();
  await press('s', 12);
  await page.waitForTimeout(300);
  return page.evaluate(() => [...(window as unknown as { septwbFrameMs: number[] }).septwbFrameMs]);
}

/** Puts the cursor near the end of the run and saves test-results/run-view-1m.png (for review, not a figure). */
async function screenshotAtEnd(page: import('playwright-core').Page): Promise<void> {
  const canvas = page.getByTestId('timeline-canvas');
  const box = (await canvas.boundingBox())!;
  await page.mouse.click(box.x + box.width - 20, box.y + 8);
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-testid="inspector"]')?.dataset.seq ?? -1) > 0, undefined, { timeout: 10_000 });
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'test-results/run-view-1m.png') });
}

export const figures: FigureProvider = uiBench;

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  for (const f of await uiBench()) console.log(`${f.name}: ${f.value} ${f.unit}${f.bar === null ? '' : ` (bar ${f.bar}, ${f.meets ? 'meets' : 'MISSES'})`}`);
}
