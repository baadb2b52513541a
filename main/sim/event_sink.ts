// The engine's event stream, held in columnar chunks (see shared/event.ts for why).
//
// Nesting is automatic: each thread has a stack of open spans, and an event's parent is the top
// of its thread's stack. A span is opened with begin() and closed with end(); instant() emits an
// event that contains nothing. The stream hash covers every field but `end`, which follows from
// the nesting; it is one 32-bit lane (the fields' words in pairs, a multiply per pair, a xorshift
// per event), updated as events are emitted, so it costs no second pass. It tells runs apart for
// determinism checks; it is not the store's content hash.
//
// Chunk reuse. With `reuseChunks`, a chunk handed to onChunk is written over once onChunk
// returns: the consumer must copy what it needs before returning (the Recorder does, inside its
// transaction) and must not keep the chunk or its arrays. `keep` never reuses: its chunks are the
// run's own copies. A fresh chunk for every 16k events is a megabyte of typed arrays, and
// allocating it was a tenth of a run's time in garbage collection.
import { LAYER_ID, TREE_ID, chunk_event, type EventChunk, type Layer, type SimEvent, type Tree } from '../../shared/event.ts';
import type { U64 } from '../../shared/u64.ts';

export interface EventSinkOptions {
  /** Events per chunk handed to onChunk. */
  chunkSize?: number;
  /** Receives each full chunk, and the last partial one at finish(). */
  onChunk?: (chunk: EventChunk) => void;
  /** Keep every chunk in memory so events() can return them (tests, small runs, the CLI). */
  keep?: boolean;
  /**
   * Reuse a chunk's arrays once onChunk has returned (see the file comment); ignored with
   * `keep`. Only for a consumer that copies the chunk inside onChunk.
   */
  reuseChunks?: boolean;
}

/** The hash lane's multiplier (MurmurHash2's m). */
const HASH_M = 0x5bd1e995;

/** One word into the hash lane: xor, multiply, xorshift (int32 throughout). */
function mixWord(h: number, w: number): number {
  h = Math.imul(h ^ w, HASH_M);
  return h ^ (h >>> 15);
}

/**
 * Scratch for the three numbers of an event (gfn, old, new), read back as six int32 words: the
 * low and high halves of each double's bits (little-endian, as every platform we ship on),
 * without float arithmetic. Deterministic: the same number has the same bits (null entries are
 * the one NaN literal).
 */
const NUMBERS = new Float64Array(3);
const NUMBER_WORDS = new Int32Array(NUMBERS.buffer);

/**
 * Two words as one: for either word fixed, a bijection of the other. Neither depends on the
 * lane, so the multiply runs beside the lane's own.
 */
function pairWord(a: number, b: number): number {
  return (Math.imul(a, 0x9e3779b1) + b) | 0;
}

/** MurmurHash3's fmix32: spreads every input bit over the output, for the printed hash. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function newChunk(seqStart: number, size: number, stringsStart: number): EventChunk {
  return {
    seqStart,
    count: 0,
    thread: new Int32Array(size),
    layer: new Uint8Array(size),
    name: new Int32Array(size),
    parent: new Int32Array(size),
    end: new Int32Array(size),
    step: new Int32Array(size),
    op: new Int32Array(size),
    gfn: new Float64Array(size),
    level: new Uint8Array(size),
    tree: new Uint8Array(size),
    old: new Float64Array(size),
    new: new Float64Array(size),
    status: new Int32Array(size),
    detail: new Int32Array(size),
    stringsStart,
    strings: [],
    endPatches: [],
    statusPatches: [],
  };
}

/**
 * LAYER_ID[layer] as a switch: a keyed load with a different string key at each call site is a
 * dictionary look-up, a switch on interned constants is a few compares.
 */
function layerId(layer: Layer): number {
  switch (layer) {
    case 'op': return LAYER_ID.op;
    case 'mmu': return LAYER_ID.mmu;
    case 'hook': return LAYER_ID.hook;
    case 'tdx': return LAYER_ID.tdx;
    case 'check': return LAYER_ID.check;
  }
}

/** TREE_ID[tree] as a switch (see layerId). */
function treeId(tree: Tree): number {
  switch (tree) {
    case 'none': return TREE_ID.none;
    case 'mirror': return TREE_ID.mirror;
    case 'direct': return TREE_ID.direct;
    case 'sept': return TREE_ID.sept;
  }
}

/** `c` emptied to start at seqStart (its arrays kept; see #flush). */
function resetChunk(c: EventChunk, seqStart: number, stringsStart: number): EventChunk {
  c.seqStart = seqStart;
  c.count = 0;
  c.stringsStart = stringsStart;
  c.strings = [];
  c.endPatches = [];
  c.statusPatches = [];
  return c;
}

/**
 * A string the hot path names an event (or its status or detail) with, made once at module
 * load: its id is looked up once per sink, not once per event. The id is still the sink's own
 * (assigned at first use, like any interned string), so the stream and its hash are the same as
 * with the plain string.
 */
export class EventString {
  readonly text: string;
  /** The serial of the sink `id` belongs to (0: none yet). */
  sinkSerial = 0;
  id = 0;
  constructor(text: string) {
    this.text = text;
  }
}

/** A name, status or detail: a plain string, or an EventString for the hot path. */
export type EventText = string | EventString;

/** intern()'s front cache has INTERN_CACHE_MASK + 1 slots. */
const INTERN_CACHE_MASK = 63;

/** Serials of the sinks made so far, for EventString's cache (not a reference: sinks are freed). */
let sinksMade = 0;

export class EventSink {
  readonly chunkSize: number;
  /** Scheduler step, set by the scheduler before each thread step. */
  step = 0;
  /** Total events emitted. */
  count = 0;
  /**
   * Told of every event that writes a page-table entry (tree != 'none'), right after it is
   * emitted: the invariant checker's feed of entries to re-check.
   */
  onTreeWrite: ((tree: number, gfn: number, level: number, seq: number, thread: number) => void) | null = null;
  /** The whole string table of the run; id 0 is ''. */
  readonly strings: string[] = [''];
  readonly #stringIds = new Map<string, number>([['', 0]]);
  /** intern()'s front cache: by slot, a string and its id ('' and 0 until filled). */
  readonly #internCacheText: string[] = new Array<string>(INTERN_CACHE_MASK + 1).fill('');
  readonly #internCacheId = new Int32Array(INTERN_CACHE_MASK + 1);
  readonly #onChunk: ((chunk: EventChunk) => void) | undefined;
  readonly #kept: EventChunk[] | null;
  readonly #reuseChunks: boolean;
  #chunk: EventChunk;
  /** Per thread: the stack of open span seqs. */
  readonly #stacks: number[][] = [];
  /**
   * Threads with more than one open span, i.e. inside a kernel function and not just inside
   * their operation's span: the invariant checker's quiescence test, kept as spans open and
   * close so it costs O(1) per step.
   */
  deepThreads = 0;
  /** Per thread: the scenario operation ordinal its events belong to. */
  readonly #threadOp: number[] = [];
  /**
   * The hash lane, an int32 from the start (the FNV offset basis | 0, the same lane): a field
   * whose first value is not a small integer is stored as a boxed double for good.
   */
  #h = 0x811c9dc5 | 0;
  readonly #serial = ++sinksMade;

  constructor(options: EventSinkOptions = {}) {
    this.chunkSize = options.chunkSize ?? 16384;
    this.#onChunk = options.onChunk;
    this.#kept = options.keep ? [] : null;
    this.#reuseChunks = options.reuseChunks === true && !options.keep;
    this.#chunk = newChunk(0, this.chunkSize, 1);
  }

  /** Sets the scenario operation that thread's following events belong to (-1: none). */
  setOp(thread: number, op: number): void {
    this.#threadOp[thread] = op;
  }

  /** Interns a string, returning its id. */
  intern(s: string): number {
    // Most names are the same few literals event after event: a direct-mapped cache keyed by
    // length and last character answers them with one compare, where the Map hashes and probes.
    const slot = s.length === 0 ? 0 : (s.length * 31 + s.charCodeAt(s.length - 1)) & INTERN_CACHE_MASK;
    if (this.#internCacheText[slot] === s) return this.#internCacheId[slot];
    let id = this.#stringIds.get(s);
    if (id !== undefined) {
      this.#internCacheText[slot] = s;
      this.#internCacheId[slot] = id;
    } else {
      id = this.strings.length;
      this.strings.push(s);
      this.#stringIds.set(s, id);
      this.#chunk.strings.push(s);
    }
    return id;
  }

  /**
   * The id of a name, status or detail; '' is 0. The common cases are the first two lines and the
   * rest is out of line (#textIdSlow): V8 inlines by bytecode size, and #emit uses this three
   * times per event.
   */
  #textId(text: EventText): number {
    if (text === '') return 0;
    if (typeof text !== 'string' && text.sinkSerial === this.#serial) return text.id;
    return this.#textIdSlow(text);
  }

  #textIdSlow(text: EventText): number {
    if (typeof text === 'string') return this.intern(text);
    text.id = this.intern(text.text);
    text.sinkSerial = this.#serial;
    return text.id;
  }

  /** Opens a span on `thread` and returns its seq. */
  begin(thread: number, layer: Layer, name: EventText, gfn = -1, level = 0, detail: EventText = ''): number {
    const seq = this.#emit(thread, layerId(layer), name, gfn, level, 0, NaN, NaN, '', detail, -1);
    const stack = this.#stack(thread);
    stack.push(seq);
    if (stack.length === 2) this.deepThreads++;
    return seq;
  }

  /** Closes the innermost open span of `thread`, optionally setting its status and detail. */
  end(thread: number, status: EventText = '', detail: EventText = ''): void {
    const stack = this.#stack(thread);
    const seq = stack.pop();
    if (seq === undefined) throw new Error(`EventSink.end: thread ${thread} has no open span`);
    if (stack.length === 1) this.deepThreads--;
    const last = this.count - 1;
    const c = this.#chunk;
    const statusId = this.#textId(status);
    const detailId = this.#textId(detail);
    if (seq >= c.seqStart) {
      c.end[seq - c.seqStart] = last;
      if (statusId !== 0) c.status[seq - c.seqStart] = statusId;
      if (detailId !== 0) c.detail[seq - c.seqStart] = detailId;
    } else {
      // The span's row left in an earlier chunk: the recorder patches it.
      c.endPatches.push(seq, last);
      if (statusId !== 0 || detailId !== 0) c.statusPatches.push(seq, statusId, detailId);
    }
    if (statusId !== 0) this.#h = mixWord(this.#h, statusId ^ 0x7f4a7c15);
    if (detailId !== 0) this.#h = mixWord(this.#h, detailId ^ 0x2545f491);
  }

  /** Closes every open span of `thread` (an aborted operation). */
  endAll(thread: number): void {
    while (this.#stack(thread).length > 0) this.end(thread);
  }

  /** Depth of thread's open spans. */
  depth(thread: number): number {
    return this.#stack(thread).length;
  }

  /** Emits an event that contains nothing and returns its seq. */
  instant(
    thread: number,
    layer: Layer,
    name: EventText,
    gfn = -1,
    level = 0,
    tree: Tree = 'none',
    old: U64 | null = null,
    nw: U64 | null = null,
    status: EventText = '',
    detail: EventText = '',
  ): number {
    const tid = treeId(tree);
    const seq = this.#emit(thread, layerId(layer), name, gfn, level, tid, old ?? NaN, nw ?? NaN, status, detail, 0);
    if (tid !== 0 && this.onTreeWrite !== null) this.onTreeWrite(tid, gfn, level, seq, thread);
    return seq;
  }

  /** Hands the last partial chunk to onChunk. Call once, at the end of the run. */
  finish(): void {
    if (this.#chunk.count > 0 || this.#chunk.endPatches.length > 0 || this.#chunk.strings.length > 0) this.#flush();
  }

  /** The stream hash: 16 hex digits (the lane finalized twice, the second time with the event count). */
  hash(): string {
    const hi = fmix32(this.#h);
    const lo = fmix32(this.#h ^ Math.imul(this.count | 0, HASH_M));
    return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
  }

  /** Every event so far, decoded (needs `keep`); open spans have end -1. */
  events(): SimEvent[] {
    if (!this.#kept) throw new Error('EventSink.events: constructed without keep');
    const out: SimEvent[] = [];
    const chunks = [...this.#kept, this.#chunk];
    const patches = new Map<number, number>();
    const statusPatches = new Map<number, [number, number]>();
    for (const c of chunks) {
      for (let i = 0; i < c.endPatches.length; i += 2) patches.set(c.endPatches[i], c.endPatches[i + 1]);
      for (let i = 0; i < c.statusPatches.length; i += 3) statusPatches.set(c.statusPatches[i], [c.statusPatches[i + 1], c.statusPatches[i + 2]]);
    }
    for (const c of chunks) {
      for (let i = 0; i < c.count; i++) {
        const e = chunk_event(c, i, this.strings);
        const patched = patches.get(e.seq);
        if (patched !== undefined) e.end = patched;
        const sp = statusPatches.get(e.seq);
        if (sp !== undefined) {
          if (sp[0] !== 0) e.status = this.strings[sp[0]];
          if (sp[1] !== 0) e.detail = this.strings[sp[1]];
        }
        out.push(e);
      }
    }
    return out;
  }

  /** The thread's stack of open span seqs (#newStack makes it at first use, out of line). */
  #stack(thread: number): number[] {
    return this.#stacks[thread] ?? this.#newStack(thread);
  }

  #newStack(thread: number): number[] {
    const s: number[] = [];
    this.#stacks[thread] = s;
    return s;
  }

  #emit(
    thread: number,
    layer: number,
    name: EventText,
    gfn: number,
    level: number,
    tree: number,
    old: number,
    nw: number,
    status: EventText,
    detail: EventText,
    endOffset: number,
  ): number {
    let c = this.#chunk;
    if (c.count === this.chunkSize) {
      this.#flush();
      c = this.#chunk;
    }
    const seq = this.count++;
    const i = c.count++;
    const stack = this.#stack(thread);
    const parent = stack.length > 0 ? stack[stack.length - 1] : -1;
    const nameId = this.#textId(name);
    const statusId = this.#textId(status);
    const detailId = this.#textId(detail);
    const op = this.#threadOp[thread] ?? -1;
    const step = this.step;
    c.thread[i] = thread;
    c.layer[i] = layer;
    c.name[i] = nameId;
    c.parent[i] = parent;
    c.end[i] = endOffset === 0 ? seq : -1;
    c.step[i] = step;
    c.op[i] = op;
    c.gfn[i] = gfn;
    c.level[i] = level;
    c.tree[i] = tree;
    c.old[i] = old;
    c.new[i] = nw;
    c.status[i] = statusId;
    c.detail[i] = detailId;
    // Every field but `end`, in a fixed order.
    NUMBERS[0] = gfn;
    NUMBERS[1] = old;
    NUMBERS[2] = nw;
    const w = NUMBER_WORDS;
    // Words go in pairs (pairWord), so the lane's serial chain of multiplies is half as long.
    let h = this.#h;
    h = Math.imul(h ^ pairWord(thread | (layer << 8) | (tree << 12) | (level << 16), nameId), HASH_M);
    h = Math.imul(h ^ pairWord(parent, step), HASH_M);
    h = Math.imul(h ^ pairWord(op, statusId), HASH_M);
    h = Math.imul(h ^ pairWord(detailId, w[0]), HASH_M);
    h = Math.imul(h ^ pairWord(w[1], w[2]), HASH_M);
    h = Math.imul(h ^ pairWord(w[3], w[4]), HASH_M);
    h = Math.imul(h ^ w[5], HASH_M);
    this.#h = h ^ (h >>> 15);
    return seq;
  }

  #flush(): void {
    const full = this.#chunk;
    if (this.#onChunk) this.#onChunk(full);
    if (this.#kept) this.#kept.push(full);
    // Every row is written in full by #emit before anything reads it, so a reused chunk needs
    // no clearing: only its counters and lists start over.
    this.#chunk = this.#reuseChunks ? resetChunk(full, this.count, this.strings.length) : newChunk(this.count, this.chunkSize, this.strings.length);
  }
}
