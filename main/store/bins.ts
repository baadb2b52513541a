// Pre-computed timeline bins: a pyramid of blocks of 2^k events (k = BIN_LOG2_MIN..BIN_LOG2_MAX),
// aligned to multiples of their size, each holding per non-empty lane (thread x layer) the event
// count and the most frequent name. A timeline window of any length is then read as about as
// many blocks as it has buckets (KernelShark's per-pixel bins, libkshark-model.h, but stored).
//
// Stored BIN_ROW_BLOCKS consecutive blocks of one level to a row (table event_bin_rows,
// migration 0003): one row per block made the pyramid's inserts cost as much as a third of the
// events' own (two rows per 32 events). Row layout, int32: BIN_ROW_BLOCKS + 1 offsets into the
// same array (block j's quads are [off[j], off[j+1]); an empty block has off[j] === off[j+1]),
// then the quads (lane, count, topName, topCount) of each block, sorted by lane.
//
// The recorder feeds whole chunks in seq order. Counting is by dense pair ids ((name, lane)
// pairs, a handful per run) into typed arrays, one per level: a finished block is encoded and
// folded into its parent (only the pairs it touched), so each event is counted once, at the
// finest level. Rows still filling are written at the end of every chunk (upserts, overwritten
// later), so a run that dies midway still has bins for everything it stored.
//
// Also produced: exact name and status histograms per block of 2^HIST_LOG2 events, for range
// counts (queries.ts rangeCounts).
import { LAYERS, type EventChunk } from '../../shared/event.ts';
import { assert } from './db.ts';

/**
 * Finest block: 64 events. 32 cost twice the finest level's rows and encoding for the recorder;
 * a timeline window narrower than 64 events per bucket scans events instead (queries.ts).
 */
export const BIN_LOG2_MIN = 6;
export const BIN_LOG2_MAX = 20;
export const HIST_LOG2 = 12;
/** Blocks of one level per stored row. */
export const BIN_ROW_BLOCKS = 16;
/** Lane = thread * LAYER_COUNT + layer; the pair key packs name * LANES_MAX + lane. */
export const LAYER_COUNT = LAYERS.length;
export const LANES_MAX = 8192;

export interface BinRow {
  sizeLog2: number;
  /** Row index: blocks row * BIN_ROW_BLOCKS .. + BIN_ROW_BLOCKS - 1. */
  row: number;
  /** Offsets header, then quads (layout above). */
  blocks: Int32Array;
}

export interface HistRow {
  block: number;
  /** Pairs (name id, count), sorted by id. */
  names: Int32Array;
  /** Pairs (status id, count) for events with a status, sorted by id. */
  statuses: Int32Array;
}

/** Block `block`'s quads within a stored row (the row holding it): [start, end) into `row`. */
export function blockQuads(row: Int32Array, block: number): [number, number] {
  const j = block % BIN_ROW_BLOCKS;
  return [row[j], row[j + 1]];
}

export function encodePairs(counts: Map<number, number>): Int32Array {
  const ids = [...counts.keys()].sort((a, b) => a - b);
  const out = new Int32Array(ids.length * 2);
  ids.forEach((id, i) => {
    out[i * 2] = id;
    out[i * 2 + 1] = counts.get(id)!;
  });
  return out;
}

// Scratch space for encodeLanes, reused: per lane count, top name and its count.
const scratchCount = new Int32Array(LANES_MAX);
const scratchTop = new Int32Array(LANES_MAX);
const scratchTopCount = new Int32Array(LANES_MAX);
const scratchLanes = new Int32Array(LANES_MAX);

/** Per lane: count, and the name with the highest count (ties: lower id, so it is deterministic). */
function encodeLanes(pairs: Pairs, ids: Int32Array, n: number, counts: Int32Array): Int32Array {
  let lanes = 0;
  for (let k = 0; k < n; k++) {
    const id = ids[k];
    const count = counts[id];
    const lane = pairs.lane[id];
    const name = pairs.name[id];
    if (scratchCount[lane] === 0) {
      scratchLanes[lanes++] = lane;
      scratchCount[lane] = count;
      scratchTop[lane] = name;
      scratchTopCount[lane] = count;
      continue;
    }
    scratchCount[lane] += count;
    if (count > scratchTopCount[lane] || (count === scratchTopCount[lane] && name < scratchTop[lane])) {
      scratchTop[lane] = name;
      scratchTopCount[lane] = count;
    }
  }
  // A typed array sorts numerically, natively: no comparator call per step.
  scratchLanes.subarray(0, lanes).sort();
  const out = new Int32Array(lanes * 4);
  for (let i = 0; i < lanes; i++) {
    const lane = scratchLanes[i];
    out[i * 4] = lane;
    out[i * 4 + 1] = scratchCount[lane];
    out[i * 4 + 2] = scratchTop[lane];
    out[i * 4 + 3] = scratchTopCount[lane];
    scratchCount[lane] = 0;
  }
  return out;
}

/** The run's distinct (name, lane) pairs, by dense id. */
class Pairs {
  readonly #ids = new Map<number, number>();
  lane: Int32Array = new Int32Array(256);
  name: Int32Array = new Int32Array(256);
  count = 0;

  /** Dense id of (name, lane); `grown` is called when the id space doubles. */
  id(name: number, lane: number, grown: (capacity: number) => void): number {
    const key = name * LANES_MAX + lane;
    const id = this.#ids.get(key);
    if (id !== undefined) return id;
    if (this.count === this.lane.length) {
      const cap = this.count * 2;
      this.lane = grow(this.lane, cap);
      this.name = grow(this.name, cap);
      grown(cap);
    }
    this.lane[this.count] = lane;
    this.name[this.count] = name;
    this.#ids.set(key, this.count);
    return this.count++;
  }
}

function grow(a: Int32Array, capacity: number): Int32Array {
  const b = new Int32Array(capacity);
  b.set(a);
  return b;
}

/** One level of the pyramid: the block filling, its counts by pair id, the row it belongs to. */
class Level {
  block = 0;
  counts: Int32Array;
  /** Pair ids with a non-zero count, the first `touchedN`. */
  touched: Int32Array;
  touchedN = 0;
  /** Encoded finished blocks of the current row, by position in the row. */
  readonly rowBlocks: (Int32Array | undefined)[] = new Array(BIN_ROW_BLOCKS).fill(undefined);

  constructor(capacity: number) {
    this.counts = new Int32Array(capacity);
    this.touched = new Int32Array(capacity);
  }

  bump(id: number, n: number): void {
    if (this.counts[id] === 0) this.touched[this.touchedN++] = id;
    this.counts[id] += n;
  }

  clear(): void {
    for (let k = 0; k < this.touchedN; k++) this.counts[this.touched[k]] = 0;
    this.touchedN = 0;
  }

  grow(capacity: number): void {
    this.counts = grow(this.counts, capacity);
    this.touched = grow(this.touched, capacity);
  }
}

/** A row from the blocks at its positions (undefined = empty). */
function encodeRow(blocks: readonly (Int32Array | undefined)[]): Int32Array {
  let size = BIN_ROW_BLOCKS + 1;
  for (const b of blocks) size += b?.length ?? 0;
  const out = new Int32Array(size);
  let at = BIN_ROW_BLOCKS + 1;
  for (let j = 0; j < BIN_ROW_BLOCKS; j++) {
    out[j] = at;
    const b = blocks[j];
    if (b !== undefined) {
      out.set(b, at);
      at += b.length;
    }
  }
  out[BIN_ROW_BLOCKS] = at;
  return out;
}

const LEVELS = BIN_LOG2_MAX - BIN_LOG2_MIN + 1;
const FINEST_SIZE = 2 ** BIN_LOG2_MIN;

export class BinPyramid {
  readonly #pairs = new Pairs();
  readonly #levels: Level[] = [];
  /** Partial blocks, summed upwards (partialRows' scratch). */
  #cum: Level;
  /**
   * Status counts per histogram block, all kept (a few entries per 4096 events): a span's
   * status can arrive later, as a patch, after its block's row was written.
   */
  readonly #statusByBlock = new Map<number, Map<number, number>>();
  /** The name pairs last written per histogram block, to rewrite a row after a status patch. */
  readonly #namesByBlock = new Map<number, Int32Array>();
  /** Finished rows not yet taken. */
  readonly rows: BinRow[] = [];
  readonly histRows: HistRow[] = [];

  constructor() {
    for (let k = 0; k < LEVELS; k++) this.#levels.push(new Level(this.#pairs.lane.length));
    this.#cum = new Level(this.#pairs.lane.length);
  }

  #grown = (capacity: number): void => {
    for (const lv of this.#levels) lv.grow(capacity);
    this.#cum.grow(capacity);
  };

  /** Counts every event of a chunk; chunks must arrive in seq order. */
  addChunk(c: EventChunk): void {
    const finest = this.#levels[0];
    let blockEnd = (finest.block + 1) * FINEST_SIZE;
    for (let i = 0; i < c.count; i++) {
      const seq = c.seqStart + i;
      if (seq >= blockEnd) {
        this.#advance(0, Math.floor(seq / FINEST_SIZE));
        blockEnd = (finest.block + 1) * FINEST_SIZE;
      }
      const lane = c.thread[i] * LAYER_COUNT + c.layer[i];
      assert(lane < LANES_MAX, `lane ${lane} out of range`);
      finest.bump(this.#pairs.id(c.name[i], lane, this.#grown), 1);
      if (c.status[i] !== 0) this.#bumpStatus(seq, c.status[i], 1);
    }
  }

  #bumpStatus(seq: number, status: number, n: number): Map<number, number> {
    const hb = Math.floor(seq / 2 ** HIST_LOG2);
    let m = this.#statusByBlock.get(hb);
    if (m === undefined) {
      m = new Map();
      this.#statusByBlock.set(hb, m);
    }
    const count = (m.get(status) ?? 0) + n;
    if (count === 0) m.delete(status);
    else m.set(status, count);
    return m;
  }

  /** Event `seq`'s status changed after it was counted (a status patch). */
  patchStatus(seq: number, statusOld: number, statusNew: number): void {
    if (statusOld === statusNew) return;
    if (statusOld !== 0) this.#bumpStatus(seq, statusOld, -1);
    const m = statusNew !== 0 ? this.#bumpStatus(seq, statusNew, 1) : this.#statusByBlock.get(Math.floor(seq / 2 ** HIST_LOG2));
    const hb = Math.floor(seq / 2 ** HIST_LOG2);
    const names = this.#namesByBlock.get(hb);
    if (names !== undefined) this.histRows.push({ block: hb, names, statuses: encodePairs(m ?? new Map()) });
  }

  /**
   * Level i moves to `block`: its current block is finished, encoded into its row and folded
   * into level i+1; a finished row is emitted. Invariant kept here: levels[i+1].block ===
   * floor(levels[i].block / 2), so a parent always holds exactly its finished children and
   * partialRows can stack the partial blocks.
   */
  #advance(i: number, block: number): void {
    const lv = this.#levels[i];
    const parent = i + 1 < LEVELS ? this.#levels[i + 1] : null;
    if (lv.touchedN > 0) {
      lv.rowBlocks[lv.block % BIN_ROW_BLOCKS] = encodeLanes(this.#pairs, lv.touched, lv.touchedN, lv.counts);
      if (BIN_LOG2_MIN + i === HIST_LOG2) this.histRows.push(this.#histRow(lv.block, lv));
      if (parent !== null) for (let k = 0; k < lv.touchedN; k++) parent.bump(lv.touched[k], lv.counts[lv.touched[k]]);
      lv.clear();
    }
    if (Math.floor(block / BIN_ROW_BLOCKS) !== Math.floor(lv.block / BIN_ROW_BLOCKS)) this.#finishRow(i, lv);
    lv.block = block;
    if (parent !== null && Math.floor(block / 2) !== parent.block) this.#advance(i + 1, Math.floor(block / 2));
  }

  #finishRow(i: number, lv: Level): void {
    if (lv.rowBlocks.some((b) => b !== undefined)) this.rows.push({ sizeLog2: BIN_LOG2_MIN + i, row: Math.floor(lv.block / BIN_ROW_BLOCKS), blocks: encodeRow(lv.rowBlocks) });
    lv.rowBlocks.fill(undefined);
  }

  #histRow(block: number, lv: Level): HistRow {
    const names = new Map<number, number>();
    for (let k = 0; k < lv.touchedN; k++) {
      const id = lv.touched[k];
      const name = this.#pairs.name[id];
      names.set(name, (names.get(name) ?? 0) + lv.counts[id]);
    }
    const encoded = encodePairs(names);
    this.#namesByBlock.set(block, encoded);
    return { block, names: encoded, statuses: encodePairs(this.#statusByBlock.get(block) ?? new Map()) };
  }

  /**
   * Rows for the blocks still filling, each level's partial block holding its finished children
   * plus the finer levels' partial blocks. Written as upserts; the finished row overwrites them.
   */
  partialRows(): void {
    const cum = this.#cum;
    for (let i = 0; i < LEVELS; i++) {
      const lv = this.#levels[i];
      for (let k = 0; k < lv.touchedN; k++) cum.bump(lv.touched[k], lv.counts[lv.touched[k]]);
      if (cum.touchedN === 0) continue;
      const blocks = lv.rowBlocks.slice();
      blocks[lv.block % BIN_ROW_BLOCKS] = encodeLanes(this.#pairs, cum.touched, cum.touchedN, cum.counts);
      this.rows.push({ sizeLog2: BIN_LOG2_MIN + i, row: Math.floor(lv.block / BIN_ROW_BLOCKS), blocks: encodeRow(blocks) });
      // A partial histogram block too: rangeCounts reads a run's last block from it.
      if (BIN_LOG2_MIN + i === HIST_LOG2) this.histRows.push(this.#histRow(lv.block, cum));
    }
    cum.clear();
  }

  /** Takes the rows produced since the last call. */
  take(): { rows: BinRow[]; histRows: HistRow[] } {
    return { rows: this.rows.splice(0), histRows: this.histRows.splice(0) };
  }
}
