// Events as the CLI prints them: one JSON object per line (`run --jsonl`, `events --jsonl`) or a
// table row, read from a recorded run page by page, so a run of any size costs one page of
// memory (EVENT_PAGE_EVENTS), never the whole run.
//
// Read from the store, not from the engine's chunks: a span's end and status are known only
// when it closes, and a span that straddles a chunk boundary is patched later (EventChunk's
// endPatches/statusPatches). The recorded events carry those patches, so every line is final.
import type { SeptwbApi } from '../../shared/api/api.ts';
import type { SimEvent } from '../../shared/event.ts';
import { u64_hex } from '../../shared/u64.ts';
import { unwrap } from './command.ts';

/** Events fetched per query (the Runs area's searchEvents allows up to 10,000). */
export const EVENT_PAGE_EVENTS = 4096;

/**
 * One event with PRODUCT.md section 3's fields first (`seq, thread, layer, name, parent, gfn,
 * level, old, new, status, detail`), then the rest of SimEvent. Entry values are 16-digit hex
 * strings; a missing value or gfn is null.
 */
export function eventJson(e: SimEvent) {
  return {
    seq: e.seq,
    thread: e.thread,
    layer: e.layer,
    name: e.name,
    parent: e.parent,
    gfn: e.gfn < 0 ? null : e.gfn,
    level: e.level,
    old: e.old === null ? null : u64_hex(e.old),
    new: e.new === null ? null : u64_hex(e.new),
    status: e.status,
    detail: e.detail,
    end: e.end,
    step: e.step,
    op: e.op,
    tree: e.tree,
  };
}

export interface EventRange {
  runId: number;
  /** First seq (inclusive). */
  seqFrom: number;
  /** Last seq + 1 (exclusive); Infinity for the end of the run. */
  seqTo: number;
  /** At most this many events. */
  limit: number;
}

/**
 * Calls `each` for every event of the range in seq order, fetching EVENT_PAGE_EVENTS at a time
 * through the service. Returns how many it passed. The loop is bounded by `limit` and by the run
 * (an empty page ends it).
 */
export async function forEachEvent(service: SeptwbApi, range: EventRange, each: (e: SimEvent) => void): Promise<number> {
  let passed = 0;
  let fromSeq = range.seqFrom;
  while (passed < range.limit && fromSeq < range.seqTo) {
    const want = Math.min(EVENT_PAGE_EVENTS, range.limit - passed);
    const page = unwrap(await service.searchEvents({ runId: range.runId, fromSeq, limit: want }));
    for (const e of page) {
      if (e.seq >= range.seqTo) return passed;
      each(e);
      passed++;
    }
    if (page.length < want) break;
    fromSeq = page[page.length - 1].seq + 1;
  }
  return passed;
}

/** Writes the range as JSON Lines through `write`, batching a page per call. */
export async function writeEventsJsonl(service: SeptwbApi, range: EventRange, write: (text: string) => void): Promise<number> {
  let lines: string[] = [];
  const count = await forEachEvent(service, range, (e) => {
    lines.push(JSON.stringify(eventJson(e)));
    if (lines.length >= EVENT_PAGE_EVENTS) {
      write(`${lines.join('\n')}\n`);
      lines = [];
    }
  });
  if (lines.length > 0) write(`${lines.join('\n')}\n`);
  return count;
}
