// What `run` and `compare` share: reading a scenario file, running it through the service's
// Jobs area (a worker thread records each design; this thread stays free to print progress and
// to pass Ctrl-C on as cancelRun), and the run's --json document and table row.
//
// --no-record runs against a scratch database: the worker needs a file to record into, and
// main/cli reaches the engine only through main/api (scripts/check_layers.mjs). The scratch file
// lives in a fresh temp folder, removed when the command ends, so the user's database is never
// touched and memory stays bounded however long the run.
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { SeptwbApi } from '../../shared/api/api.ts';
import type { RunProgress } from '../../shared/api/jobs.ts';
import type { RunRecord } from '../../shared/api/runs.ts';
import { DESIGN_IDS, type DesignId, type Scenario } from '../../shared/scenario.ts';
import { parseScenarioText, SCENARIO_LIMITS, type ScenarioError } from '../../shared/scenario_validate.ts';
import { metricsView, type MetricsView } from '../api/compare_service.ts';
import type { OpenedService } from '../api/service.ts';
import { dbFileOf, parseFlags, parseIntFlag, unwrap, withService, type CliDeps } from './command.ts';
import { BadInputError, CancelError, EXIT_BAD_INPUT, FlagError, mutuallyExclusive, SilentError } from './errors.ts';

export interface ScenarioFile {
  file: string;
  text: string;
  scenario: Scenario;
}

/** One validator error as a line: `line:col $.path: problem`, the position only when located. */
export function scenarioErrorLine(e: ScenarioError): string {
  const at = e.line !== undefined && e.column !== undefined ? `${e.line}:${e.column} ` : '';
  return `${at}${e.path}: ${e.problem}`;
}

/**
 * The text of a file no bigger than `bytesMax`. Throws BadInputError naming the file when it is
 * missing, a directory, unreadable or too big (checked before reading, so a huge file costs
 * nothing).
 */
export function readTextFile(file: string, bytesMax: number): string {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new BadInputError(`${file}: not a regular file`);
    if (stat.size > bytesMax) throw new BadInputError(`${file}: ${stat.size} bytes, larger than the limit of ${bytesMax}`);
    return readFileSync(file, 'utf8');
  } catch (thrown) {
    if (thrown instanceof BadInputError) throw thrown;
    throw new BadInputError(`cannot read ${file}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
}

/**
 * Reads and validates a scenario file. On validation errors prints a header and one line per
 * error to stderr, then throws SilentError (exit 2): the lines are the message.
 */
export function readScenarioFile(deps: CliDeps, file: string): ScenarioFile {
  const text = readTextFile(file, SCENARIO_LIMITS.textLengthMax);
  const parsed = parseScenarioText(text);
  if (parsed.ok) return { file, text, scenario: parsed.scenario };
  const count = parsed.errors.length;
  deps.io.err.write(`septwb: ${file} is not a valid scenario (${count} error${count === 1 ? '' : 's'}):\n`);
  for (const e of parsed.errors) deps.io.err.write(`${scenarioErrorLine(e)}\n`);
  throw new SilentError(EXIT_BAD_INPUT);
}

/** A run or scenario id given as an argument: a positive integer, else a FlagError (exit 2). */
export function parseIdArg(what: string, raw: string | undefined): number {
  if (raw === undefined) throw new FlagError(`missing the ${what} id`);
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new FlagError(`${what} id must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/**
 * Writes `text` to `file` through a temporary sibling and a rename, so an interrupted export
 * never leaves a half-written file under the name asked for. Errors become BadInputError.
 */
export function writeOutFile(file: string, text: string): void {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, text, { flag: 'wx' });
    renameSync(temp, file);
  } catch (thrown) {
    rmSync(temp, { force: true });
    throw new BadInputError(`cannot write ${file}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
}

/** Checks `--design` values at parse time (exit 2 naming the bad one and the known ids). */
export function parseDesignFlags(values: string[] | undefined): DesignId[] {
  const designs: DesignId[] = [];
  for (const value of values ?? []) {
    if (!(DESIGN_IDS as readonly string[]).includes(value)) {
      throw new FlagError(`--design ${JSON.stringify(value)} is not a design; known: ${DESIGN_IDS.join(', ')}`);
    }
    designs.push(value as DesignId);
  }
  return designs;
}

/** Where runs are recorded: the user's database file, or a scratch one (--no-record). */
export type RecordTarget = { kind: 'db'; dbFile: string } | { kind: 'scratch' };

export const SEED_MAX = 0xffffffff;

/** The flags `compare` takes; `run` takes them and --jsonl. */
const COMPARE_FLAGS = {
  design: { type: 'string', multiple: true },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  db: { type: 'string' },
  'no-record': { type: 'boolean' },
} as const;
const RUN_FLAGS = { ...COMPARE_FLAGS, jsonl: { type: 'boolean' } } as const;

/** `run` and `compare` arguments, checked. `jsonl` is false for `compare` (it has no such flag). */
export interface ScenarioRunArgs {
  file: string;
  designs: DesignId[];
  /** null: the scenario's seed. */
  seed: number | null;
  json: boolean;
  jsonl: boolean;
  target: RecordTarget;
}

/**
 * Parses `<scenario.json> [--design ID]... [--seed N] [--json] [--db FILE | --no-record]` for
 * `run` (which also takes --jsonl) and `compare`. Each problem is a FlagError (exit 2), checked
 * in this order: unknown flags, the file, --json with --jsonl, --db with --no-record, the design
 * ids, then `checkDesigns` (the command's own rule on how many), then --seed.
 */
export function parseScenarioRunArgs(deps: CliDeps, command: 'run' | 'compare', argv: string[], checkDesigns: (designs: DesignId[], jsonl: boolean) => void): ScenarioRunArgs {
  const { values, positionals } = parseFlags(argv, command === 'run' ? RUN_FLAGS : COMPARE_FLAGS, true);
  const jsonl = 'jsonl' in values && values.jsonl === true;
  if (positionals.length !== 1) throw new FlagError(positionals.length === 0 ? `${command} needs a scenario file` : `${command} takes one scenario file, got ${positionals.length}`);
  mutuallyExclusive('--json and --jsonl cannot be given together', values.json === true, jsonl);
  mutuallyExclusive('--db and --no-record cannot be given together', values.db !== undefined, values['no-record'] === true);
  const designs = parseDesignFlags(values.design);
  checkDesigns(designs, jsonl);
  return {
    file: positionals[0],
    designs,
    seed: parseIntFlag('seed', values.seed, 0, SEED_MAX) ?? null,
    json: values.json === true,
    jsonl,
    target: values['no-record'] === true ? { kind: 'scratch' } : { kind: 'db', dbFile: dbFileOf(deps, values.db) },
  };
}

/**
 * Opens the service over the target's database, runs `body`, closes it; a scratch database is
 * created in a fresh temp folder and removed afterwards, whatever happens.
 */
export async function withRecordTarget<T>(deps: CliDeps, target: RecordTarget, body: (service: SeptwbApi, opened: OpenedService) => Promise<T>): Promise<T> {
  if (target.kind === 'db') return withService(deps, target.dbFile, body);
  const dir = mkdtempSync(join(tmpdir(), 'septwb-scratch-'));
  try {
    return await withService(deps, join(dir, 'scratch.db'), body);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The stored scenario whose text is exactly this file's (a built-in run from its file, or one
 * added with `septwb scenarios add`), so the run is listed under it; null when there is none.
 */
export async function storedScenarioIdOf(service: SeptwbApi, file: ScenarioFile): Promise<number | null> {
  const summaries = unwrap(await service.listScenarios({}));
  for (const s of summaries) {
    if (s.name !== file.scenario.name) continue;
    const record = unwrap(await service.getScenario({ id: s.id }));
    if (record.json === file.text) return s.id;
  }
  return null;
}

/** A run the worker finished and recorded, read back from the store. */
export interface FinishedRun {
  runId: number;
  record: RunRecord;
  metrics: MetricsView;
}

export interface RunJobInput {
  file: ScenarioFile;
  designs: DesignId[];
  seed: number;
}

/**
 * Runs and records `file` under each design through the Jobs area and waits for the job.
 * Prints one line per finished design to stderr. Returns the runs in design order.
 * Throws CancelError after Ctrl-C (deps.signal; the run in progress is kept as `cancelled`),
 * BadInputError when the service refuses the scenario, and Error when the worker failed.
 */
export async function runJob(deps: CliDeps, opened: OpenedService, input: RunJobInput): Promise<FinishedRun[]> {
  const { service, events } = opened;
  const scenarioId = await storedScenarioIdOf(service, input.file);
  // Subscribe before starting: a fast job may report its end before startRun's promise settles.
  const seen: RunProgress[] = [];
  let wake: () => void = () => {};
  const unsubscribe = events.subscribe((m) => {
    if (m.name !== 'onRunProgress') return;
    seen.push(m.payload as RunProgress);
    wake();
  });
  try {
    const source = scenarioId === null ? { json: input.file.text } : { scenarioId };
    const { jobId } = unwrap(await service.startRun({ ...source, designs: input.designs, seed: input.seed }));
    const onAbort = () => void service.cancelRun({ jobId });
    deps.signal.addEventListener('abort', onAbort, { once: true });
    if (deps.signal.aborted) onAbort();
    try {
      const last = await jobEnd(seen, jobId, (f) => (wake = f), (index) => reportDesignDone(deps, input.designs, index));
      return await finishedRuns(service, last);
    } finally {
      deps.signal.removeEventListener('abort', onAbort);
    }
  } finally {
    unsubscribe();
  }
}

/**
 * Waits until the job's progress leaves `running`; calls `onRunDone` once per run id as it
 * appears. Bounded by the job itself: the Jobs area always ends a job (done, failed, cancelled,
 * or failed when the worker exits).
 */
async function jobEnd(seen: RunProgress[], jobId: number, setWake: (f: () => void) => void, onRunDone: (index: number) => void): Promise<RunProgress> {
  let runsReported = 0;
  let next = 0;
  for (;;) {
    for (; next < seen.length; next++) {
      const p = seen[next];
      if (p.jobId !== jobId) continue;
      for (; runsReported < p.runIds.length; runsReported++) onRunDone(runsReported);
      if (p.state !== 'running') return p;
    }
    await new Promise<void>((resolve) => setWake(resolve));
  }
}

function reportDesignDone(deps: CliDeps, designs: DesignId[], index: number): void {
  deps.io.err.write(`septwb: ${designs[index]} done (${index + 1}/${designs.length})\n`);
}

async function finishedRuns(service: SeptwbApi, last: RunProgress): Promise<FinishedRun[]> {
  if (last.state === 'cancelled') throw new CancelError(`cancelled; runs kept: ${last.runIds.join(', ') || 'none'}`);
  if (last.state === 'failed') throw new Error(`the run failed: ${last.message}`);
  const runs: FinishedRun[] = [];
  for (const runId of last.runIds) {
    const record = unwrap(await service.getRun({ id: runId }));
    runs.push({ runId, record, metrics: metricsView(record.metrics) });
  }
  return runs;
}

/** One entry of `{"runs": [...]}`; runId only when the run is kept in the user's database. */
export function runJson(run: FinishedRun, recorded: boolean) {
  const r = run.record;
  const outcome = r.outcome ?? { status: r.status, site: '', reason: '' };
  return {
    design: r.design,
    seed: r.seed,
    hash: r.eventHash,
    ...(recorded ? { runId: run.runId } : {}),
    outcome: { status: outcome.status, site: outcome.site, reason: outcome.reason },
    metrics: run.metrics,
  };
}

export function sumValues(counts: Record<string, number>): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n;
  return total;
}

export function seamcallTotal(seamcalls: Record<string, Record<string, number>>): number {
  let total = 0;
  for (const byStatus of Object.values(seamcalls)) total += sumValues(byStatus);
  return total;
}

/** Detection latency as a person reads it: '-' without a divergence, 'never' if undetected. */
export function latencyText(m: { divergences: number; detectionLatency: number }): string {
  if (m.divergences === 0) return '-';
  return m.detectionLatency < 0 ? 'never' : String(m.detectionLatency);
}

export const RUN_TABLE_HEADERS = ['design', 'outcome', 'site', 'hooks', 'seamcalls', 'retries', 'kicks', 'bugs', 'warns', 'divergences', 'latency', 'steps', 'events', 'hash'];

export function runTableRow(run: FinishedRun): (string | number)[] {
  const m = run.metrics;
  const outcome = run.record.outcome;
  return [
    run.record.design,
    outcome?.status ?? run.record.status,
    outcome?.site || '-',
    sumValues(m.hookCalls),
    seamcallTotal(m.seamcalls),
    m.retries,
    m.kicks,
    m.bugs.length,
    sumValues(m.warns),
    m.divergences,
    latencyText(m),
    m.steps,
    m.events,
    run.record.eventHash,
  ];
}

/** How to run exactly this again (the seeded schedule follows from the seed). */
export function reproduceLine(run: FinishedRun, file: string): string {
  const path = /[\s"'$\\]/.test(file) ? JSON.stringify(file) : file;
  return `septwb run ${path} --design ${run.record.design} --seed ${run.record.seed}`;
}

export function isCompleted(run: FinishedRun): boolean {
  return run.record.outcome?.status === 'completed';
}
