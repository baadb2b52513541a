// `npm run bench`: measured figures against PRODUCT.md section 5's bars. A readable table by
// default; with --json one document {"figures": [...]}. Each provider is `() => Promise<Figure[]>`.
//
// Adding a provider: write bench/<area>_bench.ts exporting `figures: FigureProvider` (import
// the types from './bench.ts'), and list its file in OPTIONAL_PROVIDERS below if it is not
// there yet. Files not written yet are reported as missing, not as an error.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EventSink } from '../main/sim/event_sink.ts';
import { openService } from '../main/api/service.ts';
import { startServer } from '../main/server/server.ts';

// The figure type lives in figure.ts: providers import it from there, not from this entry
// module (a provider importing a value from here would wait on this module's top-level await).
import { figure, type Figure, type FigureProvider } from './figure.ts';
export { figure, type Figure, type FigureProvider };

/** Providers owned by other areas, loaded when their file exists. */
const OPTIONAL_PROVIDERS = ['./engine_bench.ts', './store_bench.ts', './ui_bench.ts'];

const API_CALLS = 300;
const SINK_SPANS = 200_000;

/** The foundation's own figures: the api round trip in browser mode, and the event sink. */
const foundationFigures: FigureProvider = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'septwb-bench-'));
  try {
    return [await apiRoundTrip(dir), eventSinkRate()];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

async function apiRoundTrip(dir: string): Promise<Figure> {
  const opened = openService({ dbFile: join(dir, 'bench.db'), scenariosDir: fileURLToPath(new URL('../scenarios', import.meta.url)), appVersion: 'bench', mode: 'browser' });
  if (!opened.ok) throw new Error(opened.message);
  const token = 'bench-token-0123456789';
  const server = await startServer({ service: opened.value.service, events: opened.value.events, rendererDir: dir, port: 0, token });
  const timesMs: number[] = [];
  try {
    for (let i = 0; i < API_CALLS; i++) {
      const started = performance.now();
      const response = await fetch(`http://127.0.0.1:${server.port}/api/listScenarios?token=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      await response.json();
      timesMs.push(performance.now() - started);
    }
  } finally {
    await server.close();
    opened.value.close();
  }
  timesMs.sort((a, b) => a - b);
  return figure('api listScenarios round trip over HTTP, p95', round(timesMs[Math.floor(timesMs.length * 0.95)], 3), 'ms');
}

function eventSinkRate(): Figure {
  const sink = new EventSink({ chunkSize: 4096 });
  const started = performance.now();
  for (let i = 0; i < SINK_SPANS; i++) {
    sink.begin(0, 'mmu', 'tdp_mmu_set_spte_atomic', i, 1);
    sink.end(0);
  }
  const seconds = (performance.now() - started) / 1000;
  return figure('event sink, begin+end spans (2 events each)', Math.round((SINK_SPANS * 2) / seconds), 'events/s');
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

async function loadProviders(notes: string[]): Promise<FigureProvider[]> {
  const providers: FigureProvider[] = [foundationFigures];
  for (const file of OPTIONAL_PROVIDERS) {
    const url = new URL(file, import.meta.url);
    if (!existsSync(fileURLToPath(url))) {
      notes.push(`${file.slice(2)}: not written yet`);
      continue;
    }
    const module = (await import(url.href)) as { figures?: FigureProvider };
    if (typeof module.figures === 'function') providers.push(module.figures);
    else notes.push(`${file.slice(2)}: exports no \`figures\` provider`);
  }
  return providers;
}

function printTable(figures: Figure[]): void {
  const rows = figures.map((f) => [f.name, `${f.value.toLocaleString('en-US')} ${f.unit}`, f.bar === null ? '-' : `${f.bar.toLocaleString('en-US')} ${f.unit}`, f.meets === null ? '-' : f.meets ? 'yes' : 'NO', f.baseline === null ? '-' : `${f.baseline.toLocaleString('en-US')} ${f.unit}`]);
  const headers = ['FIGURE', 'VALUE', 'BAR', 'MEETS', 'BASELINE'];
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  console.log(line(headers));
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const notes: string[] = [];
  const figures: Figure[] = [];
  for (const provider of await loadProviders(notes)) figures.push(...(await provider()));
  for (const note of notes) process.stderr.write(`bench: ${note}\n`);
  if (json) console.log(JSON.stringify({ figures }, null, 2));
  else printTable(figures);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
