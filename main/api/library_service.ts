// The Library area (shared/api/library.ts): app facts and stored scenarios, over the store.
// Built-in scenarios are read-only here: the Library offers "duplicate" to edit one.
import type { AppInfo, AppMode, LibraryApi } from '../../shared/api/library.ts';
import { err, ok } from '../../shared/api/contract.ts';
import type { ScenarioRecord, ScenarioSummary } from '../../shared/store_types.ts';
import type { ApiEventHub } from './event_hub.ts';

/** The part of main/store's Store this area uses (the real Store satisfies it). */
export interface ScenarioStore {
  listScenarios(): ScenarioSummary[];
  getScenario(id: number): ScenarioRecord | null;
  putScenario(input: { id?: number; name: string; description: string; json: string; builtin: boolean }): number;
  deleteScenario(id: number): void;
}

export interface LibraryDeps {
  store: ScenarioStore;
  events: ApiEventHub;
  appVersion: string;
  mode: AppMode;
  dbFile: string;
  builtins: { loaded: number; problems: string[] };
}

export function createLibraryService(deps: LibraryDeps): LibraryApi {
  const { store, events } = deps;
  return {
    appInfo: async () => ok(appInfoOf(deps)),
    listScenarios: async () => ok(store.listScenarios()),
    getScenario: async ({ id }) => {
      const scenario = store.getScenario(id);
      return scenario ? ok(scenario) : err('not-found', `no scenario with id ${id}`, 'args.id');
    },
    saveScenario: async ({ id, name, description, json }) => {
      const jsonProblem = jsonSyntaxProblem(json);
      if (jsonProblem) return err('bad-input', `json is not valid JSON: ${jsonProblem}`, 'args.json');
      if (id !== undefined) {
        const existing = store.getScenario(id);
        if (existing === null) return err('not-found', `no scenario with id ${id}`, 'args.id');
        if (existing.builtin) return err('conflict', 'built-in scenarios are read-only: duplicate it to edit', 'args.id');
      }
      const savedId = store.putScenario({ id, name, description, json, builtin: false });
      const saved = store.getScenario(savedId);
      if (saved === null) return err('internal', `scenario ${savedId} vanished after saving`);
      events.emit('onScenariosChanged', { reason: 'saved', id: savedId });
      return ok(summaryOf(saved));
    },
    deleteScenario: async ({ id }) => {
      const existing = store.getScenario(id);
      if (existing === null) return err('not-found', `no scenario with id ${id}`, 'args.id');
      if (existing.builtin) return err('conflict', 'built-in scenarios cannot be deleted', 'args.id');
      store.deleteScenario(id);
      events.emit('onScenariosChanged', { reason: 'deleted', id });
      return ok({ deleted: true as const });
    },
  };
}

function appInfoOf(deps: LibraryDeps): AppInfo {
  return {
    name: 'S-EPT Workbench',
    version: deps.appVersion,
    mode: deps.mode,
    dbFile: deps.dbFile,
    builtinsLoaded: deps.builtins.loaded,
    builtinProblems: deps.builtins.problems,
  };
}

function summaryOf(record: ScenarioRecord): ScenarioSummary {
  const { json: _json, ...summary } = record;
  return summary;
}

/** null when `text` parses as JSON, else the parser's message. */
function jsonSyntaxProblem(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (thrown) {
    return thrown instanceof Error ? thrown.message : String(thrown);
  }
}
