// Browser mode's server over a real store: what it refuses (no token, wrong token, foreign
// Host, foreign Origin, traversal, oversized bodies) and what it serves (api, events, files).
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openService, type OpenedService } from '../api/service.ts';
import { checkRequest, parseTokenOption, tokenCookieName } from './request_checks.ts';
import { startServer, type RunningServer } from './server.ts';

const TOKEN = 'test-token-0123456789abcdef';
let dir: string;
let opened: OpenedService;
let server: RunningServer;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, path, method: init.method ?? 'GET', headers: { host: `127.0.0.1:${server.port}`, ...init.headers } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (p: Buffer) => parts.push(p));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

const cookie = () => `${tokenCookieName(server.port)}=${TOKEN}`;
const post = (method: string, body: unknown, headers: Record<string, string> = {}) =>
  send(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: cookie(), ...headers }, body: JSON.stringify(body) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'septwb-server-'));
  mkdirSync(join(dir, 'renderer', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'renderer', 'assets', 'a.js'), 'export {}');
  writeFileSync(join(dir, 'secret.txt'), 'do not serve');
  const result = openService({ dbFile: join(dir, 'septwb.db'), scenariosDir: join(dir, 'none'), appVersion: '1.2.3', mode: 'browser' });
  if (!result.ok) throw new Error(result.message);
  opened = result.value;
  server = await startServer({ service: opened.service, events: opened.events, rendererDir: join(dir, 'renderer'), port: 0, token: TOKEN });
});

afterAll(async () => {
  await server.close();
  opened.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('refusals', () => {
  const cases: { name: string; path: string; headers?: Record<string, string>; status: number; reason: RegExp }[] = [
    { name: 'no token', path: '/', status: 403, reason: /missing token/ },
    { name: 'wrong token in query', path: '/?token=wrong-token-0123456789', status: 403, reason: /wrong token/ },
    { name: 'wrong token in cookie', path: '/', headers: { cookie: 'septwb-token-1=nope' }, status: 403, reason: /missing token/ },
    { name: 'foreign Host', path: `/?token=${TOKEN}`, headers: { host: 'evil.example:80' }, status: 403, reason: /Host/ },
    { name: 'rebinding Host with our port', path: `/?token=${TOKEN}`, headers: { host: 'attacker.test' }, status: 403, reason: /Host/ },
    { name: 'foreign Origin', path: `/?token=${TOKEN}`, headers: { origin: 'http://evil.example' }, status: 403, reason: /Origin/ },
    { name: 'null Origin', path: `/?token=${TOKEN}`, headers: { origin: 'null' }, status: 403, reason: /Origin/ },
  ];
  it.each(cases)('$name', async ({ path, headers, status, reason }) => {
    const reply = await send(path, { headers });
    expect(reply.status).toBe(status);
    expect(reply.body).toMatch(reason);
  });

  it('refuses an api call without the token', async () => {
    const reply = await send('/api/listScenarios', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(reply.status).toBe(403);
  });

  it.each(['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/%00'])('refuses traversal %s', async (path) => {
    const reply = await send(path, { headers: { cookie: cookie() } });
    expect(reply.status).toBe(404);
    expect(reply.body).not.toContain('do not serve');
  });

  it('refuses a body over the limit with 413', async () => {
    const reply = await post('saveScenario', { name: 'x', description: '', json: 'x'.repeat(10 * 1024 * 1024) });
    expect(reply.status).toBe(413);
  });

  it('refuses non-JSON content types and GET on the api', async () => {
    expect((await send('/api/appInfo', { method: 'POST', headers: { cookie: cookie(), 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect((await send('/api/appInfo', { headers: { cookie: cookie() } })).status).toBe(405);
  });
});

describe('serving', () => {
  it('serves the page with the token in the query, sets the cookie and the CSP', async () => {
    const reply = await send(`/?token=${TOKEN}`);
    expect(reply.status).toBe(200);
    expect(reply.headers['set-cookie']?.[0]).toContain(`${tokenCookieName(server.port)}=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`);
    expect(reply.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await send('/assets/a.js', { headers: { cookie: cookie(), host: `localhost:${server.port}` } })).status).toBe(200);
  });

  it('answers api calls with Results, errors as data', async () => {
    const info = JSON.parse((await post('appInfo', {}, { origin: `http://127.0.0.1:${server.port}` })).body);
    expect(info).toMatchObject({ ok: true, value: { version: '1.2.3', mode: 'browser' } });
    expect(JSON.parse((await post('nope', {})).body)).toMatchObject({ ok: false, error: { code: 'bad-input', path: 'method' } });
    const bad = await send('/api/appInfo', { method: 'POST', headers: { cookie: cookie(), 'content-type': 'application/json' }, body: '{oops' });
    expect(JSON.parse(bad.body)).toMatchObject({ ok: false, error: { code: 'bad-input', path: 'args' } });
  });

  it('streams api events', async () => {
    const received = new Promise<string>((resolvePromise, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/api/events', headers: { host: `127.0.0.1:${server.port}`, cookie: cookie() } }, (res) => {
        let text = '';
        res.on('data', (p: Buffer) => {
          text += p.toString('utf8');
          if (text.includes('onScenariosChanged')) {
            req.destroy();
            resolvePromise(text);
          }
        });
        res.once('data', () => void post('saveScenario', { name: 's', description: '', json: '{}' }));
      });
      req.on('error', (e) => (e.message.includes('aborted') ? undefined : reject(e)));
      req.end();
    });
    expect(await received).toMatch(/data: \{"name":"onScenariosChanged","payload":\{"reason":"saved","id":\d+\}\}/);
  });
});

describe('request checks', () => {
  it('parses the token option as a value or an error', () => {
    expect(parseTokenOption(undefined, () => 'r'.repeat(32))).toEqual({ kind: 'token', token: 'r'.repeat(32) });
    expect(parseTokenOption('short')).toMatchObject({ kind: 'error' });
    expect(parseTokenOption('has space in it 12345')).toMatchObject({ kind: 'error' });
    expect(parseTokenOption('A'.repeat(16))).toEqual({ kind: 'token', token: 'A'.repeat(16) });
  });

  it('accepts localhost and 127.0.0.1 with the right port only', () => {
    const facts = { origin: undefined, cookie: undefined, url: `/?token=${TOKEN}` };
    expect(checkRequest({ ...facts, host: 'localhost:9' }, 9, TOKEN)).toEqual({ ok: true, tokenFrom: 'query' });
    expect(checkRequest({ ...facts, host: '127.0.0.1:10' }, 9, TOKEN)).toMatchObject({ ok: false, status: 403 });
    expect(checkRequest({ ...facts, host: undefined }, 9, TOKEN)).toMatchObject({ ok: false, status: 403 });
  });
});
