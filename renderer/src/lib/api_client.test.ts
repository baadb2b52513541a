// The renderer's client: one function per contract method, over the preload bridge and over
// the real browser-mode server (its fetch only needs the server's origin prepended).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_METHODS } from '../../../shared/api/api.ts';
import type { SeptwbBridge } from '../../../shared/api/bridge.ts';
import { openService } from '../../../main/api/service.ts';
import { startServer } from '../../../main/server/server.ts';
import { createApiClient } from './api_client.ts';

describe('api client', () => {
  it('exposes every contract method and routes it through the bridge', async () => {
    const calls: [string, unknown][] = [];
    const bridge: SeptwbBridge = {
      call: async (method, args) => (calls.push([method, args]), { ok: true, value: method }),
      on: () => () => {},
    };
    const client = createApiClient({ septwb: bridge });
    expect(client.transport).toBe('electron');
    expect(Object.keys(client.api).sort()).toEqual(Object.keys(API_METHODS).sort());
    expect(await client.api.getScenario({ id: 3 })).toEqual({ ok: true, value: 'getScenario' });
    expect(calls).toEqual([['getScenario', { id: 3 }]]);
  });

  it('turns a rejected bridge call into an internal error value', async () => {
    const bridge: SeptwbBridge = { call: () => Promise.reject(new Error('gone')), on: () => () => {} };
    const result = await createApiClient({ septwb: bridge }).api.appInfo({});
    expect(result).toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('calls the real server over HTTP and reports an unreachable one as a value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'septwb-client-'));
    const opened = openService({ dbFile: join(dir, 'c.db'), scenariosDir: dir, appVersion: '4.5.6', mode: 'browser' });
    if (!opened.ok) throw new Error(opened.message);
    const token = 'client-token-0123456789';
    const server = await startServer({ service: opened.value.service, events: opened.value.events, rendererDir: dir, port: 0, token });
    try {
      const origin = `http://127.0.0.1:${server.port}`;
      const client = createApiClient({ fetch: (path, init) => fetch(`${origin}${String(path)}?token=${token}`, init) });
      expect(client.transport).toBe('http');
      expect(await client.api.appInfo({})).toMatchObject({ ok: true, value: { version: '4.5.6' } });
      expect(await client.api.getScenario({ id: 77 })).toMatchObject({ ok: false, error: { code: 'not-found' } });
      const refused = createApiClient({ fetch: (path, init) => fetch(`${origin}${String(path)}`, init) });
      expect(await refused.api.appInfo({})).toMatchObject({ ok: false, error: { code: 'internal', message: expect.stringMatching(/403/) } });
    } finally {
      await server.close();
      opened.value.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
