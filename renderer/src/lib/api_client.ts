// The renderer's one way to main: a typed object with every method of the contract, built
// mechanically from API_METHODS (no per-method code). In Electron it calls the preload bridge
// (`window.septwb`); in browser mode it POSTs to /api/<method> and reads events from a
// Server-Sent Events stream. Either way a call resolves to a Result and never rejects.
import { API_METHODS, type EventName, type MethodName, type SeptwbApi, type SeptwbEvents } from '../../../shared/api/api.ts';
import type { SeptwbBridge } from '../../../shared/api/bridge.ts';
import { HTTP_API_PREFIX, HTTP_EVENTS_PATH, type ApiEventMessage, type Result } from '../../../shared/api/contract.ts';

export type TransportKind = 'electron' | 'http';

export interface ApiClient {
  readonly api: SeptwbApi;
  readonly transport: TransportKind;
  /** Subscribes to one event; returns the unsubscribe function. */
  on<K extends EventName>(name: K, listener: (payload: SeptwbEvents[K]) => void): () => void;
}

interface Transport {
  kind: TransportKind;
  call(method: MethodName, args: unknown): Promise<Result<unknown>>;
  on(name: EventName, listener: (payload: unknown) => void): () => void;
}

/** The window globals the client looks at; a plain object in tests. */
export interface ClientHost {
  septwb?: SeptwbBridge;
  fetch?: typeof fetch;
  EventSource?: typeof EventSource;
}

export function createApiClient(host: ClientHost): ApiClient {
  const transport = host.septwb ? bridgeTransport(host.septwb) : httpTransport(host);
  const api = {} as Record<MethodName, (args: unknown) => Promise<Result<unknown>>>;
  for (const method of Object.keys(API_METHODS) as MethodName[]) {
    api[method] = (args: unknown) => transport.call(method, args ?? {});
  }
  return {
    api: api as unknown as SeptwbApi,
    transport: transport.kind,
    on: (name, listener) => transport.on(name, listener as (payload: unknown) => void),
  };
}

function bridgeTransport(bridge: SeptwbBridge): Transport {
  return {
    kind: 'electron',
    call: (method, args) => bridge.call(method, args).catch((thrown: unknown) => unreachable(thrown)),
    on: (name, listener) => bridge.on(name, listener),
  };
}

function httpTransport(host: ClientHost): Transport {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let stream: EventSource | null = null;
  const openStream = () => {
    if (stream !== null || !host.EventSource) return;
    stream = new host.EventSource(HTTP_EVENTS_PATH);
    stream.onmessage = (event: MessageEvent<string>) => {
      let message: ApiEventMessage;
      try {
        message = JSON.parse(event.data) as ApiEventMessage;
      } catch {
        return;
      }
      for (const listener of listeners.get(message.name) ?? []) listener(message.payload);
    };
  };
  return {
    kind: 'http',
    call: (method, args) => postCall(host, method, args),
    on: (name, listener) => {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      set.add(listener);
      openStream();
      return () => set.delete(listener);
    },
  };
}

async function postCall(host: ClientHost, method: MethodName, args: unknown): Promise<Result<unknown>> {
  const doFetch = host.fetch;
  if (!doFetch) return unreachable('no fetch in this window');
  try {
    const response = await doFetch(`${HTTP_API_PREFIX}${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(args),
      credentials: 'same-origin',
    });
    if (!response.ok) return unreachable(`${response.status} ${(await response.text()).trim()}`);
    return (await response.json()) as Result<unknown>;
  } catch (thrown) {
    return unreachable(thrown);
  }
}

function unreachable(thrown: unknown): Result<never> {
  const detail = thrown instanceof Error ? thrown.message : String(thrown);
  return { ok: false, error: { code: 'internal', message: `cannot reach the workbench's main process: ${detail}` } };
}
