// The store's own hash over a run's stored content, so that an exported and re-imported run can
// be shown to read exactly the same. It is not EventSink.hash(): that one mixes span statuses
// at the moment a span closes, an order the stored events cannot reproduce (the store keeps the
// simulation's hash as metadata instead).
//
// Three lanes, combined at the end:
//   - strings, in id order;
//   - events in seq order, every column except the late ones;
//   - the late columns `end`, `status`, `detail`, as an order-independent sum of per-event mixes,
//     because the recorder learns their final values for a span that began in an earlier chunk
//     only from a later patch (EventChunk endPatches / statusPatches).
// Each lane is two 32-bit multiplicative mixes (as EventSink's), hex-printed as 16 digits each.
//
// The recorder feeds whole chunks (addChunk: one tight loop over the columns, no call per event);
// the exporter feeds rows read back (addEvent + addLate). Both give the same digest, tested.
import type { EventChunk } from '../../shared/event.ts';

const FNV_PRIME = 16777619;

function mixA(h: number, word: number): number {
  h = Math.imul(h ^ (word & 0xffff), FNV_PRIME);
  return Math.imul(h ^ (word >>> 16), FNV_PRIME);
}

function mixB(h: number, word: number): number {
  h = Math.imul(h ^ word, 0x5bd1e995);
  return h ^ (h >>> 15);
}

/** Murmur3's 32-bit finalizer: a good avalanche for the order-independent end sum. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A number that may exceed 32 bits (gfn, packed U64) or be NaN (absent), as two words. */
function splitNumber(words: Int32Array, at: number, v: number): void {
  if (Number.isNaN(v)) {
    words[at] = 0x7ff80000;
    words[at + 1] = 0x7ff80000;
    return;
  }
  words[at] = v >>> 0;
  words[at + 1] = Math.floor(v / 4294967296) | 0;
}

function lateMixA(seq: number, end: number, status: number, detail: number): number {
  return fmix(fmix(fmix(Math.imul(seq, 0x9e3779b1) ^ end) ^ status) + detail);
}

function lateMixB(seq: number, end: number, status: number, detail: number): number {
  return fmix(fmix(fmix((seq ^ 0x5bd1e995) + Math.imul(end, 0x85ebca6b)) + Math.imul(status, 0xc2b2ae35)) ^ detail);
}

export class ContentHash {
  #sa = 0x811c9dc5;
  #sb = 0x2f1c8a11;
  #ea = 0x811c9dc5;
  #eb = 0x01000193;
  #endA = 0;
  #endB = 0;

  addString(id: number, text: string): void {
    let a = mixA(this.#sa, id);
    let b = mixB(this.#sb, id);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = mixA(a, c);
      b = mixB(b, c);
    }
    this.#sa = mixA(a, text.length);
    this.#sb = mixB(b, text.length);
  }

  /**
   * One event, all columns but `end`, in seq order. Hand-inlined (no helper call per word): this
   * runs once per recorded event.
   */
  addEvent(
    seq: number,
    thread: number,
    layer: number,
    name: number,
    parent: number,
    step: number,
    op: number,
    gfn: number,
    level: number,
    tree: number,
    old: number,
    nw: number,
  ): void {
    const words = this.#words;
    words[0] = seq;
    words[1] = thread | (layer << 16) | (tree << 20) | (level << 24);
    words[2] = name;
    words[3] = parent;
    words[4] = step;
    words[5] = op;
    splitNumber(words, 6, gfn);
    splitNumber(words, 8, old);
    splitNumber(words, 10, nw);
    let a = this.#ea;
    let b = this.#eb;
    for (let i = 0; i < 12; i++) {
      const w = words[i];
      a = Math.imul(a ^ (w & 0xffff), FNV_PRIME);
      a = Math.imul(a ^ (w >>> 16), FNV_PRIME);
      b = Math.imul(b ^ w, 0x5bd1e995);
      b ^= b >>> 15;
    }
    this.#ea = a;
    this.#eb = b;
  }

  readonly #words = new Int32Array(12);

  /**
   * Every event of a chunk: addEvent and addLate with the chunk's (provisional) late columns,
   * per event in seq order. The same arithmetic as those two, hand-inlined over the columns: this
   * is the recorder's per-event hash cost.
   */
  addChunk(c: EventChunk): void {
    const words = this.#words;
    let a = this.#ea;
    let b = this.#eb;
    let endA = this.#endA;
    let endB = this.#endB;
    for (let i = 0; i < c.count; i++) {
      const seq = c.seqStart + i;
      words[0] = seq;
      words[1] = c.thread[i] | (c.layer[i] << 16) | (c.tree[i] << 20) | (c.level[i] << 24);
      words[2] = c.name[i];
      words[3] = c.parent[i];
      words[4] = c.step[i];
      words[5] = c.op[i];
      splitNumber(words, 6, c.gfn[i]);
      splitNumber(words, 8, c.old[i]);
      splitNumber(words, 10, c.new[i]);
      for (let k = 0; k < 12; k++) {
        const w = words[k];
        a = Math.imul(a ^ (w & 0xffff), FNV_PRIME);
        a = Math.imul(a ^ (w >>> 16), FNV_PRIME);
        b = Math.imul(b ^ w, 0x5bd1e995);
        b ^= b >>> 15;
      }
      endA = (endA + lateMixA(seq, c.end[i], c.status[i], c.detail[i])) | 0;
      endB = (endB + lateMixB(seq, c.end[i], c.status[i], c.detail[i])) | 0;
    }
    this.#ea = a;
    this.#eb = b;
    this.#endA = endA;
    this.#endB = endB;
  }

  /** The final late columns of event `seq` (end -1 for a span never closed); any order. */
  addLate(seq: number, end: number, status: number, detail: number): void {
    this.#endA = (this.#endA + lateMixA(seq, end, status, detail)) | 0;
    this.#endB = (this.#endB + lateMixB(seq, end, status, detail)) | 0;
  }

  /** Takes back an addLate (an open span's provisional values, replaced by a patch). */
  removeLate(seq: number, end: number, status: number, detail: number): void {
    this.#endA = (this.#endA - lateMixA(seq, end, status, detail)) | 0;
    this.#endB = (this.#endB - lateMixB(seq, end, status, detail)) | 0;
  }

  digest(): string {
    const h = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');
    return h(this.#sa) + h(this.#sb) + h(this.#ea) + h(this.#eb) + h(this.#endA) + h(this.#endB);
  }
}
