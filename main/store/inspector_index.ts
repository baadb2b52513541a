// The per-run checkpoint index: a run's ranges every CHECKPOINT_EVENTS events, built by one
// sweep over its writes, in background slices. It exists so a cursor anywhere in a big run
// reads at most CHECKPOINT_EVENTS events (PRODUCT.md section 5: any event of a 1,000,000-event
// run in under 50 ms) instead of replaying the run from its start.
import { TREE_ID } from '../../shared/event.ts';
import { eventKey, prepared, type ReadableDB } from './db.ts';
import { applyWrites, newRanges, rangesOfColumns, writesOf, type EntryRanges, type EntryWrites } from './inspector_ranges.ts';
import { stateAtColumns } from './state_query.ts';

/** Events between two checkpoints: a query reads at most this many (3.5 ms on the bench run). */
export const CHECKPOINT_EVENTS = 16384;
/** Ranges a run's checkpoints may hold (~21 bytes each); past it every other checkpoint goes. */
export const CHECKPOINT_RANGES_MAX = 2_000_000;
/** A query this far past the sweep waits for it; farther, it reads the store's state instead. */
const SYNC_SWEEP_EVENTS = 4 * CHECKPOINT_EVENTS;
/** Checkpoints made from the store's state (cold queries ahead of the sweep), kept at most. */
const SEEDS_MAX = 8;
/** Runs whose checkpoints are kept; the least recently asked goes first. */
const INDEXED_RUNS_MAX = 3;

interface Checkpoint {
  /** The state after the writes with seq <= this (-1: the empty start). */
  seq: number;
  mirror: EntryRanges;
  sept: EntryRanges;
}

/** The writes of events (afterSeq, seq], as the two trees' sorted last writes. */
function writesBetween(db: ReadableDB, runId: number, afterSeq: number, seq: number): { mirror: EntryWrites; sept: EntryWrites } {
  const rows = prepared(db, `SELECT tree, level, gfn, new FROM events WHERE key > ? AND key <= ? AND (tree = ${TREE_ID.mirror} OR tree = ${TREE_ID.sept})`)
    .raw(true)
    .all(eventKey(runId, 0) + afterSeq, eventKey(runId, seq)) as [number, number, number, number | null][];
  return writesOf(rows);
}

function advance(db: ReadableDB, runId: number, cp: Checkpoint, seq: number): Checkpoint {
  if (seq === cp.seq) return cp;
  const w = writesBetween(db, runId, cp.seq, seq);
  return { seq, mirror: applyWrites('mirror', cp.mirror, w.mirror), sept: applyWrites('sept', cp.sept, w.sept) };
}

/**
 * One run's checkpoints. The sweep moves `tip` forward CHECKPOINT_EVENTS at a time and keeps
 * every `stride`-th position in `grid`; a cursor reads from the nearest checkpoint at or
 * before it. Ahead of the sweep, a query takes the store's state at the cursor (stateAtColumns)
 * and keeps it as a seed, so the first look at a big run does not wait for the whole sweep.
 */
export class InspectorIndex {
  readonly runId: number;
  eventCount: number;
  #tip: Checkpoint = { seq: -1, mirror: newRanges(0), sept: newRanges(0) };
  /** Checkpoints at seq k * stride * CHECKPOINT_EVENTS - 1, in seq order. */
  #grid: Checkpoint[] = [this.#tip];
  #stride = 1;
  #gridRanges = 0;
  #seeds: Checkpoint[] = [];

  constructor(runId: number, eventCount: number) {
    this.runId = runId;
    this.eventCount = eventCount;
  }

  get sweptTo(): number {
    return this.#tip.seq;
  }

  get swept(): boolean {
    return this.#tip.seq >= this.eventCount - 1;
  }

  /** One sweep step: the next CHECKPOINT_EVENTS events' writes into the tip. */
  sweepStep(db: ReadableDB): void {
    if (this.swept) return;
    const seq = Math.min(this.eventCount - 1, this.#tip.seq + CHECKPOINT_EVENTS);
    this.#tip = advance(db, this.runId, this.#tip, seq);
    if ((seq + 1) % (this.#stride * CHECKPOINT_EVENTS) === 0) this.#keep(this.#tip);
    this.#seeds = this.#seeds.filter((s) => s.seq > this.#tip.seq);
  }

  /** Sweeps to the end (tests, small runs). Bounded by the run's length. */
  sweepAll(db: ReadableDB): void {
    const stepsMax = Math.ceil(this.eventCount / CHECKPOINT_EVENTS) + 1;
    for (let i = 0; i < stepsMax && !this.swept; i++) this.sweepStep(db);
  }

  #keep(cp: Checkpoint): void {
    this.#grid.push(cp);
    this.#gridRanges += cp.mirror.n + cp.sept.n;
    if (this.#gridRanges <= CHECKPOINT_RANGES_MAX) return;
    // Over budget: every other checkpoint goes, so a query may read twice as many events.
    this.#stride *= 2;
    this.#grid = this.#grid.filter((c) => (c.seq + 1) % (this.#stride * CHECKPOINT_EVENTS) === 0);
    this.#gridRanges = this.#grid.reduce((n, c) => n + c.mirror.n + c.sept.n, 0);
  }

  /** The latest checkpoint at or before seq. */
  #nearest(seq: number): Checkpoint {
    let lo = 0;
    let hi = this.#grid.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#grid[mid].seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    let best = this.#grid[Math.max(0, lo - 1)];
    for (const c of [this.#tip, ...this.#seeds]) if (c.seq <= seq && c.seq > best.seq) best = c;
    return best;
  }

  /** Both trees' ranges after the writes with seq <= `seq` (-1: empty). */
  rangesAt(db: ReadableDB, seq: number): Checkpoint {
    const reach = Math.max(2, this.#stride) * CHECKPOINT_EVENTS;
    let cp = this.#nearest(seq);
    if (seq - cp.seq > reach && seq - this.#tip.seq <= SYNC_SWEEP_EVENTS) {
      const stepsMax = SYNC_SWEEP_EVENTS / CHECKPOINT_EVENTS + 1;
      for (let i = 0; i < stepsMax && this.#tip.seq + CHECKPOINT_EVENTS <= seq; i++) this.sweepStep(db);
      cp = this.#nearest(seq);
    }
    if (seq - cp.seq > reach) {
      const cols = stateAtColumns(db, this.runId, seq);
      cp = { seq, mirror: rangesOfColumns('mirror', cols.mirror), sept: rangesOfColumns('sept', cols.sept) };
      this.#seeds = [cp, ...this.#seeds].slice(0, SEEDS_MAX);
    }
    return advance(db, this.runId, cp, seq);
  }
}

/**
 * The checkpoints of the runs the Run view looks at, by run id. With `background`, each query
 * leaves the sweep of its run running in slices of one step (setImmediate), so main stays
 * responsive while a big run is indexed. A closed database stops it.
 */
export class InspectorIndexes {
  readonly #db: ReadableDB;
  readonly #background: boolean;
  readonly #runs = new Map<number, InspectorIndex>();
  #sweeping: InspectorIndex | null = null;

  constructor(db: ReadableDB, opts: { background: boolean }) {
    this.#db = db;
    this.#background = opts.background;
  }

  /** The run's index, its event count brought up to date; the least recently used run beyond INDEXED_RUNS_MAX is dropped. */
  of(runId: number, eventCount: number): InspectorIndex {
    let index = this.#runs.get(runId);
    this.#runs.delete(runId);
    if (index === undefined || eventCount < index.eventCount) index = new InspectorIndex(runId, eventCount);
    index.eventCount = eventCount;
    this.#runs.set(runId, index);
    for (const id of this.#runs.keys()) if (this.#runs.size > INDEXED_RUNS_MAX) this.#runs.delete(id);
    return index;
  }

  forget(runId: number): void {
    this.#runs.delete(runId);
  }

  /** Continues the run's sweep in the background (one slice per macrotask) until it is done. */
  sweepLater(index: InspectorIndex): void {
    if (!this.#background || index.swept || this.#sweeping === index) return;
    this.#sweeping = index;
    const slice = (): void => {
      if (this.#sweeping !== index || !this.#db.open || this.#runs.get(index.runId) !== index || index.swept) {
        if (this.#sweeping === index) this.#sweeping = null;
        return;
      }
      index.sweepStep(this.#db);
      setImmediate(slice);
    };
    setImmediate(slice);
  }
}
