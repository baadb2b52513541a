// The engine's event stream, held in columnar chunks (see shared/event.ts for why).
//
// Nesting is automatic: each thread has a stack of open spans, and an event's parent is the top
// of its thread's stack. A span is opened with begin() and closed with end(); instant() emits an
// event that contains nothing. The stream hash covers every field but `end`, which follows from
// the nesting; it is two 32-bit FNV-1a lanes over the same words, updated as events are emitted,
// so it costs no second pass.
import { LAYER_ID, TREE_ID, chunk_event, type EventChunk, type Layer, type SimEvent, type Tree } from '../../shared/event.ts';
import type { U64 } from '../../shared/u64.ts';

export interface EventSinkOptions {
  /** Events per chunk handed to onChunk. */
  chunkSize?: number;
  /** Receives each full chunk, and the last partial one at finish(). */
  onChunk?: (chunk: EventChunk) => void;
  /** Keep every chunk in memory so events() can return them (tests, small runs, the CLI). */
  keep?: boolean;
}

const FNV_PRIME = 16777619;

/**
 * Scratch for the words of one event's hash (at most 5 + 3 * 2 + 2). Stored as int32: every
 * use (`^`, `&`, `>>>`) converts to 32 bits first, so the hash is the same as on the numbers.
 */
const HASH_WORDS = new Int32Array(16);

/** A number's hash words, as #mixNumber mixes them: NaN is one word, else low then high 32 bits. */
function putNumberWords(words: Int32Array, n: number, v: number): number {
  if (v !== v) {
    words[n] = 0x7ff80000;
    return n + 1;
  }
  words[n] = v >>> 0;
  words[n + 1] = Math.floor(v / 4294967296) | 0;
  return n + 2;
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
  onTreeWrite: ((tree: number, gfn: number, level: number, seq: number) => void) | null = null;
  /** The whole string table of the run; id 0 is ''. */
  readonly strings: string[] = [''];
  readonly #stringIds = new Map<string, number>([['', 0]]);
  readonly #onChunk: ((chunk: EventChunk) => void) | undefined;
  readonly #kept: EventChunk[] | null;
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
  #h1 = 0x811c9dc5;
  #h2 = 0x01000193 ^ 0x5bd1e995;

  constructor(options: EventSinkOptions = {}) {
    this.chunkSize = options.chunkSize ?? 16384;
    this.#onChunk = options.onChunk;
    this.#kept = options.keep ? [] : null;
    this.#chunk = newChunk(0, this.chunkSize, 1);
  }

  /** Sets the scenario operation that thread's following events belong to (-1: none). */
  setOp(thread: number, op: number): void {
    this.#threadOp[thread] = op;
  }

  /** Interns a string, returning its id. */
  intern(s: string): number {
    let id = this.#stringIds.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.#stringIds.set(s, id);
      this.#chunk.strings.push(s);
    }
    return id;
  }

  /** Opens a span on `thread` and returns its seq. */
  begin(thread: number, layer: Layer, name: string, gfn = -1, level = 0, detail = ''): number {
    const seq = this.#emit(thread, LAYER_ID[layer], name, gfn, level, 0, NaN, NaN, '', detail, -1);
    const stack = this.#stack(thread);
    stack.push(seq);
    if (stack.length === 2) this.deepThreads++;
    return seq;
  }

  /** Closes the innermost open span of `thread`, optionally setting its status and detail. */
  end(thread: number, status = '', detail = ''): void {
    const stack = this.#stack(thread);
    const seq = stack.pop();
    if (seq === undefined) throw new Error(`EventSink.end: thread ${thread} has no open span`);
    if (stack.length === 1) this.deepThreads--;
    const last = this.count - 1;
    const c = this.#chunk;
    const statusId = status === '' ? 0 : this.intern(status);
    const detailId = detail === '' ? 0 : this.intern(detail);
    if (seq >= c.seqStart) {
      c.end[seq - c.seqStart] = last;
      if (statusId !== 0) c.status[seq - c.seqStart] = statusId;
      if (detailId !== 0) c.detail[seq - c.seqStart] = detailId;
    } else {
      // The span's row left in an earlier chunk: the recorder patches it.
      c.endPatches.push(seq, last);
      if (statusId !== 0 || detailId !== 0) c.statusPatches.push(seq, statusId, detailId);
    }
    if (statusId !== 0) this.#mix(statusId ^ 0x7f4a7c15);
    if (detailId !== 0) this.#mix(detailId ^ 0x2545f491);
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
    name: string,
    gfn = -1,
    level = 0,
    tree: Tree = 'none',
    old: U64 | null = null,
    nw: U64 | null = null,
    status = '',
    detail = '',
  ): number {
    const treeId = TREE_ID[tree];
    const seq = this.#emit(thread, LAYER_ID[layer], name, gfn, level, treeId, old ?? NaN, nw ?? NaN, status, detail, 0);
    if (treeId !== 0 && this.onTreeWrite !== null) this.onTreeWrite(treeId, gfn, level, seq);
    return seq;
  }

  /** Hands the last partial chunk to onChunk. Call once, at the end of the run. */
  finish(): void {
    if (this.#chunk.count > 0 || this.#chunk.endPatches.length > 0 || this.#chunk.strings.length > 0) this.#flush();
  }

  /** The stream hash: 16 hex digits. */
  hash(): string {
    return (this.#h1 >>> 0).toString(16).padStart(8, '0') + (this.#h2 >>> 0).toString(16).padStart(8, '0');
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

  #stack(thread: number): number[] {
    let s = this.#stacks[thread];
    if (s === undefined) {
      s = [];
      this.#stacks[thread] = s;
    }
    return s;
  }

  #mix(word: number): void {
    this.#h1 = Math.imul(this.#h1 ^ (word & 0xffff), FNV_PRIME);
    this.#h1 = Math.imul(this.#h1 ^ (word >>> 16), FNV_PRIME);
    this.#h2 = Math.imul(this.#h2 ^ word, 0x5bd1e995);
    this.#h2 ^= this.#h2 >>> 15;
  }

  #emit(
    thread: number,
    layer: number,
    name: string,
    gfn: number,
    level: number,
    tree: number,
    old: number,
    nw: number,
    status: string,
    detail: string,
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
    const nameId = this.intern(name);
    const statusId = status === '' ? 0 : this.intern(status);
    const detailId = detail === '' ? 0 : this.intern(detail);
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
    // The same words, in the same order, as #mix and #mixNumber, hashed on locals (the
    // hottest lines of a run).
    const words = HASH_WORDS;
    words[0] = thread | (layer << 8) | (tree << 12) | (level << 16);
    words[1] = nameId;
    words[2] = parent;
    words[3] = step;
    words[4] = op;
    let n = 5;
    n = putNumberWords(words, n, gfn);
    n = putNumberWords(words, n, old);
    n = putNumberWords(words, n, nw);
    words[n++] = statusId;
    words[n++] = detailId;
    let h1 = this.#h1;
    let h2 = this.#h2;
    for (let k = 0; k < n; k++) {
      const w = words[k];
      h1 = Math.imul(h1 ^ (w & 0xffff), FNV_PRIME);
      h1 = Math.imul(h1 ^ (w >>> 16), FNV_PRIME);
      h2 = Math.imul(h2 ^ w, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    this.#h1 = h1;
    this.#h2 = h2;
    return seq;
  }

  #flush(): void {
    const full = this.#chunk;
    this.#chunk = newChunk(this.count, this.chunkSize, this.strings.length);
    if (this.#onChunk) this.#onChunk(full);
    if (this.#kept) this.#kept.push(full);
  }
}
