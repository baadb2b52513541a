// Maps a request path (URL pathname) to a file under one allowed root, for both the Electron
// app:// protocol and browser mode's static files. Modeled on VS Code's protocolMainService:
// normalize first, then require the result to be inside the root.
import { isAbsolute, normalize, relative, resolve, sep } from 'node:path';

/**
 * Returns the absolute file path for `urlPath` inside `root`, or null when the path is
 * malformed (bad percent-encoding, NUL, backslash, a `..` segment after decoding) or resolves
 * outside the root after normalization. `/` maps to `index.html`.
 */
export function resolveInsideRoot(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  // A `..` segment that survived URL parsing came encoded (%2f..%2f): never legitimate.
  if (decoded.split('/').includes('..')) return null;
  if (!decoded.startsWith('/')) decoded = `/${decoded}`;
  if (decoded.endsWith('/')) decoded += 'index.html';
  const rootAbs = resolve(root);
  const candidate = resolve(rootAbs, `.${normalize(decoded)}`);
  const rel = relative(rootAbs, candidate);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return null;
  return candidate;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

export function contentTypeOf(file: string): string {
  const dot = file.lastIndexOf('.');
  return (dot >= 0 && CONTENT_TYPES[file.slice(dot).toLowerCase()]) || 'application/octet-stream';
}
