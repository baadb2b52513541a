// Validation helpers for untrusted JSON (imports): each failure names the JSON path and the
// problem. They throw ImportFailure, which the importer turns into an ImportResult inside its
// transaction (so nothing is stored); no other code sees the exception.
import type { ImportError } from '../../shared/store_types.ts';

export class ImportFailure extends Error {
  readonly error: ImportError;
  constructor(code: ImportError['code'], path: string, message: string) {
    super(`${path}: ${message}`);
    this.error = { code, path, message };
  }
}

export function fail(path: string, message: string, code: ImportError['code'] = 'invalid'): never {
  throw new ImportFailure(code, path, message);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Nesting depth of a JSON text, found without parsing (strings skipped), or fails past max. */
export function checkDepth(text: string, depthMax: number, path: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > depthMax) fail(path, `nested deeper than ${depthMax} levels`, 'oversized');
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

export function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    return fail(path, `not valid JSON (${e instanceof Error ? e.message : String(e)})`, 'malformed');
  }
}

export function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `expected an object, got ${typeName(v)}`);
  return v as Record<string, unknown>;
}

/** Fails on keys outside `allowed`: a file from a different format version is not half-read. */
export function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${path}.${k}`, 'unknown field');
}

export function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, `expected an integer, got ${typeName(v)}${typeof v === 'number' ? ` ${v}` : ''}`);
  if (v < min || v > max) fail(path, `${v} is outside [${min}, ${max}]`);
  return v;
}

export function str(v: unknown, path: string, lengthMax: number): string {
  if (typeof v !== 'string') fail(path, `expected a string, got ${typeName(v)}`);
  if (v.length > lengthMax) fail(path, `string longer than ${lengthMax} characters`, 'oversized');
  return v;
}

/** Control characters (other than tab/newline in free text) have no place in names. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A display name: no control characters, and nothing that reads as a path (a name may later
 * become a file name on export): no '/', '\', leading '.', or drive prefix.
 */
export function name(v: unknown, path: string, lengthMax: number): string {
  const s = str(v, path, lengthMax);
  if (s.length === 0) fail(path, 'empty name');
  if (CONTROL.test(s)) fail(path, 'control character in a name');
  if (/[/\\]/.test(s) || s.startsWith('.') || /^[A-Za-z]:/.test(s)) fail(path, `path-like name ${JSON.stringify(s.slice(0, 40))}`);
  return s;
}

export function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) fail(path, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)?.slice(0, 40)}`);
  return v as T;
}

export function isoTime(v: unknown, path: string): string {
  const s = str(v, path, 40);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(s) || Number.isNaN(Date.parse(s))) fail(path, `not an ISO-8601 UTC time: ${JSON.stringify(s)}`);
  return s;
}
