// `septwb events <run>`: a recorded run's events in seq order, as a table or JSON Lines (issue 6).
// Read a page at a time (event_jsonl.ts), so even `--jsonl` of a million-event run holds one page.
import type { SimEvent } from '../../shared/event.ts';
import { u64_hex } from '../../shared/u64.ts';
import { dbFileOf, parseFlags, parseIntFlag, unwrap, withService, type CliDeps, type CommandSpec } from './command.ts';
import { FlagError } from './errors.ts';
import { forEachEvent, writeEventsJsonl } from './event_jsonl.ts';
import { parseIdArg } from './run_output.ts';
import { TablePrinter } from './table_printer.ts';

export interface EventsOptions {
  dbFile: string;
  runId: number;
  seqFrom: number;
  /** Exclusive; Infinity for the end of the run. */
  seqTo: number;
  /** null: TABLE_EVENTS_DEFAULT for a table, every event for --jsonl. */
  limit: number | null;
  jsonl: boolean;
}

/** A table is built in memory before it is aligned, so it has a default and a ceiling. */
export const TABLE_EVENTS_DEFAULT = 1000;
export const TABLE_EVENTS_MAX = 100_000;
const SEQ_MAX = 2 ** 32 - 1;

export function newEventsCmd(deps: CliDeps, runF: (opts: EventsOptions) => Promise<void> = (opts) => eventsRun(deps, opts)) {
  return async (argv: string[]): Promise<void> => {
    const { values, positionals } = parseFlags(
      argv,
      { from: { type: 'string' }, to: { type: 'string' }, limit: { type: 'string' }, jsonl: { type: 'boolean' }, db: { type: 'string' } },
      true,
    );
    if (positionals.length !== 1) throw new FlagError(positionals.length === 0 ? 'events needs a run id' : `events takes one run id, got ${positionals.length}`);
    const seqFrom = parseIntFlag('from', values.from, 0, SEQ_MAX) ?? 0;
    const seqTo = parseIntFlag('to', values.to, 0, SEQ_MAX) ?? Infinity;
    if (seqTo <= seqFrom) throw new FlagError(`--to (${seqTo}) must be greater than --from (${seqFrom}): the range is [from, to)`);
    const jsonl = values.jsonl === true;
    const limit = parseIntFlag('limit', values.limit, 1, jsonl ? Number.MAX_SAFE_INTEGER : TABLE_EVENTS_MAX) ?? null;
    await runF({ dbFile: dbFileOf(deps, values.db), runId: parseIdArg('run', positionals[0]), seqFrom, seqTo, limit, jsonl });
  };
}

export async function eventsRun(deps: CliDeps, opts: EventsOptions): Promise<void> {
  const { io } = deps;
  await withService(deps, opts.dbFile, async (service) => {
    const run = unwrap(await service.getRun({ id: opts.runId }));
    const range = { runId: opts.runId, seqFrom: opts.seqFrom, seqTo: opts.seqTo, limit: opts.limit ?? (opts.jsonl ? Infinity : TABLE_EVENTS_DEFAULT) };
    if (opts.jsonl) {
      await writeEventsJsonl(service, range, (text) => io.out.write(text));
      return;
    }
    const to = Math.min(opts.seqTo, run.eventCount);
    const table = new TablePrinter(io, `Run ${run.id} (${run.design}), events ${opts.seqFrom} to ${to - 1} of ${run.eventCount}`, [
      'seq', 'thread', 'layer', 'name', 'parent', 'gfn', 'level', 'old', 'new', 'status', 'detail',
    ]);
    const shown = await forEachEvent(service, range, (e) => table.addRow(eventRow(e, run.threadNames)));
    table.render();
    const inRange = Math.max(0, to - opts.seqFrom);
    if (shown < inRange) io.err.write(`septwb: showed ${shown} of ${inRange} events; use --limit N (at most ${TABLE_EVENTS_MAX}), --from/--to, or --jsonl\n`);
  });
}

function eventRow(e: SimEvent, threadNames: string[]): (string | number)[] {
  return [
    e.seq,
    threadNames[e.thread] ?? String(e.thread),
    e.layer,
    e.name,
    e.parent < 0 ? '-' : e.parent,
    e.gfn < 0 ? '-' : `0x${e.gfn.toString(16)}`,
    e.level === 0 ? '-' : e.level,
    e.old === null ? '-' : u64_hex(e.old),
    e.new === null ? '-' : u64_hex(e.new),
    e.status || '-',
    e.detail || '-',
  ];
}

export const eventsCommand: CommandSpec = {
  name: 'events',
  summary: "print a recorded run's events (table or JSON Lines)",
  help: `Usage: septwb events <run> [--from N] [--to M] [--limit N] [--jsonl] [--db FILE]

Prints the run's events with seq in [N, M), in order: thread, layer (op, mmu,
hook, tdx, check), name, parent span, gfn, level (KVM pg_level, 1 = 4K), old and
new entry values (hex), status and detail.

A table shows at most ${TABLE_EVENTS_DEFAULT} events unless --limit says otherwise (up to
${TABLE_EVENTS_MAX}); --jsonl streams every event in range, one JSON object per line
(seq, thread, layer, name, parent, gfn, level, old, new, status, detail, end,
step, op, tree; old/new as hex strings or null).

Flags:
  --from N      first seq (default 0)
  --to M        stop before seq M (default: the end of the run)
  --limit N     at most N events
  --jsonl       JSON Lines instead of a table
  --db FILE     database (default: $XDG_DATA_HOME/septwb/septwb.db or ~/.local/share/septwb/septwb.db)

Examples:
  septwb events 12 --from 100 --to 200
  septwb events 12 --jsonl | jq -c 'select(.layer == "tdx") | [.seq, .name, .status]'`,
  create: (deps) => newEventsCmd(deps),
};
