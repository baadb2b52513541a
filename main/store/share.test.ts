import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsRange } from './events_read.ts';
import { stateAt } from './queries.ts';
import { DEFAULT_IMPORT_LIMITS, exportRunText, exportRunToFile, exportScenario, importRunFile, importRunText } from './share.ts';
import { Store } from './store.ts';
import { dumpDb, recordGenerated, tmpDbFile, tmpDir, type Recorded } from './testing/helpers.ts';

let source: Store;
let run: Recorded;
let text: string;
const VIEW = { cursor: 321, pinned: [[1, 'tdx']], annotations: [{ seq: 40, text: 'BUSY here ✓' }], zoom: { from: 0, to: 999 } };

beforeAll(() => {
  source = Store.open(tmpDbFile());
  const sid = source.putScenario({ name: 'seed argument', description: 'per-op vs unified', json: '{"schema":"septwb/scenario@1","name":"gen"}', builtin: false });
  run = recordGenerated(source, { seed: 21, threads: 2, faults: 1500, chunkSize: 500 }, sid);
  source.putViewState(run.runId, VIEW);
  text = exportRunText(source.readable, run.runId, '0.1.0');
});
afterAll(() => source.close());

describe('export and import', () => {
  it('exports a scenario as its JSON text', () => {
    const s = source.listScenarios()[0];
    expect(exportScenario(source.readable, s.id)).toBe('{"schema":"septwb/scenario@1","name":"gen"}');
    expect(exportScenario(source.readable, 9999)).toBeNull();
  });

  it('re-imports on a fresh database reading exactly the same', () => {
    const dest = Store.open(tmpDbFile());
    dest.putScenario({ name: 'unrelated', description: '', json: '{}', builtin: false });
    const res = importRunText(dest.writable, text);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const a = source.getRun(run.runId)!;
    const b = dest.getRun(res.runId)!;
    expect({ ...b, id: a.id, scenarioId: a.scenarioId }).toEqual(a);
    expect(eventsRange(dest.readable, res.runId, 0, b.eventCount)).toEqual(run.events);
    expect(dest.getViewState(res.runId)).toEqual(VIEW);
    expect(dest.getScenario(res.scenarioId)).toMatchObject({ name: 'seed argument', json: a.scenarioJson });
    expect(stateAt(dest.readable, res.runId, 5000)).toEqual(stateAt(source.readable, run.runId, 5000));
    // Exporting the import again gives the same file, but for nothing.
    expect(exportRunText(dest.readable, res.runId, '0.1.0')).toBe(text);
    // A second import links the existing scenario instead of duplicating it.
    const again = importRunText(dest.writable, text);
    expect(again.ok && again.scenarioId).toBe(res.scenarioId);
    dest.close();
  });

  it('goes through a file too', () => {
    const file = path.join(tmpDir(), 'run.septwb.jsonl');
    exportRunToFile(source.readable, run.runId, '0.1.0', file);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    const dest = Store.open(tmpDbFile());
    const res = importRunFile(dest.writable, file);
    expect(res.ok).toBe(true);
    dest.close();
  });
});

describe('refused imports change nothing', () => {
  const lines = (): string[] => text.trimEnd().split('\n');
  const header = (): Record<string, any> => JSON.parse(lines()[0]);
  const withHeader = (edit: (h: Record<string, any>) => void): string => {
    const h = header();
    edit(h);
    return [JSON.stringify(h), ...lines().slice(1)].join('\n');
  };
  const withLine = (i: number, line: string): string => lines().map((l, j) => (j === i ? line : l)).join('\n');
  const firstEvent = (): number => lines().findIndex((l) => l.startsWith('["e"'));
  const cases: { name: string; input: () => string; code: string; path: RegExp }[] = [
    { name: 'empty', input: () => '', code: 'truncated', path: /^line 1$/ },
    { name: 'not JSON', input: () => '{"format": "septwb/run", ', code: 'malformed', path: /^line 1$/ },
    { name: 'binary garbage', input: () => '\u0000\u0001\u00ff\ufffd', code: 'malformed', path: /^line 1$/ },
    { name: 'header is an array', input: () => '[1,2]', code: 'invalid', path: /^line 1: \$$/ },
    { name: 'other format', input: () => withHeader((h) => (h.format = 'perfetto')), code: 'unsupported', path: /\$\.format$/ },
    { name: 'future version', input: () => withHeader((h) => (h.version = 2)), code: 'unsupported', path: /\$\.version$/ },
    { name: 'unknown field', input: () => withHeader((h) => (h.extra = 1)), code: 'invalid', path: /\$\.extra$/ },
    { name: 'seed wrong type', input: () => withHeader((h) => (h.run.seed = '21')), code: 'invalid', path: /\$\.run\.seed$/ },
    { name: 'huge number', input: () => withHeader((h) => (h.eventCount = 1e300)), code: 'invalid', path: /\$\.eventCount$/ },
    { name: 'path-like thread name', input: () => withHeader((h) => (h.run.threadNames[1] = '../../etc/passwd')), code: 'invalid', path: /\$\.run\.threadNames\[1\]$/ },
    { name: 'path-like scenario name', input: () => withHeader((h) => (h.scenario.name = 'C:\\Windows')), code: 'invalid', path: /\$\.scenario\.name$/ },
    { name: 'control char in name', input: () => withHeader((h) => (h.run.threadNames[0] = 'a\u0007')), code: 'invalid', path: /threadNames\[0\]$/ },
    { name: 'bad design id', input: () => withHeader((h) => (h.run.design = 'Per Op')), code: 'invalid', path: /\$\.run\.design$/ },
    { name: 'deep nesting in view state', input: () => withHeader((h) => (h.viewState = 'DEEP')).replace('"DEEP"', '['.repeat(5000) + ']'.repeat(5000)), code: 'oversized', path: /^line 1: \$$/ },
    { name: 'scenario JSON not an object', input: () => withHeader((h) => (h.scenario.json = '[]')), code: 'invalid', path: /scenario\.json$/ },
    { name: 'bad time', input: () => withHeader((h) => (h.run.startedAt = 'yesterday')), code: 'invalid', path: /startedAt$/ },
    { name: 'truncated mid-events', input: () => lines().slice(0, firstEvent() + 10).join('\n'), code: 'truncated', path: /^line \d+$/ },
    { name: 'truncated before trailer', input: () => lines().slice(0, -1).join('\n'), code: 'truncated', path: /^line \d+$/ },
    { name: 'cut inside a line', input: () => text.slice(0, text.length - 30), code: 'malformed', path: /^line \d+$/ },
    { name: 'event seq out of order', input: () => withLine(firstEvent() + 3, lines()[firstEvent() + 4]), code: 'invalid', path: /\$\[1\]$/ },
    { name: 'event thread out of range', input: () => withLine(firstEvent(), JSON.stringify([...JSON.parse(lines()[firstEvent()]).slice(0, 2), 9, ...JSON.parse(lines()[firstEvent()]).slice(3)])), code: 'invalid', path: /\$\[2\]$/ },
    { name: 'event nested value', input: () => withLine(firstEvent(), JSON.stringify([...JSON.parse(lines()[firstEvent()]).slice(0, 13), [1], ...JSON.parse(lines()[firstEvent()]).slice(14)])), code: 'invalid', path: /\$\[13\]$/ },
    { name: 'value above 2^52', input: () => withLine(firstEvent(), JSON.stringify([...JSON.parse(lines()[firstEvent()]).slice(0, 13), 2 ** 60, ...JSON.parse(lines()[firstEvent()]).slice(14)])), code: 'invalid', path: /\$\[13\]$/ },
    { name: 'string id unknown', input: () => withLine(firstEvent(), JSON.stringify([...JSON.parse(lines()[firstEvent()]).slice(0, 4), 99999, ...JSON.parse(lines()[firstEvent()]).slice(5)])), code: 'invalid', path: /\$\[4\]$/ },
    { name: 'edited value (hash)', input: () => { const i = lines().findIndex((l) => l.startsWith('["e"') && JSON.parse(l)[11] !== 0); const a = JSON.parse(lines()[i]); a[13] = a[13] + 1; return withLine(i, JSON.stringify(a)); }, code: 'invalid', path: /contentHash$/ },
    { name: 'trailing data', input: () => text + '["e"]\n', code: 'invalid', path: /^line \d+$/ },
    { name: 'oversized line', input: () => withLine(firstEvent(), ' '.repeat(DEFAULT_IMPORT_LIMITS.lineBytesMax + 1)), code: 'oversized', path: /^line \d+$/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const dest = Store.open(tmpDbFile());
      recordGenerated(dest, { seed: 5, threads: 1, faults: 50 });
      dest.putViewState(1, { keep: true });
      const before = dumpDb(dest.readable);
      const res = importRunText(dest.writable, c.input());
      expect(res.ok).toBe(false);
      if (!res.ok) {
        expect(res.error.code, res.error.message).toBe(c.code);
        expect(res.error.path).toMatch(c.path);
        expect(res.error.message.length).toBeGreaterThan(5);
      }
      expect(dumpDb(dest.readable)).toBe(before);
      dest.close();
    });
  }

  it('a whole file over the size limit is refused before reading it', () => {
    const dest = Store.open(tmpDbFile());
    const res = importRunText(dest.writable, text, { ...DEFAULT_IMPORT_LIMITS, bytesMax: 1000 });
    expect(res).toMatchObject({ ok: false, error: { code: 'oversized', path: 'file' } });
    dest.close();
  });
});
