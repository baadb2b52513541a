// The scenario editor's state: the text, live validation (shared/scenario_validate.ts, the same
// rules main applies), the draft kept in localStorage on every change so nothing typed is lost
// (a reload, a crash or a place switch brings it back), saving, and running under designs.
//
// Saving a built-in scenario saves a copy (built-ins are read-only). Running saves first, so
// every run is linked to a stored scenario and shows in the Library under it.
import type { RunProgress, RunSchedule } from '../../../shared/api/jobs.ts';
import type { ApiError } from '../../../shared/api/contract.ts';
import { DESIGN_IDS, type DesignId } from '../../../shared/scenario.ts';
import { parseScenarioText, type ScenarioError } from '../../../shared/scenario_validate.ts';
import type { ApiClient } from '../lib/api_client.ts';
import { withJsonName } from '../library/library_model.svelte.ts';

export const NEW_SCENARIO_TEXT = `{
  "$schema": "../shared/scenario.schema.json",
  "schema": "septwb/scenario@1",
  "name": "New scenario",
  "description": "What it shows, and what to look at.",
  "vm": {
    "vcpus": 1,
    "memslots": [{ "id": 0, "baseGfn": "0x0", "pages": 4096, "private": true }]
  },
  "designs": ["per-op", "unified"],
  "seed": 1,
  "phases": [
    { "name": "map", "threads": { "vcpu0": [{ "op": "fault", "gfn": "0x100" }] } }
  ]
}
`;

const DRAFT_PREFIX = 'septwb.draft.';

/** Where drafts live; a plain object in tests. */
export interface DraftStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export class EditorModel {
  /** null: a new scenario, not saved yet. */
  scenarioId: number | null = $state(null);
  builtin = $state(false);
  text = $state('');
  /** The text as last saved or loaded: `dirty` compares against it. */
  savedText = $state('');
  restoredDraft = $state(false);
  error: ApiError | null = $state.raw(null);
  notice = $state('');
  designs: DesignId[] = $state([]);
  seed = $state(1);
  /** 'scenario' keeps the scenario's own schedule; the others override it for this run. */
  schedule: 'scenario' | RunSchedule = $state('scenario');
  job: RunProgress | null = $state.raw(null);
  readonly #client: ApiClient;
  readonly #drafts: DraftStore;
  #unsubscribe: (() => void) | null = null;

  constructor(client: ApiClient, drafts: DraftStore) {
    this.#client = client;
    this.#drafts = drafts;
  }

  result = $derived(parseScenarioText(this.text));
  errors: ScenarioError[] = $derived(this.result.ok ? [] : this.result.errors);
  scenario = $derived(this.result.ok ? this.result.scenario : null);
  dirty = $derived(this.text !== this.savedText);
  /** Name and description even while the scenario is invalid (null while the JSON is broken). */
  meta = $derived.by(() => (this.scenario ? { name: this.scenario.name, description: this.scenario.description } : this.#looseMeta()));
  running = $derived(this.job !== null && this.job.state === 'running');
  /** Error text per 1-based line, for the gutter and the highlighted lines. */
  errorLines = $derived.by(() => {
    const lines = new Map<number, string>();
    for (const e of this.errors) {
      const line = e.line ?? 1;
      lines.set(line, `${lines.has(line) ? `${lines.get(line)}\n` : ''}${e.path}: ${e.problem}`);
    }
    return lines;
  });

  get draftKey(): string {
    return `${DRAFT_PREFIX}${this.scenarioId ?? 'new'}`;
  }

  /** Loads a stored scenario (or a new one), then any draft left for it. */
  load = async (id: number | 'new'): Promise<void> => {
    this.error = null;
    this.notice = '';
    this.job = null;
    if (id === 'new') {
      [this.scenarioId, this.builtin, this.savedText] = [null, false, NEW_SCENARIO_TEXT];
    } else {
      const r = await this.#client.api.getScenario({ id });
      if (!r.ok) return void (this.error = r.error);
      [this.scenarioId, this.builtin, this.savedText] = [r.value.id, r.value.builtin, r.value.json];
    }
    const draft = this.#drafts.getItem(this.draftKey);
    this.restoredDraft = draft !== null && draft !== this.savedText;
    this.text = this.restoredDraft && draft !== null ? draft : this.savedText;
    if (this.restoredDraft) this.notice = 'Restored your unsaved changes from the last session.';
    const s = this.scenario;
    this.designs = s ? [...s.designs] : ['per-op', 'unified'];
    this.seed = s?.seed ?? 1;
  };

  /** Called on every edit: keeps the draft (or drops it once the text equals the saved one). */
  edit = (text: string): void => {
    this.text = text;
    if (text === this.savedText) this.#drafts.removeItem(this.draftKey);
    else this.#drafts.setItem(this.draftKey, text);
  };

  discardChanges = (): void => {
    this.edit(this.savedText);
    this.notice = 'Changes discarded.';
  };

  /**
   * Saves the text (a copy when the scenario is built-in). Returns the stored id, or null with
   * `error` set. Invalid scenarios can be saved (as work in progress), JSON syntax errors not.
   */
  save = async (): Promise<number | null> => {
    const s = this.scenario;
    const loose = this.#looseMeta();
    if (loose === null) {
      this.error = { code: 'bad-input', path: '$', message: 'The text is not valid JSON yet: fix the error at the marked line before saving. Your text is kept as a draft.' };
      return null;
    }
    const copy = this.builtin;
    const name = copy ? `${s?.name ?? loose.name} (copy)` : (s?.name ?? loose.name);
    const json = copy ? withJsonName(this.text, name) : this.text;
    const r = await this.#client.api.saveScenario({ id: copy ? undefined : (this.scenarioId ?? undefined), name: name.slice(0, 200) || 'untitled', description: (s?.description ?? loose.description).slice(0, 10_000), json });
    if (!r.ok) {
      this.error = r.error;
      return null;
    }
    this.#drafts.removeItem(this.draftKey);
    [this.scenarioId, this.builtin, this.savedText, this.text] = [r.value.id, false, json, json];
    this.#drafts.removeItem(this.draftKey);
    this.error = null;
    this.notice = copy ? `Saved as a new scenario "${name}" (built-ins are read-only).` : 'Saved.';
    return r.value.id;
  };

  #looseMeta(): { name: string; description: string } | null {
    try {
      const v = JSON.parse(this.text) as { name?: unknown; description?: unknown } | null;
      return { name: typeof v?.name === 'string' ? v.name : 'untitled', description: typeof v?.description === 'string' ? v.description : '' };
    } catch {
      return null;
    }
  }

  toggleDesign = (id: DesignId): void => {
    this.designs = this.designs.includes(id) ? this.designs.filter((d) => d !== id) : DESIGN_IDS.filter((d) => d === id || this.designs.includes(d));
  };

  /** Saves if needed, then starts the run; progress arrives in `job`. */
  run = async (): Promise<void> => {
    if (this.errors.length > 0) return void (this.error = { code: 'bad-input', message: `Fix the ${this.errors.length} problem(s) first.` });
    if (this.designs.length === 0) return void (this.error = { code: 'bad-input', message: 'Choose at least one design.' });
    const id = this.dirty || this.scenarioId === null ? await this.save() : this.scenarioId;
    if (id === null) return;
    this.#unsubscribe?.();
    let jobId = -1;
    this.#unsubscribe = this.#client.on('onRunProgress', (p) => {
      if (p.jobId === jobId || jobId < 0) this.job = p;
    });
    const r = await this.#client.api.startRun({ scenarioId: id, designs: this.designs, seed: this.seed, ...(this.schedule === 'scenario' ? {} : { schedule: this.schedule }) });
    if (!r.ok) return void (this.error = r.error);
    jobId = r.value.jobId;
    if (this.job !== null && this.job.jobId !== jobId) this.job = null;
    this.job ??= { jobId, state: 'running', design: this.designs[0], designIndex: 0, designCount: this.designs.length, events: 0, eventsPerSecond: 0, runIds: [], message: '' };
  };

  cancel = async (): Promise<void> => {
    if (this.job === null) return;
    const r = await this.#client.api.cancelRun({ jobId: this.job.jobId });
    if (!r.ok) this.error = r.error;
  };

  dispose = (): void => {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  };
}
