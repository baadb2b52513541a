// The window's security settings against Electron's security checklist
// (https://www.electronjs.org/docs/latest/tutorial/security), item by item, under plain Node.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../api/content_security.ts';
import {
  APP_ENTRY_URL, checkIpcCall, isAllowedNavigation, isPermissionGranted, resolveAppRequest, WINDOW_OPEN_DECISION, windowOptions,
} from './window_policy.ts';

const prefs = windowOptions('/app/out/preload/preload.cjs').webPreferences ?? {};

describe('Electron security checklist', () => {
  const checklist: { item: string; key: keyof typeof prefs; want: unknown }[] = [
    { item: '2 no Node.js integration', key: 'nodeIntegration', want: false },
    { item: '2 no Node.js integration in workers', key: 'nodeIntegrationInWorker', want: false },
    { item: '2 no Node.js integration in subframes', key: 'nodeIntegrationInSubFrames', want: false },
    { item: '3 context isolation', key: 'contextIsolation', want: true },
    { item: '4 process sandboxing', key: 'sandbox', want: true },
    { item: '6 webSecurity not disabled', key: 'webSecurity', want: true },
    { item: '8 no allowRunningInsecureContent', key: 'allowRunningInsecureContent', want: false },
    { item: '9 no experimental features', key: 'experimentalFeatures', want: false },
    { item: '11/12 no <webview>', key: 'webviewTag', want: false },
  ];
  it.each(checklist)('$item', ({ key, want }) => {
    expect(prefs[key]).toBe(want);
  });

  it('10 enables no Blink features', () => {
    expect(prefs.enableBlinkFeatures).toBeUndefined();
  });

  it('1/18 loads app:// content, not file:// or http(s)', () => {
    expect(APP_ENTRY_URL).toBe('app://septwb/index.html');
    expect(prefs.preload).toMatch(/\.cjs$/); // a sandboxed preload must be CommonJS
  });

  describe('7 a strict CSP', () => {
    const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name, values] as const;
    }));
    it.each([
      ['default-src', ["'none'"]],
      ['script-src', ["'self'"]],
      ['object-src', ["'none'"]],
      ['base-uri', ["'none'"]],
      ['frame-ancestors', ["'none'"]],
      ['form-action', ["'none'"]],
    ])('%s is %j', (name, want) => {
      expect(directives.get(name)).toEqual(want);
    });
    it('allows no unsafe-inline, unsafe-eval, wildcard or remote source', () => {
      expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-|\*|https?:|wasm-unsafe/);
    });
    it('is also in the page itself (meta), no weaker than the header', () => {
      const html = readFileSync(new URL('../../renderer/index.html', import.meta.url), 'utf8');
      const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
      // frame-ancestors is ignored in <meta>, so the header carries it; all else must match.
      expect(meta).toBe(CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", ''));
    });
  });

  it('5 grants no permission', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read']) expect(isPermissionGranted(p)).toBe(false);
  });

  it.each([
    ['app://septwb/index.html#/run', true],
    ['app://other/index.html', false],
    ['file:///etc/passwd', false],
    ['https://example.com/', false],
    ['http://127.0.0.1:1234/', false],
    ['not a url', false],
  ])('13 navigation to %s allowed: %s', (url, want) => {
    expect(isAllowedNavigation(url)).toBe(want);
  });

  it('14 denies every new window', () => {
    expect(WINDOW_OPEN_DECISION).toEqual({ action: 'deny' });
  });
});

describe('app:// protocol paths', () => {
  const root = '/app/out/renderer';
  it.each([
    ['app://septwb/index.html', '/app/out/renderer/index.html'],
    ['app://septwb/', '/app/out/renderer/index.html'],
    ['app://septwb/assets/x.js?v=1', '/app/out/renderer/assets/x.js'],
    ['app://septwb/assets/../index.html', '/app/out/renderer/index.html'],
    // The URL parser resolves dot segments (also %2e%2e) first, so this stays inside the root.
    ['app://septwb/%2e%2e/%2e%2e/etc/passwd', '/app/out/renderer/etc/passwd'],
  ])('%s -> %s', (url, file) => {
    expect(resolveAppRequest(url, root)).toEqual({ kind: 'file', file });
  });
  it.each([
    'app://septwb/..%2f..%2fmain%2fmain.js',
    'app://septwb/..%5c..%5cmain.js',
    'app://septwb/a%00.js',
    'app://septwb/%E0%A4%A',
    'app://evil/index.html',
    'file:///app/out/renderer/index.html',
  ])('refuses %s', (url) => {
    expect(resolveAppRequest(url, root).kind).toBe('refuse');
  });
});

describe('17 IPC sender and argument validation', () => {
  const main = { frameUrl: 'app://septwb/index.html', isMainFrame: true };
  const cases: { name: string; sender: typeof main | { frameUrl: string | null; isMainFrame: boolean }; payload: unknown; ok: boolean; reason?: RegExp }[] = [
    { name: 'valid call', sender: main, payload: { method: 'listScenarios', args: {} }, ok: true },
    { name: 'subframe', sender: { ...main, isMainFrame: false }, payload: { method: 'listScenarios', args: {} }, ok: false, reason: /main frame/ },
    { name: 'foreign origin', sender: { frameUrl: 'https://evil.example/', isMainFrame: true }, payload: { method: 'listScenarios', args: {} }, ok: false, reason: /origin/ },
    { name: 'file origin', sender: { frameUrl: 'file:///x.html', isMainFrame: true }, payload: { method: 'listScenarios', args: {} }, ok: false, reason: /origin/ },
    { name: 'frame gone', sender: { frameUrl: null, isMainFrame: true }, payload: { method: 'listScenarios', args: {} }, ok: false, reason: /origin/ },
    { name: 'not an object', sender: main, payload: 'listScenarios', ok: false, reason: /payload/ },
    { name: 'unknown method', sender: main, payload: { method: '__proto__', args: {} }, ok: false, reason: /unknown method/ },
    { name: 'bad args', sender: main, payload: { method: 'getScenario', args: { id: -1 } }, ok: false, reason: /args\.id/ },
  ];
  it.each(cases)('$name', ({ sender, payload, ok, reason }) => {
    const decision = checkIpcCall(sender, payload);
    expect(decision.ok).toBe(ok);
    if (!decision.ok && reason) expect(decision.reason).toMatch(reason);
  });
});

describe('only this folder imports electron, and main.ts wires every guard', () => {
  const mainSource = readFileSync(new URL('./main.ts', import.meta.url), 'utf8');
  it.each(['will-navigate', 'setWindowOpenHandler', 'will-attach-webview', 'setPermissionRequestHandler', "protocol.handle('file'", 'checkIpcCall', 'registerSchemesAsPrivileged'])('main.ts uses %s', (needle) => {
    expect(mainSource).toContain(needle);
  });
  it('window_policy.ts imports electron for types only', () => {
    const policy = readFileSync(new URL('./window_policy.ts', import.meta.url), 'utf8');
    expect(policy).toMatch(/import type \{[^}]*\} from 'electron'/);
    expect(policy).not.toMatch(/^import \{[^}]*\} from 'electron'/m);
  });
});
