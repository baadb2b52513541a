// JSON paths and source positions, for error markers in the scenario editor and for
// `septwb validate`. A validator names a problem by a JSON path (`$.phases[0].threads.vcpu0[2].gfn`);
// this file maps that path back to a line and column of the text it was parsed from, and finds
// the position of a syntax error itself, because JSON.parse messages differ between engines
// (V8 in Node and in Chromium do not always give a position).
//
// Everything here scans iteratively, never recursively, so deeply nested hostile input cannot
// overflow the stack. Lines and columns are 1-based; columns count UTF-16 code units, as
// editors do. Pure: no Node imports, the renderer uses this file.

/** One step of a JSON path: an object member name or an array index. */
export type JsonPathSegment = string | number;
export type JsonPath = readonly JsonPathSegment[];

export interface SourcePosition {
  /** Offset into the text, in UTF-16 code units. */
  offset: number;
  line: number;
  column: number;
}

export interface JsonLocation extends SourcePosition {
  /** Length of the located value in the text (0 when it could not be measured). */
  length: number;
  /** Where the member name is, when the path's last step is an object member that exists. */
  key?: SourcePosition;
  /** False when the path goes deeper than the text: the location is its deepest existing ancestor. */
  exact: boolean;
}

export interface JsonSyntaxError extends SourcePosition {
  problem: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Formats a path as `$.a.b[2]["odd key"]`: identifiers after a dot, other names quoted. */
export function formatJsonPath(path: JsonPath): string {
  let out = '$';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

const PATH_STEP = /\.([A-Za-z_$][A-Za-z0-9_$]*)|\[(0|[1-9][0-9]*)\]|\[("(?:[^"\\]|\\.)*")\]/y;

/** Parses what formatJsonPath writes. Returns null for anything else. */
export function parseJsonPath(text: string): JsonPathSegment[] | null {
  if (!text.startsWith('$')) return null;
  const path: JsonPathSegment[] = [];
  PATH_STEP.lastIndex = 1;
  while (PATH_STEP.lastIndex < text.length) {
    const start = PATH_STEP.lastIndex;
    const m = PATH_STEP.exec(text);
    if (m === null || m.index !== start) return null;
    if (m[1] !== undefined) path.push(m[1]);
    else if (m[2] !== undefined) path.push(Number(m[2]));
    else {
      try {
        path.push(JSON.parse(m[3]) as string);
      } catch {
        return null;
      }
    }
  }
  return path;
}

/** Line and column (1-based) of an offset. */
export function positionOf(text: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

const WS = /[ \t\r\n]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING_CHUNK = /[^"\\\u0000-\u001f]*/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

function skipWs(text: string, pos: number): number {
  WS.lastIndex = pos;
  WS.exec(text);
  return WS.lastIndex;
}

/**
 * Scans a string starting at its opening quote. Returns the offset after the closing quote, or
 * a negative number -(offset + 1) of the first bad character (or of the end of text).
 */
function scanString(text: string, pos: number): number {
  let i = pos + 1;
  // Each pass consumes at least one character or returns, so the loop ends by text.length.
  while (i < text.length) {
    STRING_CHUNK.lastIndex = i;
    STRING_CHUNK.exec(text);
    i = STRING_CHUNK.lastIndex;
    if (i >= text.length) break;
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c !== 0x5c) return -(i + 1);
    ESCAPE.lastIndex = i;
    if (ESCAPE.exec(text) === null) return -(i + 1);
    i = ESCAPE.lastIndex;
  }
  return -(text.length + 1);
}

/** Scans a number or literal at pos; returns the end offset or -1. */
function scanScalar(text: string, pos: number): number {
  for (const literal of ['true', 'false', 'null']) {
    if (text.startsWith(literal, pos)) return pos + literal.length;
  }
  NUMBER.lastIndex = pos;
  return NUMBER.exec(text) === null ? -1 : NUMBER.lastIndex;
}

type ScanState = 'value' | 'valueOrClose' | 'keyOrClose' | 'key' | 'colon' | 'after';

/** The syntax scanner's state: position, what it expects next, and the open containers. */
interface Scan {
  readonly text: string;
  pos: number;
  state: ScanState;
  /** Char codes of the open '{' and '[', innermost last. */
  readonly stack: number[];
}

const BAD_STRING = 'bad character or escape in a string, or string not closed';

/** Consumes a string at s.pos and moves to `next`; returns a problem (s.pos at the fault) or null. */
function scanStringStep(s: Scan, next: ScanState): string | null {
  const end = scanString(s.text, s.pos);
  if (end < 0) {
    s.pos = -end - 1;
    return BAD_STRING;
  }
  s.pos = end;
  s.state = next;
  return null;
}

/**
 * One step of the syntax scan at a non-whitespace character: consumes a token and moves to the
 * next state. Returns a problem, with s.pos at the offending character, or null.
 */
function scanStep(s: Scan, c: string): string | null {
  switch (s.state) {
    case 'value':
    case 'valueOrClose':
      if (s.state === 'valueOrClose' && c === ']') {
        s.stack.pop();
        s.pos++;
        s.state = 'after';
      } else if (c === '{' || c === '[') {
        s.stack.push(c.charCodeAt(0));
        s.pos++;
        s.state = c === '{' ? 'keyOrClose' : 'valueOrClose';
      } else if (c === '"') {
        return scanStringStep(s, 'after');
      } else {
        const end = scanScalar(s.text, s.pos);
        if (end < 0) return `expected a value, got ${JSON.stringify(c)}`;
        s.pos = end;
        s.state = 'after';
      }
      return null;
    case 'keyOrClose':
    case 'key':
      if (s.state === 'keyOrClose' && c === '}') {
        s.stack.pop();
        s.pos++;
        s.state = 'after';
        return null;
      }
      if (c === '"') return scanStringStep(s, 'colon');
      return `expected a property name in double quotes, got ${JSON.stringify(c)}`;
    case 'colon':
      if (c !== ':') return `expected ':' after a property name, got ${JSON.stringify(c)}`;
      s.pos++;
      s.state = 'value';
      return null;
    case 'after':
      return scanAfterValue(s, c);
  }
}

/** After a value: a separator or the close of the innermost container, or nothing at top level. */
function scanAfterValue(s: Scan, c: string): string | null {
  const top = s.stack.length === 0 ? 0 : s.stack[s.stack.length - 1];
  if (top === 0) return 'unexpected text after the JSON value';
  const close = top === 0x7b ? '}' : ']';
  if (c === ',') s.state = top === 0x7b ? 'key' : 'value';
  else if (c === close) s.stack.pop();
  else return `expected ',' or '${close}', got ${JSON.stringify(c)}`;
  s.pos++;
  return null;
}

/**
 * Finds the first syntax error in a JSON text, or null when the text is valid JSON. The scan
 * is a state machine over an explicit stack of open containers, one pass over the text.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  const s: Scan = { text, pos: 0, state: 'value', stack: [] };
  // Every pass consumes at least one character or changes to a state that will, so the loop
  // is bounded by about twice the text length.
  for (let passes = 0; passes <= 2 * text.length + 2; passes++) {
    s.pos = skipWs(text, s.pos);
    if (s.pos >= text.length) {
      if (s.state === 'after' && s.stack.length === 0) return null;
      return { ...positionOf(text, s.pos), problem: 'unexpected end of text' };
    }
    const problem = scanStep(s, text[s.pos]);
    if (problem !== null) return { ...positionOf(text, s.pos), problem };
  }
  return { ...positionOf(text, s.pos), problem: 'scan budget exceeded' };
}

/**
 * Skips one value starting at pos (which is at its first character). Returns the offset after
 * it, or -1 on malformed text. Iterative: tracks nesting with a depth counter only, since
 * strings are the only places where brackets do not count.
 */
function skipValue(text: string, pos: number): number {
  let depth = 0;
  let i = pos;
  // Each pass consumes at least one character.
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = scanString(text, i);
      if (end < 0) return -1;
      i = end;
      if (depth === 0) return i;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      // At depth 0 a closing bracket ends the scalar before it; it belongs to the parent.
      if (depth === 0) return i;
      depth--;
      i++;
      if (depth === 0) return i;
    } else if (depth === 0 && (c === 0x2c || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x3a)) {
      return i;
    } else {
      i++;
    }
  }
  return depth === 0 ? i : -1;
}

interface Found {
  valueAt: number;
  valueEnd: number;
  keyAt: number;
}

/** Finds a member's value (the last one, as JSON.parse keeps the last duplicate) in the object at pos. */
function findMember(text: string, pos: number, name: string): Found | null {
  let i = skipWs(text, pos + 1);
  let found: Found | null = null;
  // Each pass consumes one member; a malformed member returns.
  while (i < text.length && text[i] === '"') {
    const keyEnd = scanString(text, i);
    if (keyEnd < 0) return found;
    let key: unknown;
    try {
      key = JSON.parse(text.slice(i, keyEnd));
    } catch {
      return found;
    }
    const colon = skipWs(text, keyEnd);
    if (text[colon] !== ':') return found;
    const valueAt = skipWs(text, colon + 1);
    const valueEnd = skipValue(text, valueAt);
    if (valueEnd < 0) return found;
    if (key === name) found = { valueAt, valueEnd, keyAt: i };
    i = skipWs(text, valueEnd);
    if (text[i] !== ',') return found;
    i = skipWs(text, i + 1);
  }
  return found;
}

/** Finds element `index` of the array at pos. */
function findElement(text: string, pos: number, index: number): Found | null {
  let i = skipWs(text, pos + 1);
  // Each pass consumes one element.
  for (let k = 0; i < text.length && text[i] !== ']'; k++) {
    const valueEnd = skipValue(text, i);
    if (valueEnd < 0) return null;
    if (k === index) return { valueAt: i, valueEnd, keyAt: -1 };
    i = skipWs(text, valueEnd);
    if (text[i] !== ',') return null;
    i = skipWs(text, i + 1);
  }
  return null;
}

/**
 * Locates a JSON path (a formatJsonPath string or segments) in a JSON text. When the path
 * names something the text does not have (a missing field), returns its deepest existing
 * ancestor with `exact: false`. Returns null only when the path string cannot be parsed.
 */
export function locateJsonPath(text: string, path: string | JsonPath): JsonLocation | null {
  const segments = typeof path === 'string' ? parseJsonPath(path) : path;
  if (segments === null) return null;
  let at = skipWs(text, 0);
  let end = skipValue(text, at);
  let keyAt = -1;
  let exact = true;
  for (const segment of segments) {
    const c = text[at];
    let found: Found | null = null;
    if (typeof segment === 'string' && c === '{') found = findMember(text, at, segment);
    else if (typeof segment === 'number' && c === '[') found = findElement(text, at, segment);
    if (found === null) {
      exact = false;
      break;
    }
    at = found.valueAt;
    end = found.valueEnd;
    keyAt = found.keyAt;
  }
  const location: JsonLocation = { ...positionOf(text, at), length: end > at ? end - at : 0, exact };
  if (exact && keyAt >= 0) location.key = positionOf(text, keyAt);
  return location;
}
