// Recording a run: beginRun, then writeChunk per EventChunk (shared/event.ts), then finishRun.
//
// Synchronous, for use inside a worker thread with its own connection. Each chunk is ONE
// transaction: its strings, its events (multi-row INSERTs of EVENTS_PER_STATEMENT rows, about
// 1.75x a single-row insert, ../reference/toolchain.md section 3), the end patches of spans begun
// in earlier chunks, the finished timeline bins, the keyframes (and snapshots) due, and the
// run's event count. So a killed process loses at most the chunk in flight and the stored count
// always matches the stored events (durability: db.ts).
//
// Cost budget (PRODUCT.md section 5: recording at >= 0.8 of a bare single-row insert of the same
// rows). The events' own multi-row insert is cheaper than the bare insert; everything derived
// must fit in the difference. So the derived work runs as column loops over the chunk (content
// hash, bins, page writes), counts in typed arrays, and writes few rows: bins 16 blocks to a row,
// keyframe pages copied from their encoded form, snapshots geometrically spaced (page_state.ts).
import { TREE_ID, type EventChunk } from '../../shared/event.ts';
import type { RunMeta, RunOutcome, RunStatus, RunTimings } from '../../shared/store_types.ts';
import { BinPyramid, LANES_MAX, LAYER_COUNT, type BinRow, type HistRow } from './bins.ts';
import { ContentHash } from './content_hash.ts';
import { RUNS_MAX, assert, eventKey, nowIso, prepared, type WritableDB } from './db.ts';
import { KEYFRAME_EVENTS, KEYFRAME_WRITES, PAGE_ENTRIES, PageState, SNAPSHOT_ENTRIES_MIN, SNAPSHOT_LIVE_RATIO } from './page_state.ts';
import type Database from 'better-sqlite3';

export const EVENTS_PER_STATEMENT = 100;
/** SQLite's default, restored when a run is finished. */
const WAL_AUTOCHECKPOINT_PAGES = 1000;
const EVENT_COLUMNS = 15;
const EVENT_INSERT = 'INSERT INTO events (key, thread, layer, name, parent, end_seq, step, op, gfn, level, tree, old, new, status, detail) VALUES ';

const SNAPSHOT_TREES = [TREE_ID.mirror, TREE_ID.direct, TREE_ID.sept];

/** A typed array's bytes, for binding as a BLOB without a copy. */
function bytes(a: Uint8Array | Int32Array | Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function multiRowSql(head: string, columns: number, rows: number): string {
  const one = '(' + new Array(columns).fill('?').join(',') + ')';
  return head + new Array(rows).fill(one).join(',');
}

export interface FinishInfo {
  status: Exclude<RunStatus, 'running'>;
  outcome: RunOutcome | null;
  metrics: unknown;
  /** EventSink.hash() of the run. */
  hash: string;
  timings?: RunTimings;
}

/** What the recorder knows about the run it is writing. */
interface Live {
  runId: number;
  keyBase: number;
  seqNext: number;
  stringsNext: number;
  threadCount: number;
  writes: number;
  writesSinceKeyframe: number;
  /** seq of the last keyframe (-1 before the first). */
  keyframeSeq: number;
  keyframes: number;
  /** Page entries stored by keyframes since the last snapshot (all versions). */
  entriesSinceSnapshot: number;
  hash: ContentHash;
  bins: BinPyramid;
  pages: PageState;
  /** Spans stored still open (end -1): seq -> [status, detail] as stored, until their patch. */
  open: Map<number, [number, number]>;
  recordMs: number;
}

export class Recorder {
  readonly #db: WritableDB;
  readonly #insertMany: Database.Statement;
  readonly #params: unknown[] = new Array(EVENTS_PER_STATEMENT * EVENT_COLUMNS);
  #live: Live | null = null;
  readonly #snapshotEntriesMin: number;
  readonly #writeChunkTx: (chunk: EventChunk) => void;

  /** `snapshotEntriesMin`: tests lower it to take snapshots in small runs (page_state.ts). */
  constructor(db: WritableDB, options: { snapshotEntriesMin?: number } = {}) {
    this.#db = db;
    this.#snapshotEntriesMin = options.snapshotEntriesMin ?? SNAPSHOT_ENTRIES_MIN;
    this.#insertMany = db.prepare(multiRowSql(EVENT_INSERT, EVENT_COLUMNS, EVENTS_PER_STATEMENT));
    this.#writeChunkTx = db.transaction((chunk: EventChunk) => this.#writeChunk(chunk));
  }

  get runId(): number {
    return this.#live?.runId ?? -1;
  }

  /** Inserts the run row (status `running`) and returns its id. */
  beginRun(meta: RunMeta): number {
    assert(this.#live === null, 'beginRun: a run is already being recorded');
    // Checkpoints (WAL -> database file, with an fsync) would otherwise run after any commit
    // that leaves the WAL over 1000 pages: every few chunks. While a run records there are none;
    // finishRun checkpoints once. Durability is unchanged: commits still land in the WAL (db.ts).
    this.#db.pragma('wal_autocheckpoint = 0');
    const scenarioName = meta.scenarioId === null ? '' : ((prepared(this.#db, 'SELECT name FROM scenarios WHERE id = ?').get(meta.scenarioId) as { name: string } | undefined)?.name ?? '');
    const info = prepared(
      this.#db,
      `INSERT INTO runs (scenario_id, scenario_name, scenario_json, design, seed, schedule_json, app_version, thread_names_json, status, keyframe_writes, page_entries, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)`,
    ).run(
      meta.scenarioId,
      scenarioName,
      meta.scenarioJson,
      meta.design,
      meta.seed,
      meta.schedule === null ? null : JSON.stringify(meta.schedule),
      meta.appVersion,
      JSON.stringify(meta.threadNames),
      KEYFRAME_WRITES,
      PAGE_ENTRIES,
      nowIso(),
    );
    const runId = Number(info.lastInsertRowid);
    assert(runId < RUNS_MAX, `run id ${runId} beyond RUNS_MAX`);
    assert(meta.threadNames.length * LAYER_COUNT <= LANES_MAX, 'too many threads for the lane encoding');
    this.#live = {
      runId,
      keyBase: eventKey(runId, 0),
      seqNext: 0,
      stringsNext: 1,
      threadCount: meta.threadNames.length,
      writes: 0,
      writesSinceKeyframe: 0,
      keyframeSeq: -1,
      keyframes: 0,
      entriesSinceSnapshot: 0,
      hash: new ContentHash(),
      bins: new BinPyramid(),
      pages: new PageState(),
      open: new Map(),
      recordMs: 0,
    };
    this.#live.hash.addString(0, '');
    prepared(this.#db, 'INSERT INTO run_strings (run_id, id, text) VALUES (?, 0, ?)').run(runId, '');
    return runId;
  }

  /** Stores one chunk in one transaction. Chunks must arrive in seq order, without gaps. */
  writeChunk(chunk: EventChunk): void {
    const live = this.#live;
    assert(live !== null, 'writeChunk before beginRun');
    const t0 = performance.now();
    this.#writeChunkTx(chunk);
    live.recordMs += performance.now() - t0;
  }

  #writeChunk(chunk: EventChunk): void {
    const live = this.#live!;
    assert(chunk.seqStart === live.seqNext, `chunk starts at ${chunk.seqStart}, expected ${live.seqNext}`);
    assert(chunk.stringsStart === live.stringsNext, `chunk strings start at ${chunk.stringsStart}, expected ${live.stringsNext}`);
    this.#insertStrings(live, chunk);
    this.#insertEvents(live, chunk);
    this.#applyPatches(live, chunk);
    live.hash.addChunk(chunk);
    for (let i = 0; i < chunk.count; i++) if (chunk.end[i] === -1) live.open.set(chunk.seqStart + i, [chunk.status[i], chunk.detail[i]]);
    live.bins.addChunk(chunk);
    this.#applyWrites(live, chunk);
    live.bins.partialRows();
    this.#insertBins(live, live.bins.take());
    live.seqNext += chunk.count;
    prepared(this.#db, 'UPDATE runs SET event_count = ?, write_count = ? WHERE id = ?').run(live.seqNext, live.writes, live.runId);
  }

  #insertStrings(live: Live, chunk: EventChunk): void {
    const stmt = prepared(this.#db, 'INSERT INTO run_strings (run_id, id, text) VALUES (?, ?, ?)');
    for (let i = 0; i < chunk.strings.length; i++) {
      const id = chunk.stringsStart + i;
      stmt.run(live.runId, id, chunk.strings[i]);
      live.hash.addString(id, chunk.strings[i]);
    }
    live.stringsNext += chunk.strings.length;
  }

  #insertEvents(live: Live, c: EventChunk): void {
    const p = this.#params;
    let n = 0;
    for (let i = 0; i < c.count; i++) {
      const b = n * EVENT_COLUMNS;
      const old = c.old[i];
      const nw = c.new[i];
      p[b] = live.keyBase + c.seqStart + i;
      p[b + 1] = c.thread[i];
      p[b + 2] = c.layer[i];
      p[b + 3] = c.name[i];
      p[b + 4] = c.parent[i];
      p[b + 5] = c.end[i];
      p[b + 6] = c.step[i];
      p[b + 7] = c.op[i];
      p[b + 8] = c.gfn[i];
      p[b + 9] = c.level[i];
      p[b + 10] = c.tree[i];
      p[b + 11] = Number.isNaN(old) ? null : old;
      p[b + 12] = Number.isNaN(nw) ? null : nw;
      p[b + 13] = c.status[i];
      p[b + 14] = c.detail[i];
      if (++n === EVENTS_PER_STATEMENT) {
        this.#insertMany.run(p);
        n = 0;
      }
    }
    // The tail, one statement of its own size (cached per size: at most EVENTS_PER_STATEMENT - 1).
    if (n > 0) prepared(this.#db, multiRowSql(EVENT_INSERT, EVENT_COLUMNS, n)).run(p.slice(0, n * EVENT_COLUMNS));
  }

  /**
   * Closes spans begun in an earlier chunk: endPatches [seq, end] pairs and statusPatches
   * [seq, statusId, detailId] triples (0 = unchanged). Each patched row is updated once, and the
   * content hash and status histogram trade the provisional values for the final ones.
   */
  #applyPatches(live: Live, c: EventChunk): void {
    const finals = new Map<number, [number, number, number]>();
    const current = (seq: number): [number, number, number] => {
      let f = finals.get(seq);
      if (f === undefined) {
        const open = live.open.get(seq);
        assert(open !== undefined, `patch for seq ${seq}, which is not an open span`);
        f = [-1, open[0], open[1]];
        finals.set(seq, f);
      }
      return f;
    };
    for (let i = 0; i < c.endPatches.length; i += 2) current(c.endPatches[i])[0] = c.endPatches[i + 1];
    for (let i = 0; i < c.statusPatches.length; i += 3) {
      const f = current(c.statusPatches[i]);
      if (c.statusPatches[i + 1] !== 0) f[1] = c.statusPatches[i + 1];
      if (c.statusPatches[i + 2] !== 0) f[2] = c.statusPatches[i + 2];
    }
    const stmt = prepared(this.#db, 'UPDATE events SET end_seq = ?, status = ?, detail = ? WHERE key = ?');
    for (const [seq, [end, status, detail]] of finals) {
      const [statusOld, detailOld] = live.open.get(seq)!;
      stmt.run(end, status, detail, live.keyBase + seq);
      live.hash.removeLate(seq, -1, statusOld, detailOld);
      live.hash.addLate(seq, end, status, detail);
      live.bins.patchStatus(seq, statusOld, status);
      if (end !== -1) live.open.delete(seq);
      else live.open.set(seq, [status, detail]);
    }
  }

  /** The page writes of the chunk, and a keyframe wherever one falls due. */
  #applyWrites(live: Live, c: EventChunk): void {
    const pages = live.pages;
    for (let i = 0; i < c.count; i++) {
      const seq = c.seqStart + i;
      const tree = c.tree[i];
      if (tree !== 0) {
        pages.apply(seq, tree, c.level[i], c.gfn[i], c.new[i]);
        live.writes++;
        live.writesSinceKeyframe++;
      }
      if (live.writesSinceKeyframe >= KEYFRAME_WRITES || seq - live.keyframeSeq >= KEYFRAME_EVENTS) this.#keyframe(live, seq);
    }
  }

  /**
   * Keyframe `live.keyframes`: the state after every write with seq <= `seq`, as the pages
   * written since the previous keyframe; and a full snapshot when one is due (page_state.ts).
   */
  #keyframe(live: Live, seq: number): void {
    const kf = live.keyframes++;
    prepared(this.#db, 'INSERT INTO keyframes (run_id, kf, seq) VALUES (?, ?, ?)').run(live.runId, kf, seq);
    const stmt = prepared(this.#db, 'INSERT INTO keyframe_pages (run_id, tree, level, page, kf, entries) VALUES (?, ?, ?, ?, ?, ?)');
    const dirty = live.pages.takeDirty();
    for (const p of dirty.pages) stmt.run(live.runId, p.tree, p.level, p.page, kf, bytes(p.entries));
    live.entriesSinceSnapshot += dirty.entries;
    live.writesSinceKeyframe = 0;
    live.keyframeSeq = seq;
    if (live.entriesSinceSnapshot >= Math.max(this.#snapshotEntriesMin, live.pages.entryCount * SNAPSHOT_LIVE_RATIO)) {
      this.#snapshot(live, kf);
      live.entriesSinceSnapshot = 0;
    }
  }

  /** Every tree's live entries at keyframe `kf`, one row per tree (state_query.ts reads them). */
  #snapshot(live: Live, kf: number): void {
    const stmt = prepared(this.#db, 'INSERT INTO state_snapshots (run_id, kf, tree, entries, levels, gfns, vals) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const tree of SNAPSHOT_TREES) {
      const s = live.pages.snapshot(tree);
      stmt.run(live.runId, kf, tree, s.gfn.length, bytes(s.level), bytes(s.gfn), bytes(s.value));
    }
  }

  #insertBins(live: Live, taken: { rows: BinRow[]; histRows: HistRow[] }): void {
    const bins = prepared(this.#db, 'INSERT OR REPLACE INTO event_bin_rows (run_id, size_log2, row, blocks) VALUES (?, ?, ?, ?)');
    for (const r of taken.rows) bins.run(live.runId, r.sizeLog2, r.row, bytes(r.blocks));
    const hist = prepared(this.#db, 'INSERT OR REPLACE INTO event_hist (run_id, block, names, statuses) VALUES (?, ?, ?, ?)');
    for (const h of taken.histRows) {
      hist.run(live.runId, h.block, Buffer.from(h.names.buffer, h.names.byteOffset, h.names.byteLength), Buffer.from(h.statuses.buffer, h.statuses.byteOffset, h.statuses.byteLength));
    }
  }

  /**
   * Closes the run: status, outcome, metrics, the simulation's hash, the store's content hash
   * and timings. The recorder is then free for another run.
   */
  finishRun(runId: number, info: FinishInfo): void {
    const live = this.#live;
    assert(live !== null && live.runId === runId, `finishRun(${runId}) but recording ${live?.runId ?? 'nothing'}`);
    const t0 = performance.now();
    const timings: RunTimings = { ...(info.timings ?? {}) };
    this.#db.transaction(() => {
      timings.recordMs = Math.round(live.recordMs + performance.now() - t0);
      prepared(
        this.#db,
        `UPDATE runs SET status = ?, outcome_json = ?, metrics_json = ?, event_hash = ?, content_hash = ?, event_count = ?, write_count = ?,
           finished_at = ?, timings_json = ? WHERE id = ?`,
      ).run(
        info.status,
        info.outcome === null ? null : JSON.stringify(info.outcome),
        JSON.stringify(info.metrics ?? null),
        info.hash,
        live.hash.digest(),
        live.seqNext,
        live.writes,
        nowIso(),
        JSON.stringify(timings),
        runId,
      );
    })();
    this.#db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    this.#live = null;
  }

  /**
   * Moves a finished run's WAL into the database file now (the fsync of db.ts), rather than in
   * whichever later commit finds the WAL over the autocheckpoint size: a run job calls it after
   * finishRun, off the UI's connection. Not part of recording: the run was durable in the WAL
   * at its last commit, as a bare insert's rows are at theirs (the bench times it apart).
   */
  checkpoint(): void {
    assert(this.#live === null, 'checkpoint while a run is recording');
    if (!this.#db.inTransaction) this.#db.pragma('wal_checkpoint(PASSIVE)');
  }
}
