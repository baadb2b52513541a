// The Electron main process: the one window, the app:// protocol, and the IPC wiring of the
// api. Only main/electron imports `electron` (scripts/check_layers.mjs enforces it); all the
// decisions are in window_policy.ts, which is tested under Node.
import { app, BrowserWindow, dialog, ipcMain, protocol, session, type WebContents } from 'electron';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL } from '../../shared/api/contract.ts';
import { RENDERER_SECURITY_HEADERS } from '../api/content_security.ts';
import { dispatchCall } from '../api/dispatch.ts';
import { contentTypeOf } from '../api/safe_path.ts';
import { openService, type OpenedService } from '../api/service.ts';
import {
  APP_ENTRY_URL, APP_SCHEME, checkIpcCall, isAllowedNavigation, isPermissionGranted, resolveAppRequest,
  WINDOW_OPEN_DECISION, windowOptions,
} from './window_policy.ts';

// out/main/main.js -> out/preload/preload.cjs and out/renderer/.
const outDir = fileURLToPath(new URL('..', import.meta.url));
const rendererDir = join(outDir, 'renderer');
const preloadFile = join(outDir, 'preload', 'preload.cjs');

// Must run before `ready`: app:// behaves like https (standard, secure), so 'self' in the CSP
// and fetch work, and nothing needs file://.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

function log(message: string): void {
  process.stderr.write(`septwb: ${message}\n`);
}

function installProtocols(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const decision = resolveAppRequest(request.url, rendererDir);
    if (decision.kind === 'refuse') {
      log(`app:// refused: ${decision.reason}`);
      return new Response('not found', { status: 404 });
    }
    try {
      const body = await readFile(decision.file);
      return new Response(body, { headers: { ...RENDERER_SECURITY_HEADERS, 'Content-Type': contentTypeOf(decision.file) } });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
  // The renderer never needs file://; refusing it closes checklist item 18 for good.
  protocol.handle('file', (request) => {
    log(`file:// refused: ${request.url}`);
    return new Response('file:// is disabled in the S-EPT Workbench', { status: 403 });
  });
}

function hardenContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (isAllowedNavigation(url)) return;
    event.preventDefault();
    log(`navigation refused: ${url}`);
  });
  contents.setWindowOpenHandler(({ url }) => {
    log(`new window refused: ${url}`);
    return WINDOW_OPEN_DECISION;
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

function wireIpc(opened: OpenedService): void {
  ipcMain.handle(IPC_CALL_CHANNEL, (event, payload: unknown) => {
    const frame = event.senderFrame;
    const decision = checkIpcCall({ frameUrl: frame ? frame.url : null, isMainFrame: frame !== null && frame === event.sender.mainFrame }, payload);
    if (!decision.ok) {
      log(`ipc refused: ${decision.reason}`);
      return { ok: false, error: decision.error };
    }
    return dispatchCall(opened.service, decision.method, decision.args, log);
  });
  opened.events.subscribe((message) => {
    for (const window of BrowserWindow.getAllWindows()) window.webContents.send(IPC_EVENT_CHANNEL, message);
  });
}

async function start(): Promise<void> {
  await app.whenReady();
  installProtocols();
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback) => callback(isPermissionGranted(permission)));
  session.defaultSession.setPermissionCheckHandler((_contents, permission) => isPermissionGranted(permission));
  app.on('web-contents-created', (_event, contents) => hardenContents(contents));
  const opened = openService({
    dbFile: join(app.getPath('userData'), 'septwb.db'),
    scenariosDir: join(app.getAppPath(), 'scenarios'),
    appVersion: app.getVersion(),
    mode: 'electron',
  });
  if (!opened.ok) {
    dialog.showErrorBox('S-EPT Workbench cannot start', opened.message);
    app.exit(1);
    return;
  }
  wireIpc(opened.value);
  app.on('will-quit', () => opened.value.close());
  app.on('window-all-closed', () => app.quit());
  const window = new BrowserWindow(windowOptions(preloadFile));
  window.once('ready-to-show', () => window.show());
  await window.loadURL(APP_ENTRY_URL);
}

start().catch((thrown: unknown) => {
  log(`failed to start: ${thrown instanceof Error ? thrown.stack : String(thrown)}`);
  app.exit(1);
});
