// The Library area of the api: app facts and the stored scenarios (PRODUCT.md section 4).
// Implemented by main/api/library_service.ts.
import type { ScenarioRecord, ScenarioSummary } from '../store_types.ts';
import type { ApiMethod, EventDescriptor, MethodDescriptor } from './contract.ts';
import { args, int, noArgs, optional, str } from './validate.ts';

/** Where the api is being served from; the renderer shows it, tests assert it. */
export type AppMode = 'electron' | 'browser' | 'cli';

export interface AppInfo {
  name: string;
  version: string;
  mode: AppMode;
  /** The SQLite file behind this service. */
  dbFile: string;
  /** Built-in scenarios loaded at startup, and the files that could not be read (with why). */
  builtinsLoaded: number;
  builtinProblems: string[];
}

// Scenario rows are the store's types (shared/store_types.ts), re-exported for the api's users.
export type { ScenarioRecord, ScenarioSummary };

/** Longest accepted name and description, and scenario text (bytes of JSON). */
export const SCENARIO_NAME_LENGTH_MAX = 200;
export const SCENARIO_DESCRIPTION_LENGTH_MAX = 10_000;
export const SCENARIO_JSON_LENGTH_MAX = 8 * 1024 * 1024;

export interface LibraryApi {
  /** Name, version and mode of the running app. */
  appInfo: ApiMethod<Record<string, never>, AppInfo>;
  /** Every stored scenario: built-in first (the seed's argument, "Seed: ...", leading), then by name. */
  listScenarios: ApiMethod<Record<string, never>, ScenarioSummary[]>;
  /** One scenario with its JSON; `not-found` when the id is unknown. */
  getScenario: ApiMethod<{ id: number }, ScenarioRecord>;
  /**
   * Creates (no id) or replaces (id) a user scenario. `bad-input` when `json` is not JSON,
   * `conflict` when the id names a built-in (they are read-only: duplicate them instead).
   */
  saveScenario: ApiMethod<{ id?: number; name: string; description: string; json: string }, ScenarioSummary>;
  /** Deletes a user scenario; `conflict` for a built-in, `not-found` for an unknown id. */
  deleteScenario: ApiMethod<{ id: number }, { deleted: true }>;
}

const scenarioId = int(1, Number.MAX_SAFE_INTEGER);

export const libraryMethods = {
  appInfo: noArgs,
  listScenarios: noArgs,
  getScenario: args({ id: scenarioId }),
  saveScenario: args({
    id: optional(scenarioId),
    name: str({ lengthMin: 1, lengthMax: SCENARIO_NAME_LENGTH_MAX }),
    description: str({ lengthMax: SCENARIO_DESCRIPTION_LENGTH_MAX }),
    json: str({ lengthMin: 2, lengthMax: SCENARIO_JSON_LENGTH_MAX }),
  }),
  deleteScenario: args({ id: scenarioId }),
} satisfies MethodDescriptor<LibraryApi>;

export interface LibraryEvents {
  /** The scenario list changed (saved, deleted, built-ins reloaded): lists should refetch. */
  onScenariosChanged: { reason: 'saved' | 'deleted' | 'builtins'; id: number | null };
}

export const libraryEvents = {
  onScenariosChanged: true,
} satisfies EventDescriptor<LibraryEvents>;
