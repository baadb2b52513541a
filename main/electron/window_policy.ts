// Everything security-relevant about the Electron window, as plain data and pure functions, so
// that window_policy.test.ts checks it under Node against Electron's security checklist
// (https://www.electronjs.org/docs/latest/tutorial/security). This file imports `electron`
// for types only; main.ts does the wiring.
import type { BrowserWindowConstructorOptions } from 'electron';
import { checkCall, type MethodName } from '../../shared/api/api.ts';
import type { ApiError } from '../../shared/api/contract.ts';
import { isPlainObject } from '../../shared/api/validate.ts';
import { resolveInsideRoot } from '../api/safe_path.ts';

/** The renderer is served from app://septwb/, never file:// (checklist 18). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'septwb';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * Options of the one window. Checklist: 2 no Node integration, 3 context isolation, 4 sandbox,
 * 6 webSecurity kept, 8 no insecure content, 9 no experimental features, 10 no Blink features,
 * 12 no <webview>.
 */
export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'S-EPT Workbench',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  };
}

export type ProtocolDecision = { kind: 'file'; file: string } | { kind: 'refuse'; reason: string };

/**
 * Maps an app:// request to a file of the built renderer. Refuses another host, a path that
 * normalizes outside `rendererRoot`, and a malformed URL; the caller logs the reason and
 * answers 404.
 */
export function resolveAppRequest(requestUrl: string, rendererRoot: string): ProtocolDecision {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { kind: 'refuse', reason: 'malformed URL' };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) {
    return { kind: 'refuse', reason: `not ${APP_ORIGIN}: ${url.protocol}//${url.host}` };
  }
  const file = resolveInsideRoot(rendererRoot, url.pathname);
  if (file === null) return { kind: 'refuse', reason: `path outside the renderer: ${url.pathname}` };
  return { kind: 'file', file };
}

/** Navigation away from the app is blocked (checklist 13); only our own origin may load. */
export function isAllowedNavigation(targetUrl: string): boolean {
  try {
    // URL.origin is "null" for a non-special scheme such as app:, so compare the parts.
    const url = new URL(targetUrl);
    return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST;
  } catch {
    return false;
  }
}

/** New windows are never opened (checklist 14); the handler's answer for every request. */
export const WINDOW_OPEN_DECISION = { action: 'deny' } as const;

/** No web permission (camera, notifications, ...) is ever granted (checklist 5). */
export function isPermissionGranted(_permission: string): boolean {
  return false;
}

/** What main knows about the frame that sent an IPC message. */
export interface SenderFacts {
  /** URL of event.senderFrame, null when the frame is gone. */
  frameUrl: string | null;
  /** Whether event.senderFrame is its WebContents' main frame. */
  isMainFrame: boolean;
}

export type IpcDecision =
  | { ok: true; method: MethodName; args: unknown }
  | { ok: false; reason: string; error: ApiError };

/**
 * Validates one call arriving on IPC_CALL_CHANNEL (checklist 17): the sender must be the main
 * frame of our app:// page, the payload `{method, args}` with a method of the contract, and the
 * args must pass the method's validator. A refusal carries a log line and the error returned.
 */
export function checkIpcCall(sender: SenderFacts, payload: unknown): IpcDecision {
  if (!sender.isMainFrame) return refuse('sender is not the main frame', 'internal');
  if (sender.frameUrl === null || !isAllowedNavigation(sender.frameUrl)) {
    return refuse(`sender origin is not ${APP_ORIGIN}: ${String(sender.frameUrl)}`, 'internal');
  }
  if (!isPlainObject(payload)) return refuse('payload is not {method, args}', 'bad-input');
  const problem = checkCall(payload.method, payload.args);
  if (problem) return { ok: false, reason: `${problem.path ?? ''}: ${problem.message}`, error: problem };
  return { ok: true, method: payload.method as MethodName, args: payload.args };
}

function refuse(reason: string, code: 'internal' | 'bad-input'): IpcDecision {
  return { ok: false, reason, error: { code, message: `refused: ${reason}` } };
}
