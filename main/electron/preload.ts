// The preload of the sandboxed renderer: exposes `window.septwb` (shared/api/bridge.ts) and
// nothing else. Names outside the contract are refused here already, before main checks them
// again with the sender (VS Code's preload validateIPC does the same). Built as CommonJS,
// which a sandboxed preload requires.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { API_EVENTS, API_METHODS } from '../../shared/api/api.ts';
import type { SeptwbBridge } from '../../shared/api/bridge.ts';
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL, type ApiEventMessage, type Result } from '../../shared/api/contract.ts';

function refused(message: string): Promise<Result<unknown>> {
  return Promise.resolve({ ok: false, error: { code: 'bad-input', path: 'method', message } });
}

const bridge: SeptwbBridge = {
  call(method, args) {
    if (typeof method !== 'string' || !Object.hasOwn(API_METHODS, method)) return refused(`unknown method ${String(method)}`);
    return ipcRenderer.invoke(IPC_CALL_CHANNEL, { method, args }) as Promise<Result<unknown>>;
  },
  on(event, listener) {
    if (typeof event !== 'string' || !Object.hasOwn(API_EVENTS, event)) return () => {};
    const onMessage = (_event: IpcRendererEvent, message: ApiEventMessage) => {
      if (message && message.name === event) listener(message.payload);
    };
    ipcRenderer.on(IPC_EVENT_CHANNEL, onMessage);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT_CHANNEL, onMessage);
    };
  },
};

contextBridge.exposeInMainWorld('septwb', bridge);
