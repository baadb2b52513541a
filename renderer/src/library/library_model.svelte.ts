// The Library's state: scenarios with their runs, search, and the actions on them (new,
// duplicate, rename, delete with undo, import, export). Lists are replaced, never mutated.
//
// Deleting is undoable: the row disappears at once and the api call waits DELETE_UNDO_MS for
// an Undo; closing the window in that time keeps the scenario (the safe direction).
import type { ApiError } from '../../../shared/api/contract.ts';
import type { AppInfo } from '../../../shared/api/library.ts';
import { locateJsonPath } from '../../../shared/json_locate.ts';
import { parseScenarioText } from '../../../shared/scenario_validate.ts';
import type { RunSummary, ScenarioSummary } from '../../../shared/store_types.ts';
import type { ApiClient } from '../lib/api_client.ts';
import { baseName, classifyText, downloadRun, downloadText } from './file_io.ts';

export const DELETE_UNDO_MS = 8000;
/** Runs whose metrics are read for the divergence badge (the newest ones). */
const RUN_DETAILS_MAX = 60;

/** What a run's badge says, from its outcome and metrics. */
export interface RunBadge {
  text: string;
  tone: 'ok' | 'bad' | 'warn' | 'muted';
}

export function runBadges(run: RunSummary, divergences: number | null, bugKinds: string[]): RunBadge[] {
  const out: RunBadge[] = [];
  if (run.status !== 'completed') out.push({ text: run.status, tone: run.status === 'running' ? 'muted' : 'warn' });
  const o = run.outcome;
  if (o !== null) {
    if (o.status === 'completed') out.push({ text: 'completed', tone: 'ok' });
    else if (o.status === 'vm-bugged') out.push({ text: bugKinds[0] ?? 'KVM_BUG_ON', tone: 'bad' });
    else if (o.status === 'host-bug') out.push({ text: 'BUG()', tone: 'bad' });
    else out.push({ text: o.status, tone: 'bad' });
  }
  if (divergences !== null && divergences > 0) out.push({ text: `divergence ×${divergences}`, tone: 'bad' });
  return out;
}

/** Sets the scenario text's top-level "name" to `name`, keeping the rest of the text as it is. */
export function withJsonName(text: string, name: string): string {
  const at = locateJsonPath(text, '$.name');
  if (at === null || !at.exact || at.length === 0) return text;
  return text.slice(0, at.offset) + JSON.stringify(name) + text.slice(at.offset + at.length);
}

export class LibraryModel {
  scenarios: ScenarioSummary[] = $state.raw([]);
  runs: RunSummary[] = $state.raw([]);
  /** Per run id: divergences and bug kinds read from its metrics (newest runs only). */
  runDetails: Map<number, { divergences: number; bugKinds: string[] }> = $state.raw(new Map());
  appInfo: AppInfo | null = $state.raw(null);
  query = $state('');
  error: ApiError | null = $state.raw(null);
  notice = $state('');
  loading = $state(true);
  /** Scenario ids hidden while their delete can still be undone. */
  pendingDelete: number[] = $state.raw([]);
  readonly #client: ApiClient;
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();
  #unsubscribe: (() => void)[] = [];

  constructor(client: ApiClient) {
    this.#client = client;
  }

  visible = $derived.by(() => {
    const q = this.query.trim().toLowerCase();
    return this.scenarios.filter((s) => !this.pendingDelete.includes(s.id) && (q === '' || s.name.toLowerCase().includes(q) || s.description.toLowerCase().includes(q)));
  });
  builtinCount = $derived.by(() => this.scenarios.filter((s) => s.builtin).length);

  runsOf = (scenarioId: number): RunSummary[] => this.runs.filter((r) => r.scenarioId === scenarioId);

  start = async (): Promise<void> => {
    this.#unsubscribe.push(this.#client.on('onScenariosChanged', () => void this.refresh()));
    this.#unsubscribe.push(this.#client.on('onRunProgress', (p) => p.state !== 'running' && void this.refresh()));
    await this.refresh();
  };

  refresh = async (): Promise<void> => {
    const [info, list, runs] = await Promise.all([this.#client.api.appInfo({}), this.#client.api.listScenarios({}), this.#client.api.listRuns({})]);
    this.loading = false;
    for (const r of [info, list, runs]) if (!r.ok) return void (this.error = r.error);
    if (!info.ok || !list.ok || !runs.ok) return;
    this.error = null;
    this.appInfo = info.value;
    this.scenarios = list.value;
    this.runs = runs.value;
    await this.#loadRunDetails(runs.value.slice(0, RUN_DETAILS_MAX));
  };

  async #loadRunDetails(runs: RunSummary[]): Promise<void> {
    const details = new Map(this.runDetails);
    const missing = runs.filter((r) => !details.has(r.id) && r.status !== 'running');
    const records = await Promise.all(missing.map((r) => this.#client.api.getRun({ id: r.id })));
    for (const rec of records) {
      if (!rec.ok) continue;
      const m = (rec.value.metrics ?? {}) as { divergences?: unknown; bugs?: { kind?: unknown }[] };
      const bugs = Array.isArray(m.bugs) ? m.bugs.map((b) => String(b?.kind ?? '')).filter(Boolean) : [];
      details.set(rec.value.id, { divergences: typeof m.divergences === 'number' ? m.divergences : 0, bugKinds: bugs });
    }
    this.runDetails = details;
  }

  badgesOf = (run: RunSummary): RunBadge[] => {
    const d = this.runDetails.get(run.id);
    return runBadges(run, d?.divergences ?? null, d?.bugKinds ?? []);
  };

  /** Creates a scenario from text; returns its id or null (error set). */
  create = async (name: string, description: string, json: string): Promise<number | null> => {
    const r = await this.#client.api.saveScenario({ name: name.slice(0, 200) || 'untitled', description: description.slice(0, 10_000), json });
    if (!r.ok) {
      this.error = r.error;
      return null;
    }
    await this.refresh();
    return r.value.id;
  };

  duplicate = async (scenario: ScenarioSummary): Promise<number | null> => {
    const full = await this.#client.api.getScenario({ id: scenario.id });
    if (!full.ok) return void (this.error = full.error), null;
    const name = `${scenario.name} (copy)`;
    const id = await this.create(name, scenario.description, withJsonName(full.value.json, name));
    if (id !== null) this.notice = `Duplicated as "${name}".`;
    return id;
  };

  rename = async (scenario: ScenarioSummary, name: string): Promise<boolean> => {
    const trimmed = name.trim();
    if (!trimmed || trimmed === scenario.name) return false;
    const full = await this.#client.api.getScenario({ id: scenario.id });
    if (!full.ok) return void (this.error = full.error), false;
    const r = await this.#client.api.saveScenario({ id: scenario.id, name: trimmed, description: scenario.description, json: withJsonName(full.value.json, trimmed) });
    if (!r.ok) return void (this.error = r.error), false;
    this.notice = `Renamed to "${trimmed}".`;
    await this.refresh();
    return true;
  };

  /** Hides the scenario now and deletes it after DELETE_UNDO_MS unless undone. */
  remove = (scenario: ScenarioSummary): void => {
    this.pendingDelete = [...this.pendingDelete, scenario.id];
    this.notice = `Deleted "${scenario.name}".`;
    this.#timers.set(
      scenario.id,
      setTimeout(() => void this.#commitDelete(scenario.id), DELETE_UNDO_MS),
    );
  };

  undoDelete = (): void => {
    const id = this.pendingDelete[this.pendingDelete.length - 1];
    if (id === undefined) return;
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
    this.pendingDelete = this.pendingDelete.filter((x) => x !== id);
    this.notice = 'Delete undone.';
  };

  async #commitDelete(id: number): Promise<void> {
    this.#timers.delete(id);
    const r = await this.#client.api.deleteScenario({ id });
    this.pendingDelete = this.pendingDelete.filter((x) => x !== id);
    if (!r.ok) this.error = r.error;
    else if (this.notice.startsWith('Deleted')) this.notice = '';
    await this.refresh();
  }

  exportScenario = async (scenario: ScenarioSummary): Promise<void> => {
    const full = await this.#client.api.getScenario({ id: scenario.id });
    if (!full.ok) return void (this.error = full.error);
    const slug = scenario.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'scenario';
    downloadText(`${slug}.json`, full.value.json);
  };

  exportRun = async (run: RunSummary): Promise<void> => {
    const error = await downloadRun(this.#client, run.id);
    if (error !== null) this.error = error;
  };

  deleteRun = async (run: RunSummary): Promise<void> => {
    const r = await this.#client.api.deleteRun({ id: run.id });
    if (!r.ok) return void (this.error = r.error);
    this.notice = `Deleted run ${run.id}.`;
    await this.refresh();
  };

  /**
   * Imports files by content: scenarios (even invalid ones: the text is kept and the editor
   * shows the problems), runs and comparisons. Returns what to open next: the last imported
   * scenario's id, or null. A file that cannot be stored leaves an error naming it and where.
   */
  importFiles = async (files: { name: string; text: string }[]): Promise<{ scenarioId: number | null; comparisonId: number | null }> => {
    let scenarioId: number | null = null;
    let comparisonId: number | null = null;
    const done: string[] = [];
    for (const f of files) {
      const kind = classifyText(f.text);
      if (kind === 'run') {
        const r = await this.#client.api.importRun({ text: f.text });
        if (!r.ok) return this.#importFailed(f.name, r.error, { scenarioId, comparisonId });
        done.push(`${f.name} (run ${r.value.runId})`);
      } else if (kind === 'comparison') {
        const r = await this.#client.api.importComparison({ text: f.text });
        if (!r.ok) return this.#importFailed(f.name, r.error, { scenarioId, comparisonId });
        comparisonId = r.value.id;
        done.push(`${f.name} (comparison ${r.value.id})`);
      } else {
        const r = await this.#importScenario(f.name, f.text);
        if (r === null) return { scenarioId, comparisonId };
        scenarioId = r;
        done.push(`${f.name} (scenario)`);
      }
    }
    this.notice = done.length ? `Imported ${done.join(', ')}.` : this.notice;
    await this.refresh();
    return { scenarioId, comparisonId };
  };

  async #importScenario(fileName: string, text: string): Promise<number | null> {
    const parsed = parseScenarioText(text);
    if (!parsed.ok && parsed.errors[0]?.path === '$' && parsed.errors[0].problem.startsWith('invalid JSON')) {
      const e = parsed.errors[0];
      this.error = { code: 'bad-input', path: '$', message: `${fileName}: line ${e.line ?? '?'}, column ${e.column ?? '?'}: ${e.problem}. Nothing was imported.` };
      return null;
    }
    let name = baseName(fileName);
    let description = '';
    if (parsed.ok) [name, description] = [parsed.scenario.name, parsed.scenario.description];
    else {
      const loose = JSON.parse(text) as { name?: unknown; description?: unknown };
      if (typeof loose?.name === 'string' && loose.name.trim()) name = loose.name;
      if (typeof loose?.description === 'string') description = loose.description;
    }
    const id = await this.create(name, description, text);
    if (id !== null && !parsed.ok) this.notice = `Imported "${name}" with ${parsed.errors.length} problem(s): fix them in the editor.`;
    return id;
  }

  #importFailed(fileName: string, e: ApiError, soFar: { scenarioId: number | null; comparisonId: number | null }) {
    this.error = { ...e, message: `${fileName}: ${e.path ? `${e.path}: ` : ''}${e.message}. Nothing from this file was imported.` };
    return soFar;
  }

  dispose = (): void => {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    // Pending deletes are committed now rather than lost with the component.
    for (const [id, timer] of this.#timers) {
      clearTimeout(timer);
      void this.#commitDelete(id);
    }
  };
}
