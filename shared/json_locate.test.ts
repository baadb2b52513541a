import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  findJsonSyntaxError, formatJsonPath, locateJsonPath, parseJsonPath, positionOf, type JsonPath,
} from './json_locate.ts';

describe('formatJsonPath / parseJsonPath', () => {
  const table: { name: string; path: JsonPath; want: string }[] = [
    { name: 'root', path: [], want: '$' },
    { name: 'identifiers and indices', path: ['phases', 0, 'threads', 'vcpu0', 2, 'gfn'], want: '$.phases[0].threads.vcpu0[2].gfn' },
    { name: 'dash in a name is quoted', path: ['threads', 'gmem-1'], want: '$.threads["gmem-1"]' },
    { name: 'quote and backslash escaped', path: ['a"b\\c'], want: '$["a\\"b\\\\c"]' },
    { name: 'prototype key', path: ['__proto__'], want: '$.__proto__' },
    { name: 'empty name', path: [''], want: '$[""]' },
    { name: '$ in a name', path: ['$schema'], want: '$.$schema' },
  ];
  it.each(table)('$name', ({ path, want }) => {
    expect(formatJsonPath(path)).toBe(want);
    expect(parseJsonPath(want)).toEqual(path);
  });

  it.each(['', 'phases', '$.', '$[01]', '$[x]', '$.a[', '$["a]', '$..a'])('rejects %j', (text) => {
    expect(parseJsonPath(text)).toBeNull();
  });

  it('round-trips any path', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.nat())), (path) => {
      expect(parseJsonPath(formatJsonPath(path))).toEqual(path);
    }));
  });
});

describe('locateJsonPath', () => {
  const text = [
    '{',
    '  "name": "x",',
    '  "phases": [',
    '    { "name": "boot", "threads": { "vcpu0": [ { "op": "fault", "gfn": "0x1234" } ] } },',
    '    { "name": "b", "threads": { "gmem-1": [ 1, [2, {"k": "]"}], 3 ] } }',
    '  ],',
    '  "dup": 1, "dup": 22',
    '}',
  ].join('\n');
  const table: { name: string; path: string; want: { line: number; column: number; length?: number; exact: boolean } }[] = [
    { name: 'root', path: '$', want: { line: 1, column: 1, exact: true } },
    { name: 'top member', path: '$.name', want: { line: 2, column: 11, length: 3, exact: true } },
    { name: 'deep value', path: '$.phases[0].threads.vcpu0[0].gfn', want: { line: 4, column: 71, length: 8, exact: true } },
    { name: 'array element', path: '$.phases[1]', want: { line: 5, column: 5, exact: true } },
    { name: 'quoted key, brackets inside strings skipped', path: '$.phases[1].threads["gmem-1"][2]', want: { line: 5, column: 65, length: 1, exact: true } },
    { name: 'missing member: nearest ancestor', path: '$.phases[0].threads.vcpu0[0].level', want: { line: 4, column: 47, exact: false } },
    { name: 'index past the end', path: '$.phases[7].name', want: { line: 3, column: 13, exact: false } },
    { name: 'member of a scalar', path: '$.name.x', want: { line: 2, column: 11, exact: false } },
    { name: 'duplicate key: the last, as JSON.parse keeps', path: '$.dup', want: { line: 7, column: 20, length: 2, exact: true } },
  ];
  it.each(table)('$name', ({ path, want }) => {
    const at = locateJsonPath(text, path);
    expect(at).not.toBeNull();
    expect({ line: at!.line, column: at!.column, exact: at!.exact }).toEqual({ line: want.line, column: want.column, exact: want.exact });
    if (want.length !== undefined) expect(at!.length).toBe(want.length);
  });

  it('gives the key position for a member', () => {
    const at = locateJsonPath(text, '$.name');
    expect(at?.key).toEqual({ offset: text.indexOf('"name"'), line: 2, column: 3 });
  });

  it('returns null for an unparsable path', () => {
    expect(locateJsonPath(text, 'phases')).toBeNull();
  });

  it('survives deep nesting without recursion', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const path = new Array(1000).fill(0);
    const at = locateJsonPath(deep, path);
    expect(at?.exact).toBe(true);
    expect(at?.column).toBe(1001);
  });
});

describe('findJsonSyntaxError', () => {
  const table: { name: string; text: string; want: { line: number; column: number; problem: RegExp } | null }[] = [
    { name: 'valid object', text: '{"a": [1, 2.5e3, true, null, "x\\u0041"]}', want: null },
    { name: 'valid scalar with whitespace', text: ' \n 12 \n', want: null },
    { name: 'trailing comma in array', text: '{"a": [1,\n 2,]}', want: { line: 2, column: 4, problem: /expected a value/ } },
    { name: 'trailing comma in object', text: '{"a": 1,}', want: { line: 1, column: 9, problem: /property name/ } },
    { name: 'single quotes', text: "{'a': 1}", want: { line: 1, column: 2, problem: /property name/ } },
    { name: 'missing colon', text: '{"a" 1}', want: { line: 1, column: 6, problem: /expected ':'/ } },
    { name: 'missing comma', text: '[1 2]', want: { line: 1, column: 4, problem: /expected ',' or '\]'/ } },
    { name: 'unclosed', text: '{"a": [1', want: { line: 1, column: 9, problem: /end of text/ } },
    { name: 'empty', text: '', want: { line: 1, column: 1, problem: /end of text/ } },
    { name: 'text after value', text: '{} x', want: { line: 1, column: 4, problem: /after the JSON value/ } },
    { name: 'bad escape', text: '"a\\x"', want: { line: 1, column: 3, problem: /string/ } },
    { name: 'raw newline in string', text: '"a\nb"', want: { line: 1, column: 3, problem: /string/ } },
    { name: 'leading zero', text: '[01]', want: { line: 1, column: 3, problem: /expected ','/ } },
    { name: 'hex number', text: '0x10', want: { line: 1, column: 2, problem: /after the JSON value/ } },
    { name: 'NaN', text: 'NaN', want: { line: 1, column: 1, problem: /expected a value/ } },
    { name: 'unterminated string', text: '["abc', want: { line: 1, column: 6, problem: /string/ } },
  ];
  it.each(table)('$name', ({ text, want }) => {
    const got = findJsonSyntaxError(text);
    if (want === null) {
      expect(got).toBeNull();
      return;
    }
    expect(got).not.toBeNull();
    expect({ line: got!.line, column: got!.column }).toEqual({ line: want.line, column: want.column });
    expect(got!.problem).toMatch(want.problem);
  });

  function parses(text: string): boolean {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  }

  it('agrees with JSON.parse on JSON-ish strings', () => {
    const alphabet = fc.constantFrom(...'{}[]",:0123456789-+.eEtrufalsn \n\\u'.split(''), '"a"', 'true', 'null', '1.5');
    fc.assert(fc.property(fc.array(alphabet, { maxLength: 30 }).map((a) => a.join('')), (text) => {
      expect(findJsonSyntaxError(text) === null).toBe(parses(text));
    }), { numRuns: 3000 });
  });

  it('agrees with JSON.parse on real JSON and its truncations', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.nat(), (value, cut) => {
      const text = JSON.stringify(value, null, 1) ?? 'null';
      expect(findJsonSyntaxError(text)).toBeNull();
      const truncated = text.slice(0, cut % (text.length + 1));
      expect(findJsonSyntaxError(truncated) === null).toBe(parses(truncated));
    }), { numRuns: 500 });
  });

  it('survives deep nesting without recursion', () => {
    expect(findJsonSyntaxError('['.repeat(300_000))).toMatchObject({ problem: 'unexpected end of text' });
  });

  it('positions count lines and UTF-16 columns', () => {
    expect(positionOf('ab\ncd\n€f', 7)).toEqual({ offset: 7, line: 3, column: 2 });
  });
});
