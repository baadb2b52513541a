// The service's events, fanned out to every transport that listens (an Electron window, each
// browser-mode event stream, a CLI progress printer). Emitting never throws: a listener that
// fails is dropped, so one broken stream cannot stop a run from reporting to the others.
import type { ApiEventMessage } from '../../shared/api/contract.ts';
import type { EventName, SeptwbEvents } from '../../shared/api/api.ts';

export type ApiEventListener = (message: ApiEventMessage) => void;

export class ApiEventHub {
  readonly #listeners = new Set<ApiEventListener>();

  emit<K extends EventName>(name: K, payload: SeptwbEvents[K]): void {
    const message: ApiEventMessage = { name, payload };
    for (const listener of [...this.#listeners]) {
      try {
        listener(message);
      } catch {
        this.#listeners.delete(listener);
      }
    }
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ApiEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
