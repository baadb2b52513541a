// The Library's data: app info and the stored scenarios, loaded through the api and refreshed
// when main says the list changed. Large lists are replaced, never mutated ($state.raw).
import type { AppInfo, ScenarioSummary } from '../../../shared/api/library.ts';
import type { ApiError } from '../../../shared/api/contract.ts';
import type { ApiClient } from './api_client.ts';

export class LibraryState {
  scenarios: ScenarioSummary[] = $state.raw([]);
  appInfo: AppInfo | null = $state.raw(null);
  error: ApiError | null = $state.raw(null);
  loading = $state(true);
  readonly #client: ApiClient;
  #unsubscribe: (() => void) | null = null;

  constructor(client: ApiClient) {
    this.#client = client;
  }

  builtinCount = $derived.by(() => this.scenarios.filter((s) => s.builtin).length);

  /** Loads once and follows onScenariosChanged until dispose(). */
  start = async (): Promise<void> => {
    this.#unsubscribe = this.#client.on('onScenariosChanged', () => void this.refresh());
    await this.refresh();
  };

  refresh = async (): Promise<void> => {
    const [info, list] = await Promise.all([this.#client.api.appInfo({}), this.#client.api.listScenarios({})]);
    this.loading = false;
    if (!info.ok) return void (this.error = info.error);
    if (!list.ok) return void (this.error = list.error);
    this.error = null;
    this.appInfo = info.value;
    this.scenarios = list.value;
  };

  dispose = (): void => {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  };
}
