// Sharing: a scenario is exported as its JSON text; a run as ONE JSON Lines file that
// re-imports on another database and reads exactly the same (same events, same view state, and
// the same content hash, recomputed on import and checked against the file's trailer).
//
// File layout, one JSON value per line:
//   line 1        header object (RUN_FILE_FORMAT, version, run metadata, scenario, view state)
//   next S lines  ["s", id, text]           the run's strings, ids 0..S-1 in order
//   next E lines  ["e", seq, thread, layer, name, parent, end, step, op, gfn, level, tree,
//                  old, new, status, detail] ids as in shared/event.ts; old/new packed U64 or null
//   last line     ["end", {"events": E, "strings": S, "contentHash": "..."}]
// The trailer catches truncation; the hash catches any edited or lost line.
import fs from 'node:fs';
import { LAYERS, TREES } from '../../shared/event.ts';
import type { ImportResult } from '../../shared/store_types.ts';
import { ContentHash } from './content_hash.ts';
import { RUN_KEY_SPAN, eventKey, prepared, type ReadableDB, type WritableDB } from './db.ts';
import { EVENT_SELECT, type EventRow } from './events_read.ts';
import { RunImporter } from './import_run.ts';
import { ImportFailure, fail } from './json_guard.ts';
import { getRun, getRunStrings, getViewState } from './runs.ts';
import { getScenario } from './scenarios.ts';

export const RUN_FILE_FORMAT = 'septwb/run';
export const RUN_FILE_VERSION = 1;
export const VALUE_ENCODING = 'packed-u64@1';

export interface ImportLimits {
  bytesMax: number;
  headerBytesMax: number;
  lineBytesMax: number;
  eventsMax: number;
  stringsMax: number;
  depthMax: number;
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = {
  bytesMax: 4 * 2 ** 30,
  headerBytesMax: 16 * 2 ** 20,
  lineBytesMax: 64 * 2 ** 10,
  eventsMax: 50_000_000,
  stringsMax: 10_000_000,
  depthMax: 64,
};

const EXPORT_BATCH = 16384;

/** The scenario's file text, or null when there is no such scenario. */
export function exportScenario(db: ReadableDB, id: number): string | null {
  return getScenario(db, id)?.json ?? null;
}

/** The run file's lines (no newlines), streamed from the database in batches. */
export function* exportRunLines(db: ReadableDB, runId: number, appVersion: string): Generator<string> {
  const run = getRun(db, runId);
  if (run === null) return;
  const strings = getRunStrings(db, runId);
  const scenario = run.scenarioId === null ? null : getScenario(db, run.scenarioId);
  yield JSON.stringify({
    format: RUN_FILE_FORMAT,
    version: RUN_FILE_VERSION,
    appVersion,
    valueEncoding: VALUE_ENCODING,
    layers: LAYERS,
    trees: TREES,
    scenario: { name: run.scenarioName || scenario?.name || 'imported', description: scenario?.description ?? '', json: run.scenarioJson },
    run: {
      design: run.design,
      seed: run.seed,
      schedule: run.schedule,
      appVersion: run.appVersion,
      status: run.status === 'running' ? 'interrupted' : run.status,
      outcome: run.outcome,
      metrics: run.metrics,
      eventHash: run.eventHash,
      threadNames: run.threadNames,
      timings: run.timings,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
    },
    viewState: getViewState(db, runId),
    eventCount: run.eventCount,
    stringCount: strings.length,
  });
  const hash = new ContentHash();
  for (let id = 0; id < strings.length; id++) {
    hash.addString(id, strings[id]);
    yield JSON.stringify(['s', id, strings[id]]);
  }
  const stmt = prepared(db, `${EVENT_SELECT} WHERE key >= ? AND key < ? ORDER BY key`).raw(true);
  let events = 0;
  for (let seq = 0; seq < run.eventCount; seq += EXPORT_BATCH) {
    const rows = stmt.all(eventKey(runId, seq), eventKey(runId, Math.min(seq + EXPORT_BATCH, run.eventCount))) as EventRow[];
    for (const r of rows) {
      const s = r[0] % RUN_KEY_SPAN;
      hash.addEvent(s, r[1], r[2], r[3], r[4], r[6], r[7], r[8], r[9], r[10], r[11] ?? NaN, r[12] ?? NaN);
      hash.addLate(s, r[5], r[13], r[14]);
      events++;
      yield JSON.stringify(['e', s, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14]]);
    }
  }
  yield JSON.stringify(['end', { events, strings: strings.length, contentHash: hash.digest() }]);
}

export function exportRunText(db: ReadableDB, runId: number, appVersion: string): string {
  return [...exportRunLines(db, runId, appVersion)].join('\n') + '\n';
}

/** Writes the run file to `file`, buffering about 1 MiB per write. Returns the event count. */
export function exportRunToFile(db: ReadableDB, runId: number, appVersion: string, file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    let buf: string[] = [];
    let size = 0;
    for (const line of exportRunLines(db, runId, appVersion)) {
      buf.push(line);
      size += line.length + 1;
      if (size > 2 ** 20) {
        fs.writeSync(fd, buf.join('\n') + '\n');
        buf = [];
        size = 0;
      }
    }
    if (buf.length > 0) fs.writeSync(fd, buf.join('\n') + '\n');
  } finally {
    fs.closeSync(fd);
  }
}

/** Lines of a text, refusing an oversized whole or line before parsing anything. */
function* textLines(text: string, limits: ImportLimits): Generator<string> {
  if (text.length > limits.bytesMax) fail('file', `larger than ${limits.bytesMax} bytes`, 'oversized');
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    yield text.slice(start, nl);
    start = nl + 1;
  }
}

/** Lines of a file read in 1 MiB blocks; a line longer than the header limit is refused unread. */
function* fileLines(file: string, limits: ImportLimits): Generator<string> {
  const size = fs.statSync(file).size;
  if (size > limits.bytesMax) fail('file', `${size} bytes is larger than ${limits.bytesMax}`, 'oversized');
  const fd = fs.openSync(file, 'r');
  try {
    const block = Buffer.alloc(2 ** 20);
    let pending = '';
    for (let read = fs.readSync(fd, block); read > 0; read = fs.readSync(fd, block)) {
      pending += block.toString('utf8', 0, read);
      const parts = pending.split('\n');
      pending = parts.pop()!;
      yield* parts;
      if (pending.length > limits.headerBytesMax) fail('file', `a line longer than ${limits.headerBytesMax} bytes`, 'oversized');
    }
    if (pending.length > 0) yield pending;
  } finally {
    fs.closeSync(fd);
  }
}

export function importRunText(db: WritableDB, text: string, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): ImportResult {
  return importRunLines(db, () => textLines(text, limits), limits);
}

export function importRunFile(db: WritableDB, file: string, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): ImportResult {
  return importRunLines(db, () => fileLines(file, limits), limits);
}

/**
 * Validates and stores a run file in ONE transaction: on any problem nothing is stored and the
 * result names the line and JSON path. `lines` is called once, inside the transaction.
 */
export function importRunLines(db: WritableDB, lines: () => Iterable<string>, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): ImportResult {
  try {
    return db.transaction(() => new RunImporter(db, limits).run(lines()))();
  } catch (e) {
    if (e instanceof ImportFailure) return { ok: false, error: e.error };
    if (e instanceof RangeError || e instanceof TypeError) return { ok: false, error: { code: 'malformed', path: 'file', message: e.message } };
    throw e;
  }
}
