// The bridge the Electron preload exposes as `window.septwb` (main/electron/preload.ts) and the
// renderer's client uses when present. Minimal on purpose (VS Code's sandbox preload): a call
// and an event subscription, both limited to the names in the contract.
import type { ApiEventMessage, Result } from './contract.ts';

export interface SeptwbBridge {
  /** Calls one api method; resolves to its Result (never rejects on an api error). */
  call(method: string, args: unknown): Promise<Result<unknown>>;
  /** Subscribes to one event by name; returns the unsubscribe function. */
  on(event: string, listener: (payload: unknown) => void): () => void;
}

/** The global the preload defines. */
export const BRIDGE_GLOBAL = 'septwb';

export type { ApiEventMessage };
