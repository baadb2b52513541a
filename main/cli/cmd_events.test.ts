// `septwb events` on a recorded run: flags through runF, then the event table and JSON Lines,
// ranges and limits.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliTestEnv, expectFlags, recordFirstFault, type EventLine } from './cli_test_support.ts';
import { newEventsCmd, type EventsOptions } from './cmd_events.ts';

const env = cliTestEnv('cmd-events');
const { dir, defaultDb, septwb } = env;
const db = join(dir, 'e.db');

describe('events flags', () => {
  const cases: { argv: string[]; want?: EventsOptions; error?: RegExp }[] = [
    { argv: ['3'], want: { dbFile: defaultDb, runId: 3, seqFrom: 0, seqTo: Infinity, limit: null, jsonl: false } },
    { argv: ['3', '--from', '10', '--to', '20', '--limit', '5', '--jsonl'], want: { dbFile: defaultDb, runId: 3, seqFrom: 10, seqTo: 20, limit: 5, jsonl: true } },
    { argv: ['3', '--limit', '1000000'], error: /--limit must be in \[1, 100000\]/ },
    { argv: ['3', '--jsonl', '--limit', '1000000'], want: { dbFile: defaultDb, runId: 3, seqFrom: 0, seqTo: Infinity, limit: 1_000_000, jsonl: true } },
    { argv: ['3', '--from', '20', '--to', '20'], error: /--to \(20\) must be greater than --from \(20\)/ },
    { argv: ['3', '--limit', '0'], error: /--limit must be in/ },
    { argv: [], error: /events needs a run id/ },
    { argv: ['x'], error: /run id must be a positive integer/ },
    { argv: ['3', '--json'], error: /Unknown option '--json'/ },
  ];
  it.each(cases)('$argv', (c) => expectFlags(newEventsCmd, env.deps(), c));
});

describe('septwb events on a recorded run', () => {
  let lines: EventLine[] = [];
  beforeAll(async () => {
    lines = await recordFirstFault(env, db);
  });

  it('--jsonl: every event in order; the SEAMCALLs are SEPT.ADD at levels 4, 3, 2 then AUG at 1', () => {
    expect(lines.map((l) => l.seq)).toEqual([...lines.keys()]);
    const seamcalls = lines.filter((l) => l.layer === 'tdx' && l.name.startsWith('TDH.'));
    expect(seamcalls.map((l) => [l.name, l.level, l.status])).toEqual([
      ['TDH.MEM.SEPT.ADD', 4, 'TDX_SUCCESS'],
      ['TDH.MEM.SEPT.ADD', 3, 'TDX_SUCCESS'],
      ['TDH.MEM.SEPT.ADD', 2, 'TDX_SUCCESS'],
      ['TDH.MEM.PAGE.AUG', 1, 'TDX_SUCCESS'],
    ]);
  });

  it('a range [from, to) with a limit, as a table; a cut table says so on stderr', async () => {
    const r = await septwb(['events', '1', '--from', '5', '--to', '9', '--db', db]);
    expect(r.code, r.err).toBe(0);
    const rows = r.out.trimEnd().split('\n').map((l) => l.split('\t'));
    expect(rows.map((c) => Number(c[0]))).toEqual([5, 6, 7, 8]);
    expect(rows[0]).toHaveLength(11);
    expect(rows[0][1]).toBe('vcpu0');
    expect(r.err).toBe('');
    const limited = await septwb(['events', '1', '--limit', '3', '--db', db]);
    expect(limited.out.trimEnd().split('\n')).toHaveLength(3);
    expect(limited.err).toMatch(new RegExp(`showed 3 of ${lines.length} events`));
    const jsonl = await septwb(['events', '1', '--from', '10', '--limit', '2', '--jsonl', '--db', db]);
    expect(jsonl.out.trimEnd().split('\n').map((l) => (JSON.parse(l) as EventLine).seq)).toEqual([10, 11]);
    const tty = await septwb(['events', '1', '--to', '2', '--db', db], true);
    expect(tty.out).toMatch(new RegExp(`^Run 1 \\(unified\\), events 0 to 1 of ${lines.length}\\n\\nSEQ +THREAD +LAYER +NAME +PARENT +GFN +LEVEL +OLD +NEW +STATUS +DETAIL\\n0 +vcpu0 +op +fault`));
  });

  it('a missing run exits 3', async () => {
    expect((await septwb(['events', '7', '--db', db])).code).toBe(3);
  });
});
