// Pre-computed timeline bins: a pyramid of blocks of 2^k events (k = BIN_LOG2_MIN..BIN_LOG2_MAX),
// aligned to multiples of their size, each holding per non-empty lane (thread x layer) the event
// count and the most frequent name. A timeline window of any length is then read as about as
// many rows as it has buckets (KernelShark's per-pixel bins, libkshark-model.h, but stored).
//
// The recorder feeds events in seq order; a finished block at level k is folded into its parent
// at k+1, so each event is counted once at the finest level. Blocks still filling are written as
// `partial` rows at the end of every chunk (and overwritten later), so a run that dies midway
// still has bins for everything it stored.
//
// Also produced: exact name and status histograms per block of 2^HIST_LOG2 events, for range
// counts (queries.ts rangeCounts).
import { LAYERS } from '../../shared/event.ts';
import { assert } from './db.ts';

export const BIN_LOG2_MIN = 5;
export const BIN_LOG2_MAX = 20;
export const HIST_LOG2 = 12;
/** Lane = thread * LAYER_COUNT + layer; the hist key packs name * LANES_MAX + lane. */
export const LAYER_COUNT = LAYERS.length;
export const LANES_MAX = 8192;

export interface BinRow {
  sizeLog2: number;
  block: number;
  /** Quads (lane, count, topName, topCount), sorted by lane. */
  lanes: Int32Array;
}

export interface HistRow {
  block: number;
  /** Pairs (name id, count), sorted by id. */
  names: Int32Array;
  /** Pairs (status id, count) for events with a status, sorted by id. */
  statuses: Int32Array;
}

// Scratch space for encodeLanes, reused: per lane count, top name and its count.
const scratchCount = new Int32Array(LANES_MAX);
const scratchTop = new Int32Array(LANES_MAX);
const scratchTopCount = new Int32Array(LANES_MAX);
const scratchLanes: number[] = [];

/** Per lane: count, and the name with the highest count (ties: lower id, so it is deterministic). */
export function encodeLanes(hist: Map<number, number>): Int32Array {
  return encodeLanesArrays(Float64Array.from(hist.keys()), Int32Array.from(hist.values()), hist.size);
}

/** encodeLanes over parallel arrays of the first n hist keys and counts. */
function encodeLanesArrays(keys: Float64Array, counts: Int32Array, n: number): Int32Array {
  scratchLanes.length = 0;
  for (let k = 0; k < n; k++) {
    const key = keys[k];
    const count = counts[k];
    const lane = key % LANES_MAX;
    const name = (key - lane) / LANES_MAX;
    if (scratchCount[lane] === 0) {
      scratchLanes.push(lane);
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
  scratchLanes.sort((x, y) => x - y);
  const out = new Int32Array(scratchLanes.length * 4);
  for (let i = 0; i < scratchLanes.length; i++) {
    const lane = scratchLanes[i];
    out[i * 4] = lane;
    out[i * 4 + 1] = scratchCount[lane];
    out[i * 4 + 2] = scratchTop[lane];
    out[i * 4 + 3] = scratchTopCount[lane];
    scratchCount[lane] = 0;
  }
  return out;
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

function addInto(into: Map<number, number>, from: Map<number, number>): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}

interface Level {
  block: number;
  hist: Map<number, number>;
}

const FINEST_SIZE = 2 ** BIN_LOG2_MIN;

export class BinPyramid {
  /**
   * The finest level's histogram lives in two small arrays searched linearly (a block of 32
   * events has few distinct (lane, name) pairs): a Map per event was the recorder's hot spot.
   * levels[0].hist stays empty; levels[0].block is the finest block.
   */
  readonly #fineKeys = new Float64Array(FINEST_SIZE);
  readonly #fineCounts = new Int32Array(FINEST_SIZE);
  #fineN = 0;
  readonly #levels: Level[] = [];
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
    for (let k = BIN_LOG2_MIN; k <= BIN_LOG2_MAX; k++) this.#levels.push({ block: 0, hist: new Map() });
  }

  /** Counts one event; seqs must arrive in increasing order. */
  add(seq: number, lane: number, name: number, status: number): void {
    assert(lane < LANES_MAX, `lane ${lane} out of range`);
    const finest = this.#levels[0];
    const block = Math.floor(seq / 2 ** BIN_LOG2_MIN);
    if (block !== finest.block) this.#advance(0, block);
    const key = name * LANES_MAX + lane;
    const keys = this.#fineKeys;
    let k = 0;
    while (k < this.#fineN && keys[k] !== key) k++;
    if (k === this.#fineN) {
      keys[k] = key;
      this.#fineCounts[k] = 0;
      this.#fineN++;
    }
    this.#fineCounts[k]++;
    if (status !== 0) this.#bumpStatus(seq, status, 1);
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
   * Level i moves to `block`: its current block is finished, emitted and folded into level i+1.
   * Invariant kept here: levels[i+1].block === floor(levels[i].block / 2), so a parent always
   * holds exactly its finished children and partialRows can stack the partial blocks.
   */
  #advance(i: number, block: number): void {
    const lv = this.#levels[i];
    const parent = i + 1 < this.#levels.length ? this.#levels[i + 1] : null;
    if (i === 0 && this.#fineN > 0) {
      this.rows.push({ sizeLog2: BIN_LOG2_MIN, block: lv.block, lanes: encodeLanesArrays(this.#fineKeys, this.#fineCounts, this.#fineN) });
      const ph = parent!.hist;
      for (let k = 0; k < this.#fineN; k++) ph.set(this.#fineKeys[k], (ph.get(this.#fineKeys[k]) ?? 0) + this.#fineCounts[k]);
      this.#fineN = 0;
    } else if (lv.hist.size > 0) {
      this.#emit(i, lv.block, lv.hist);
      if (parent !== null) addInto(parent.hist, lv.hist);
    }
    lv.block = block;
    lv.hist = new Map();
    if (parent !== null && Math.floor(block / 2) !== parent.block) this.#advance(i + 1, Math.floor(block / 2));
  }

  #emit(i: number, block: number, hist: Map<number, number>): void {
    const sizeLog2 = BIN_LOG2_MIN + i;
    this.rows.push({ sizeLog2, block, lanes: encodeLanes(hist) });
    if (sizeLog2 === HIST_LOG2) this.histRows.push(this.#histRow(block, hist));
  }

  #histRow(block: number, hist: Map<number, number>): HistRow {
    const names = new Map<number, number>();
    for (const [key, count] of hist) {
      const name = Math.floor(key / LANES_MAX);
      names.set(name, (names.get(name) ?? 0) + count);
    }
    const encoded = encodePairs(names);
    this.#namesByBlock.set(block, encoded);
    return { block, names: encoded, statuses: encodePairs(this.#statusByBlock.get(block) ?? new Map()) };
  }

  /**
   * Rows for the blocks still filling, each level holding its finished children plus the finer
   * levels' partial blocks. Written as upserts; the finished block overwrites them later.
   */
  partialRows(): void {
    let cum = new Map<number, number>();
    for (let k = 0; k < this.#fineN; k++) cum.set(this.#fineKeys[k], this.#fineCounts[k]);
    for (let i = 0; i < this.#levels.length; i++) {
      const lv = this.#levels[i];
      const merged = new Map(lv.hist);
      addInto(merged, cum);
      cum = merged;
      if (merged.size > 0) this.#emit(i, lv.block, merged);
    }
  }

  /** Takes the rows produced since the last call. */
  take(): { rows: BinRow[]; histRows: HistRow[] } {
    const out = { rows: this.rows.splice(0), histRows: this.histRows.splice(0) };
    return out;
  }
}
