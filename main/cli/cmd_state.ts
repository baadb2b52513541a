// `septwb state <run> --at N`: both page tables after event N (issue 6): KVM's mirror tree and
// the TDX module's S-EPT, decoded by the Runs area (stateAt: one keyframe plus at most K events),
// in pre-order with contiguous equal leaves merged, as the Run view's inspector shows them.
import type { InspectorRow, InspectorState } from '../../shared/api/runs.ts';
import { u64_hex } from '../../shared/u64.ts';
import { dbFileOf, parseFlags, parseIntFlag, unwrap, withService, type CliDeps, type CommandSpec } from './command.ts';
import { FlagError } from './errors.ts';
import { parseIdArg } from './run_output.ts';
import { printJson, TablePrinter } from './table_printer.ts';

export interface StateOptions {
  dbFile: string;
  runId: number;
  seq: number;
  /** Only entries whose gfn range meets [gfnStart, gfnEnd); null for all. */
  gfnWindow: { gfnStart: number; gfnEnd: number } | null;
  json: boolean;
}

const SEQ_MAX = 2 ** 32 - 1;
const GFN_MAX = 2 ** 52;

/** A gfn as hex (`0x1234`) or decimal, else a FlagError naming the flag. */
function parseGfnFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^0x[0-9a-f]{1,13}$/i.test(raw) ? parseInt(raw.slice(2), 16) : /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value > GFN_MAX) throw new FlagError(`--${name} must be a gfn (hex 0x... or decimal, at most 2^52), got ${JSON.stringify(raw)}`);
  return value;
}

export function newStateCmd(deps: CliDeps, runF: (opts: StateOptions) => Promise<void> = (opts) => stateRun(deps, opts)) {
  return async (argv: string[]): Promise<void> => {
    const { values, positionals } = parseFlags(
      argv,
      { at: { type: 'string' }, json: { type: 'boolean' }, 'gfn-start': { type: 'string' }, 'gfn-end': { type: 'string' }, db: { type: 'string' } },
      true,
    );
    if (positionals.length !== 1) throw new FlagError(positionals.length === 0 ? 'state needs a run id' : `state takes one run id, got ${positionals.length}`);
    const seq = parseIntFlag('at', values.at, 0, SEQ_MAX);
    if (seq === undefined) throw new FlagError('state needs --at N: the event after which to show the tables');
    const gfnStart = parseGfnFlag('gfn-start', values['gfn-start']);
    const gfnEnd = parseGfnFlag('gfn-end', values['gfn-end']);
    if ((gfnStart === undefined) !== (gfnEnd === undefined)) throw new FlagError('--gfn-start and --gfn-end go together: give both or neither');
    if (gfnStart !== undefined && gfnEnd! <= gfnStart) throw new FlagError('--gfn-end must be greater than --gfn-start');
    await runF({
      dbFile: dbFileOf(deps, values.db),
      runId: parseIdArg('run', positionals[0]),
      seq,
      gfnWindow: gfnStart === undefined ? null : { gfnStart, gfnEnd: gfnEnd! },
      json: values.json === true,
    });
  };
}

export async function stateRun(deps: CliDeps, opts: StateOptions): Promise<void> {
  const { io } = deps;
  await withService(deps, opts.dbFile, async (service) => {
    const run = unwrap(await service.getRun({ id: opts.runId }));
    if (run.eventCount === 0) throw new FlagError(`run ${run.id} has no events`);
    if (opts.seq >= run.eventCount) io.err.write(`septwb: run ${run.id} has ${run.eventCount} events; showing the state after the last, ${run.eventCount - 1}\n`);
    const state = unwrap(await service.stateAt({ runId: opts.runId, seq: opts.seq, ...(opts.gfnWindow ?? {}) }));
    if (opts.json) printJson(io, stateJson(opts.runId, state));
    else printState(deps, run.id, state);
    if (state.truncated) io.err.write('septwb: the tables were cut at the row limit; narrow with --gfn-start/--gfn-end\n');
  });
}

/** The inspector state with entry values as 16-digit hex strings, like the event lines. */
function stateJson(runId: number, s: InspectorState) {
  const rows = (list: InspectorRow[]) => list.map((r) => ({ ...r, value: u64_hex(r.value), valueLast: u64_hex(r.valueLast) }));
  return { runId, seq: s.seq, mirror: rows(s.mirror), sept: rows(s.sept), truncated: s.truncated, mismatchCount: s.mismatchCount };
}

function gfnRangeText(r: InspectorRow): string {
  const start = `0x${r.gfnStart.toString(16)}`;
  return r.count > 1 ? `${start}..0x${(r.gfnEnd - 1).toString(16)}` : start;
}

function marksText(r: InspectorRow): string {
  const marks = [r.changed ? 'changed' : '', r.removed ? 'removed' : '', r.mismatch ? 'mismatch' : ''].filter(Boolean);
  return marks.length === 0 ? '-' : marks.join(',');
}

function printState(deps: CliDeps, runId: number, s: InspectorState): void {
  const { io } = deps;
  const trees: [string, InspectorRow[]][] = [
    ['Mirror (KVM)', s.mirror],
    ['S-EPT (TDX module)', s.sept],
  ];
  trees.forEach(([name, rows], i) => {
    if (i > 0 && io.isTTY) io.out.write('\n');
    const table = new TablePrinter(io, `${name}, run ${runId} after event ${s.seq}`, ['tree', 'level', 'gfn', 'count', 'value', 'kind', 'entry', 'marks']);
    const tree = i === 0 ? 'mirror' : 'sept';
    for (const r of rows) {
      const value = r.count > 1 && r.valueLast !== r.value ? `${u64_hex(r.value)}..${u64_hex(r.valueLast)}` : u64_hex(r.value);
      // Indent by depth on a terminal only: piped rows stay plain for cut/awk.
      const entry = io.isTTY ? `${'  '.repeat(r.depth)}${r.label}` : r.label;
      table.addRow([tree, r.level, gfnRangeText(r), r.count, value, r.kind, entry, marksText(r)]);
    }
    table.render();
  });
  if (io.isTTY) io.out.write(`\n${s.mismatchCount} entr${s.mismatchCount === 1 ? 'y differs' : 'ies differ'} between mirror and S-EPT\n`);
}

export const stateCommand: CommandSpec = {
  name: 'state',
  summary: 'print both page tables (mirror and S-EPT) after event N of a run',
  help: `Usage: septwb state <run> --at N [--gfn-start X --gfn-end Y] [--json] [--db FILE]

Prints KVM's mirror page table and the TDX module's S-EPT as they were right after
event N of a recorded run, decoded: one row per entry in pre-order (contiguous
equal leaves merged into one row with a count), its level, gfn range, value, kind
(mirror: non-leaf, leaf, huge, frozen; S-EPT: the entry's state), and marks:
"changed" (written by event N), "removed" (emptied by it), "mismatch" (the other
tree disagrees).

Flags:
  --at N            the event (seq); past the end means the last event
  --gfn-start X     with --gfn-end: only entries in [X, Y) (hex 0x... or decimal)
  --gfn-end Y
  --json            {runId, seq, mirror: [...], sept: [...], truncated, mismatchCount}
  --db FILE         database (default: $XDG_DATA_HOME/septwb/septwb.db or ~/.local/share/septwb/septwb.db)

Examples:
  septwb state 12 --at 31
  septwb state 12 --at 5000 --gfn-start 0x1200 --gfn-end 0x1400 --json | jq '.sept[] | select(.mismatch)'`,
  create: (deps) => newStateCmd(deps),
};
