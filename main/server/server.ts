// Browser mode: the renderer and the api over HTTP on 127.0.0.1 (PRODUCT.md section 4).
// `POST /api/<method>` takes the argument object as JSON and answers a Result as JSON (status
// 200 even for an error Result: errors are data); `GET /api/events` is a Server-Sent Events
// stream of every api event; any other GET serves a file of the built renderer. Every request
// first passes checkRequest (Host, Origin, token).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { SeptwbApi } from '../../shared/api/api.ts';
import { HTTP_API_PREFIX, HTTP_EVENTS_PATH } from '../../shared/api/contract.ts';
import { RENDERER_SECURITY_HEADERS } from '../api/content_security.ts';
import { dispatchCall } from '../api/dispatch.ts';
import type { ApiEventHub } from '../api/event_hub.ts';
import { contentTypeOf, resolveInsideRoot } from '../api/safe_path.ts';
import { checkRequest, tokenCookieName } from './request_checks.ts';

/** Largest accepted request body: a scenario is at most 8 MiB of JSON, plus the envelope. */
export const BODY_BYTES_MAX = 9 * 1024 * 1024;
/** SSE keep-alive comment period, so proxies and the browser keep the stream open. */
const EVENTS_KEEPALIVE_MS = 15_000;

export interface ServerOptions {
  service: SeptwbApi;
  events: ApiEventHub;
  /** The built renderer (out/renderer). */
  rendererDir: string;
  /** 0 picks a free port. */
  port: number;
  token: string;
  logError?: (message: string) => void;
  bodyBytesMax?: number;
}

export interface RunningServer {
  port: number;
  /** The URL to open, with the token. */
  url: string;
  close(): Promise<void>;
}

/** Starts listening on 127.0.0.1 only. Rejects when the port cannot be bound. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const state = { port: 0 };
  const server = createServer((req, res) => {
    handle(options, state.port, req, res).catch((thrown: unknown) => {
      options.logError?.(`server: ${thrown instanceof Error ? thrown.stack : String(thrown)}`);
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy();
    });
  });
  await listen(server, options.port);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  state.port = address.port;
  return {
    port: state.port,
    url: `http://127.0.0.1:${state.port}/?token=${options.token}`,
    close: () => closeServer(server),
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolvePromise) => {
    server.close(() => resolvePromise());
    server.closeAllConnections();
  });
}

async function handle(options: ServerOptions, port: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const verdict = checkRequest(
    { host: req.headers.host, origin: req.headers.origin, cookie: req.headers.cookie, url: req.url ?? '/' },
    port,
    options.token,
  );
  if (!verdict.ok) {
    req.resume();
    sendText(res, verdict.status, `refused: ${verdict.reason}\n`);
    return;
  }
  // Once the token came in the query, keep it in a cookie so the page's own fetches and its
  // event stream carry it without the renderer knowing about tokens.
  if (verdict.tokenFrom === 'query') {
    res.setHeader('Set-Cookie', `${tokenCookieName(port)}=${options.token}; Path=/; HttpOnly; SameSite=Strict`);
  }
  const pathname = new URL(req.url ?? '/', `http://127.0.0.1:${port}`).pathname;
  if (pathname === HTTP_EVENTS_PATH && req.method === 'GET') return serveEvents(options, req, res);
  if (pathname.startsWith(HTTP_API_PREFIX)) return serveCall(options, pathname.slice(HTTP_API_PREFIX.length), req, res);
  if (req.method === 'GET' || req.method === 'HEAD') return serveStatic(options, pathname, req, res);
  req.resume();
  sendText(res, 405, 'method not allowed\n');
}

async function serveCall(options: ServerOptions, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') {
    req.resume();
    return sendText(res, 405, 'api calls are POST\n');
  }
  // Requiring JSON keeps api calls out of reach of cross-site HTML forms even before Origin.
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
    req.resume();
    return sendText(res, 415, 'api calls take application/json\n');
  }
  const body = await readBody(req, options.bodyBytesMax ?? BODY_BYTES_MAX);
  if (body === null) {
    res.setHeader('Connection', 'close');
    return sendText(res, 413, 'request body too large\n');
  }
  let callArgs: unknown;
  try {
    callArgs = body.length === 0 ? {} : JSON.parse(body);
  } catch {
    return sendJson(res, { ok: false, error: { code: 'bad-input', path: 'args', message: 'body is not JSON' } });
  }
  sendJson(res, await dispatchCall(options.service, method, callArgs, options.logError));
}

/** Reads the whole body as UTF-8, or null (and drops the connection) past `bytesMax`. */
function readBody(req: IncomingMessage, bytesMax: number): Promise<string | null> {
  return new Promise((resolvePromise, reject) => {
    const parts: Buffer[] = [];
    let bytes = 0;
    req.on('data', (part: Buffer) => {
      bytes += part.length;
      if (bytes > bytesMax) {
        // Stop buffering; the 413 goes out with `Connection: close`, which ends the upload.
        req.removeAllListeners('data');
        req.resume();
        resolvePromise(null);
        return;
      }
      parts.push(part);
    });
    req.on('end', () => resolvePromise(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function serveEvents(options: ServerOptions, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
  });
  res.write(': connected\n\n');
  const unsubscribe = options.events.subscribe((message) => {
    res.write(`data: ${JSON.stringify(message)}\n\n`);
  });
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), EVENTS_KEEPALIVE_MS);
  keepalive.unref();
  req.on('close', () => {
    clearInterval(keepalive);
    unsubscribe();
  });
}

async function serveStatic(options: ServerOptions, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const file = resolveInsideRoot(options.rendererDir, pathname);
  if (file === null) return sendText(res, 404, 'not found\n');
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch {
    if (pathname === '/' || pathname === '/index.html') {
      return sendText(res, 503, 'the renderer is not built: run "npm run build" first\n');
    }
    return sendText(res, 404, 'not found\n');
  }
  res.writeHead(200, {
    ...RENDERER_SECURITY_HEADERS,
    'Content-Type': contentTypeOf(file),
    'Content-Length': content.length,
    'Cache-Control': file.endsWith('.html') ? 'no-store' : 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : content);
}

function sendJson(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}
