// The run-file importer (format: share.ts). Reads line by line: validates the header, the
// strings, each event, the trailer; feeds events to the Recorder in chunks (so keyframes, bins
// and the content hash are rebuilt exactly as when recording) and finally checks the hash.
// Every failure is an ImportFailure naming "line N: $path"; the caller's transaction then
// rolls everything back.
import { LAYERS, TREES, type EventChunk } from '../../shared/event.ts';
import type { ImportResult, RunOutcome, RunStatus, RunTimings } from '../../shared/store_types.ts';
import { prepared, type WritableDB } from './db.ts';
import { checkDepth, fail, int, isoTime, name, obj, oneOf, onlyKeys, parseJson, str, typeName } from './json_guard.ts';
import { Recorder } from './recorder.ts';
import { putViewState } from './runs.ts';
import { findScenarioByJson, putScenario } from './scenarios.ts';
import type { ImportLimits } from './share.ts';

const FORMAT = 'septwb/run';
const VERSION = 1;
const VALUE_ENCODING = 'packed-u64@1';
const CHUNK = 16384;
const INT32_MAX = 2 ** 31 - 1;
const GFN_MAX = 2 ** 46 - 1;
const U64_PACKED_MAX = 2 ** 52 - 1;
const THREADS_MAX = 1000;
const HEADER_KEYS = ['format', 'version', 'appVersion', 'valueEncoding', 'layers', 'trees', 'scenario', 'run', 'viewState', 'eventCount', 'stringCount'] as const;
const RUN_KEYS = ['design', 'seed', 'schedule', 'appVersion', 'status', 'outcome', 'metrics', 'eventHash', 'threadNames', 'timings', 'startedAt', 'finishedAt'] as const;

interface Header {
  appVersion: string;
  scenario: { name: string; description: string; json: string };
  design: string;
  seed: number;
  schedule: number[] | null;
  runAppVersion: string;
  status: Exclude<RunStatus, 'running'>;
  outcome: RunOutcome | null;
  metrics: unknown;
  eventHash: string;
  threadNames: string[];
  timings: RunTimings;
  startedAt: string;
  finishedAt: string | null;
  viewState: unknown;
  eventCount: number;
  stringCount: number;
}

function sameList(v: unknown, want: readonly string[], path: string): void {
  if (!Array.isArray(v) || v.length !== want.length || v.some((x, i) => x !== want[i])) fail(path, `expected ${JSON.stringify(want)}`, 'unsupported');
}

function parseOutcome(v: unknown, path: string): RunOutcome | null {
  if (v === null) return null;
  const o = obj(v, path);
  onlyKeys(o, ['status', 'site', 'reason'], path);
  return { status: str(o.status, `${path}.status`, 64), site: str(o.site, `${path}.site`, 256), reason: str(o.reason, `${path}.reason`, 4096) };
}

function parseTimings(v: unknown, path: string): RunTimings {
  const o = obj(v, path);
  const out: RunTimings = {};
  for (const [k, x] of Object.entries(o)) {
    if (!/^[A-Za-z][A-Za-z0-9]{0,31}$/.test(k)) fail(`${path}.${k.slice(0, 32)}`, 'bad timing name');
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > 1e12) fail(`${path}.${k}`, `expected a finite duration, got ${typeName(x)}`);
    out[k] = x;
  }
  return out;
}

function parseHeader(o: Record<string, unknown>, limits: ImportLimits): Header {
  const p = 'line 1: $';
  if (o.format !== FORMAT) fail(`${p}.format`, `expected "${FORMAT}", got ${JSON.stringify(o.format)?.slice(0, 40)}`, 'unsupported');
  if (o.version !== VERSION) fail(`${p}.version`, `version ${JSON.stringify(o.version)?.slice(0, 20)} is not supported (this build reads ${VERSION})`, 'unsupported');
  onlyKeys(o, HEADER_KEYS, p);
  if (o.valueEncoding !== VALUE_ENCODING) fail(`${p}.valueEncoding`, `expected "${VALUE_ENCODING}"`, 'unsupported');
  sameList(o.layers, LAYERS, `${p}.layers`);
  sameList(o.trees, TREES, `${p}.trees`);
  const sc = obj(o.scenario, `${p}.scenario`);
  onlyKeys(sc, ['name', 'description', 'json'], `${p}.scenario`);
  const scenarioJson = str(sc.json, `${p}.scenario.json`, limits.headerBytesMax);
  checkDepth(scenarioJson, limits.depthMax, `${p}.scenario.json`);
  obj(parseJson(scenarioJson, `${p}.scenario.json`), `${p}.scenario.json`);
  const r = obj(o.run, `${p}.run`);
  onlyKeys(r, RUN_KEYS, `${p}.run`);
  const threadNames = r.threadNames;
  if (!Array.isArray(threadNames) || threadNames.length < 1 || threadNames.length > THREADS_MAX) fail(`${p}.run.threadNames`, `expected 1..${THREADS_MAX} names`);
  const names = threadNames.map((t, i) => name(t, `${p}.run.threadNames[${i}]`, 64));
  let schedule: number[] | null = null;
  if (r.schedule !== null) {
    if (!Array.isArray(r.schedule) || r.schedule.length > 10_000_000) fail(`${p}.run.schedule`, 'expected null or an array of thread ids');
    schedule = r.schedule.map((t, i) => int(t, `${p}.run.schedule[${i}]`, 0, names.length - 1));
  }
  const design = str(r.design, `${p}.run.design`, 40);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(design)) fail(`${p}.run.design`, `not a design id: ${JSON.stringify(design)}`);
  const eventHash = str(r.eventHash, `${p}.run.eventHash`, 64);
  if (!/^[0-9a-f]*$/.test(eventHash)) fail(`${p}.run.eventHash`, 'expected lowercase hex');
  return {
    appVersion: str(o.appVersion, `${p}.appVersion`, 64),
    scenario: { name: name(sc.name, `${p}.scenario.name`, 200), description: str(sc.description, `${p}.scenario.description`, 10000), json: scenarioJson },
    design,
    seed: int(r.seed, `${p}.run.seed`, 0, Number.MAX_SAFE_INTEGER),
    schedule,
    runAppVersion: str(r.appVersion, `${p}.run.appVersion`, 64),
    status: r.status === 'running' ? 'interrupted' : oneOf(r.status, `${p}.run.status`, ['completed', 'interrupted', 'cancelled'] as const),
    outcome: parseOutcome(r.outcome, `${p}.run.outcome`),
    metrics: r.metrics ?? null,
    eventHash,
    threadNames: names,
    timings: parseTimings(r.timings, `${p}.run.timings`),
    startedAt: isoTime(r.startedAt, `${p}.run.startedAt`),
    finishedAt: r.finishedAt === null ? null : isoTime(r.finishedAt, `${p}.run.finishedAt`),
    viewState: o.viewState ?? null,
    eventCount: int(o.eventCount, `${p}.eventCount`, 0, limits.eventsMax),
    stringCount: int(o.stringCount, `${p}.stringCount`, 1, limits.stringsMax),
  };
}

function newChunk(seqStart: number, size: number, stringsStart: number): EventChunk {
  return {
    seqStart, count: 0,
    thread: new Int32Array(size), layer: new Uint8Array(size), name: new Int32Array(size), parent: new Int32Array(size),
    end: new Int32Array(size), step: new Int32Array(size), op: new Int32Array(size), gfn: new Float64Array(size),
    level: new Uint8Array(size), tree: new Uint8Array(size), old: new Float64Array(size), new: new Float64Array(size),
    status: new Int32Array(size), detail: new Int32Array(size), stringsStart, strings: [], endPatches: [], statusPatches: [],
  };
}

export class RunImporter {
  readonly #db: WritableDB;
  readonly #limits: ImportLimits;
  readonly #recorder: Recorder;
  #lineNo = 0;

  constructor(db: WritableDB, limits: ImportLimits) {
    this.#db = db;
    this.#limits = limits;
    this.#recorder = new Recorder(db);
  }

  /** Parses one line as a JSON array (event, string or trailer line). */
  #array(line: string): unknown[] {
    const path = `line ${this.#lineNo}`;
    if (line.length > this.#limits.lineBytesMax) fail(path, `line longer than ${this.#limits.lineBytesMax} bytes`, 'oversized');
    const v = parseJson(line, path);
    if (!Array.isArray(v)) fail(`${path}: $`, `expected an array, got ${typeName(v)}`);
    return v;
  }

  run(lines: Iterable<string>): ImportResult {
    const it = lines[Symbol.iterator]();
    const next = (): string | null => {
      const r = it.next();
      if (r.done) return null;
      this.#lineNo++;
      return r.value;
    };
    const first = next();
    if (first === null || first.trim() === '') fail('line 1', 'empty file: expected the run header', 'truncated');
    if (first.length > this.#limits.headerBytesMax) fail('line 1', `header longer than ${this.#limits.headerBytesMax} bytes`, 'oversized');
    checkDepth(first, this.#limits.depthMax, 'line 1: $');
    const h = parseHeader(obj(parseJson(first, 'line 1'), 'line 1: $'), this.#limits);
    const scenarioId = findScenarioByJson(this.#db, h.scenario.json) ?? putScenario(this.#db, { name: h.scenario.name, description: h.scenario.description, json: h.scenario.json, builtin: false });
    const runId = this.#recorder.beginRun({ scenarioId, scenarioJson: h.scenario.json, design: h.design, seed: h.seed, schedule: h.schedule, appVersion: h.runAppVersion, threadNames: h.threadNames });
    const strings = this.#readStrings(h, next);
    this.#readEvents(h, strings, next);
    const trailerLine = next();
    if (trailerLine === null) fail(`line ${this.#lineNo + 1}`, 'file ends before the ["end", ...] trailer', 'truncated');
    const t = this.#array(trailerLine);
    const tp = `line ${this.#lineNo}: $`;
    if (t.length !== 2 || t[0] !== 'end') fail(tp, 'expected the ["end", {...}] trailer');
    const to = obj(t[1], `${tp}[1]`);
    onlyKeys(to, ['events', 'strings', 'contentHash'], `${tp}[1]`);
    int(to.events, `${tp}[1].events`, h.eventCount, h.eventCount);
    int(to.strings, `${tp}[1].strings`, h.stringCount, h.stringCount);
    const wantHash = str(to.contentHash, `${tp}[1].contentHash`, 64);
    const after = next();
    if (after !== null && (after.trim() !== '' || this.#restNonEmpty(it))) fail(`line ${this.#lineNo}`, 'data after the trailer');
    this.#recorder.finishRun(runId, { status: h.status, outcome: h.outcome, metrics: h.metrics, hash: h.eventHash, timings: h.timings });
    const got = (prepared(this.#db, 'SELECT content_hash FROM runs WHERE id = ?').get(runId) as { content_hash: string }).content_hash;
    if (got !== wantHash) fail(`${tp}[1].contentHash`, `the events hash to ${got}, the file says ${wantHash}: the file was altered or damaged`);
    // The run reads as it did where it was recorded: its own times, not the import's.
    prepared(this.#db, 'UPDATE runs SET started_at = ?, finished_at = ?, timings_json = ? WHERE id = ?').run(h.startedAt, h.finishedAt, JSON.stringify(h.timings), runId);
    if (h.viewState !== null) putViewState(this.#db, runId, h.viewState);
    return { ok: true, runId, scenarioId };
  }

  #restNonEmpty(it: Iterator<string>): boolean {
    // Only blank lines may follow the trailer; looking at a few is enough to tell.
    for (let r = it.next(), n = 0; !r.done && n < 16; r = it.next(), n++) if (r.value.trim() !== '') return true;
    return false;
  }

  #readStrings(h: Header, next: () => string | null): string[] {
    const strings: string[] = [];
    for (let id = 0; id < h.stringCount; id++) {
      const line = next();
      if (line === null) fail(`line ${this.#lineNo + 1}`, `file ends after ${id} of ${h.stringCount} strings`, 'truncated');
      const a = this.#array(line);
      const p = `line ${this.#lineNo}: $`;
      if (a.length !== 3 || a[0] !== 's') fail(p, 'expected ["s", id, text]');
      int(a[1], `${p}[1]`, id, id);
      const text = str(a[2], `${p}[2]`, 4096);
      if (id === 0 && text !== '') fail(`${p}[2]`, 'string 0 must be ""');
      strings.push(text);
    }
    return strings;
  }

  #readEvents(h: Header, strings: string[], next: () => string | null): void {
    let chunk = newChunk(0, Math.min(CHUNK, Math.max(1, h.eventCount)), 1);
    chunk.strings = strings.slice(1);
    const s = strings.length - 1;
    const threads = h.threadNames.length - 1;
    for (let seq = 0; seq < h.eventCount; seq++) {
      const line = next();
      if (line === null) fail(`line ${this.#lineNo + 1}`, `file ends after ${seq} of ${h.eventCount} events`, 'truncated');
      const a = this.#array(line);
      const p = `line ${this.#lineNo}: $`;
      if (a.length !== 16 || a[0] !== 'e') fail(p, 'expected ["e", seq, thread, layer, name, parent, end, step, op, gfn, level, tree, old, new, status, detail]');
      const i = chunk.count++;
      int(a[1], `${p}[1]`, seq, seq);
      chunk.thread[i] = int(a[2], `${p}[2]`, 0, threads);
      chunk.layer[i] = int(a[3], `${p}[3]`, 0, LAYERS.length - 1);
      chunk.name[i] = int(a[4], `${p}[4]`, 0, s);
      chunk.parent[i] = int(a[5], `${p}[5]`, -1, seq - 1);
      const end = int(a[6], `${p}[6]`, -1, h.eventCount - 1);
      if (end !== -1 && end < seq) fail(`${p}[6]`, `end ${end} before the event's seq ${seq}`);
      chunk.end[i] = end;
      chunk.step[i] = int(a[7], `${p}[7]`, 0, INT32_MAX);
      chunk.op[i] = int(a[8], `${p}[8]`, -1, INT32_MAX);
      chunk.gfn[i] = int(a[9], `${p}[9]`, -1, GFN_MAX);
      chunk.level[i] = int(a[10], `${p}[10]`, 0, 5);
      const tree = int(a[11], `${p}[11]`, 0, TREES.length - 1);
      if (tree !== 0 && (chunk.level[i] === 0 || chunk.gfn[i] < 0)) fail(`${p}[11]`, 'a page-table write needs a level >= 1 and a gfn');
      chunk.tree[i] = tree;
      chunk.old[i] = a[12] === null ? NaN : int(a[12], `${p}[12]`, 0, U64_PACKED_MAX);
      chunk.new[i] = a[13] === null ? NaN : int(a[13], `${p}[13]`, 0, U64_PACKED_MAX);
      chunk.status[i] = int(a[14], `${p}[14]`, 0, s);
      chunk.detail[i] = int(a[15], `${p}[15]`, 0, s);
      if (chunk.count === chunk.thread.length) {
        this.#recorder.writeChunk(chunk);
        chunk = newChunk(seq + 1, CHUNK, strings.length);
      }
    }
    if (chunk.count > 0 || chunk.strings.length > 0) this.#recorder.writeChunk(chunk);
  }
}
