// Builds the one service (shared/api/api.ts) from its areas, and opens it over a database file.
// Both transports and the CLI go through openService, so they serve the same thing.
//
// Adding an area: write main/api/<area>_service.ts exporting `create<Area>Service(deps)` that
// returns the area's interface as a plain object (no class: the areas are merged with spread),
// then add ONE line to createService below.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SeptwbApi } from '../../shared/api/api.ts';
import type { AppMode } from '../../shared/api/library.ts';
import { DBVersionFromFutureError, Store } from '../store/store.ts';
import { loadBuiltinScenarios, type BuiltinLoadResult } from './builtin_scenarios.ts';
import { ApiEventHub } from './event_hub.ts';
import { createCompareService } from './compare_service.ts';
import { createLibraryService } from './library_service.ts';
import { createRunService } from './run_service.ts';
import { createJobsService } from './run_jobs.ts';

/** What every area may use. */
export interface ServiceDeps {
  store: Store;
  events: ApiEventHub;
  /** Folder of the database file; areas put side files (exports, caches) here. */
  dataDir: string;
  dbFile: string;
  appVersion: string;
  mode: AppMode;
  builtins: BuiltinLoadResult;
}

export function createService(deps: ServiceDeps): SeptwbApi {
  return {
    ...createLibraryService(deps),
    ...createRunService(deps),
    ...createCompareService(deps),
    ...createJobsService(deps),
  };
}

export interface OpenServiceOptions {
  dbFile: string;
  /** Built-in scenario files (the app's scenarios/ folder); missing is fine. */
  scenariosDir: string;
  appVersion: string;
  mode: AppMode;
}

export interface OpenedService {
  service: SeptwbApi;
  events: ApiEventHub;
  store: Store;
  builtins: BuiltinLoadResult;
  close(): void;
}

export type OpenFailure = { ok: false; kind: 'future-db' | 'open-failed'; message: string };

/**
 * Opens the database (creating its folder), loads the built-in scenarios and builds the
 * service. Returns a failure value, never throws, for: a database written by a newer version
 * (`future-db`, the store's message), or one that cannot be opened (`open-failed`).
 */
export function openService(options: OpenServiceOptions): { ok: true; value: OpenedService } | OpenFailure {
  let store: Store;
  try {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    store = Store.open(options.dbFile);
  } catch (thrown) {
    if (thrown instanceof DBVersionFromFutureError) return { ok: false, kind: 'future-db', message: thrown.message };
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return { ok: false, kind: 'open-failed', message: `cannot open database ${options.dbFile}: ${message}` };
  }
  const builtins = loadBuiltinScenarios(store, options.scenariosDir);
  const events = new ApiEventHub();
  const service = createService({
    store,
    events,
    dataDir: dirname(options.dbFile),
    dbFile: options.dbFile,
    appVersion: options.appVersion,
    mode: options.mode,
    builtins,
  });
  return { ok: true, value: { service, events, store, builtins, close: () => store.close() } };
}
