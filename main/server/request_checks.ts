// The checks browser mode makes on every request, kept pure so tests can table them
// (PRODUCT.md section 6: loopback only, token required, Host/Origin checked). Modeled on VS
// Code's serverConnectionToken.ts: parsing the token option yields a value or an error value,
// and a request passes with the token in its query or in a cookie.
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** The token must be long enough to be unguessable and safe in a URL and a cookie. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

export type TokenOption = { kind: 'token'; token: string } | { kind: 'error'; message: string };

/**
 * Parses the `--token` option: absent -> a fresh random token for this launch; present -> that
 * token if it matches TOKEN_PATTERN, else an error value (never a throw).
 */
export function parseTokenOption(raw: string | undefined, random: () => string = randomToken): TokenOption {
  if (raw === undefined) return { kind: 'token', token: random() };
  if (!TOKEN_PATTERN.test(raw)) {
    return { kind: 'error', message: 'the token must be 16 to 128 characters of A-Z, a-z, 0-9, "-" or "_"' };
  }
  return { kind: 'token', token: raw };
}

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Cookies are scoped by host, not port, so the name carries the port: two servers can coexist. */
export function tokenCookieName(port: number): string {
  return `septwb-token-${port}`;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

export function tokensEqual(a: string, b: string): boolean {
  const bufA = Buffer.from(a);
  const bufB = Buffer.from(b);
  return bufA.length === bufB.length && timingSafeEqual(bufA, bufB);
}

export interface RequestFacts {
  host: string | undefined;
  origin: string | undefined;
  cookie: string | undefined;
  /** The request target as sent (`/path?query`). */
  url: string;
}

export type Verdict =
  | { ok: true; tokenFrom: 'query' | 'cookie' }
  | { ok: false; status: 400 | 403; reason: string };

/**
 * Decides whether a request may be served. Order: Host (a DNS-rebinding page carries its own
 * host name), then Origin (a present Origin must be our own: blocks cross-site POSTs and event
 * streams), then the token (query or cookie). Each refusal says why.
 */
export function checkRequest(facts: RequestFacts, port: number, token: string): Verdict {
  const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!facts.host || !allowedHosts.includes(facts.host.toLowerCase())) {
    return { ok: false, status: 403, reason: `Host ${JSON.stringify(facts.host ?? '')} is not ${allowedHosts.join(' or ')}` };
  }
  if (facts.origin !== undefined) {
    const allowedOrigins = allowedHosts.map((h) => `http://${h}`);
    if (!allowedOrigins.includes(facts.origin.toLowerCase())) {
      return { ok: false, status: 403, reason: `Origin ${JSON.stringify(facts.origin)} is not this server` };
    }
  }
  let url: URL;
  try {
    url = new URL(facts.url, `http://127.0.0.1:${port}`);
  } catch {
    return { ok: false, status: 400, reason: 'malformed request target' };
  }
  const fromQuery = url.searchParams.get('token');
  if (fromQuery !== null && tokensEqual(fromQuery, token)) return { ok: true, tokenFrom: 'query' };
  const fromCookie = parseCookies(facts.cookie).get(tokenCookieName(port));
  if (fromCookie !== undefined && tokensEqual(fromCookie, token)) return { ok: true, tokenFrom: 'cookie' };
  const reason = fromQuery !== null || fromCookie !== undefined ? 'wrong token' : 'missing token';
  return { ok: false, status: 403, reason: `${reason}: open the URL printed by "septwb serve"` };
}
