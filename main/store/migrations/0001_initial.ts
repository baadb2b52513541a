// Schema version 1: scenarios, runs, the per-run string table, events and the two derived
// structures the views read instead of scanning events (timeline bins, page-table keyframes).
//
// Events carry no run_id or seq column: their rowid is runId * 2^32 + seq (db.ts eventKey), so
// "run + seq range" is a rowid range and needs no index. They have no foreign key either (a
// cascade would need a run_id index on a million rows); deleteRun removes the key range.
// Run ids are AUTOINCREMENT: never reused, so a cache keyed by run id cannot go stale.
import type { WritableDB } from '../db.ts';

export function updateToSchemaVersion1(db: WritableDB): void {
  db.exec(`
    CREATE TABLE scenarios (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      description TEXT NOT NULL,
      json TEXT NOT NULL,
      builtin INTEGER NOT NULL CHECK (builtin IN (0, 1)),
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE runs (
      id INTEGER PRIMARY KEY AUTOINCREMENT CHECK (id > 0 AND id < 1048576),
      scenario_id INTEGER REFERENCES scenarios(id) ON DELETE SET NULL,
      scenario_name TEXT NOT NULL,
      scenario_json TEXT NOT NULL,
      design TEXT NOT NULL,
      seed INTEGER NOT NULL,
      schedule_json TEXT,
      app_version TEXT NOT NULL,
      thread_names_json TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted', 'cancelled')),
      outcome_json TEXT,
      metrics_json TEXT,
      event_hash TEXT NOT NULL DEFAULT '',
      content_hash TEXT NOT NULL DEFAULT '',
      event_count INTEGER NOT NULL DEFAULT 0,
      write_count INTEGER NOT NULL DEFAULT 0,
      keyframe_writes INTEGER NOT NULL,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      timings_json TEXT NOT NULL DEFAULT '{}'
    ) STRICT;
    CREATE INDEX runs_scenario ON runs(scenario_id);
    CREATE INDEX runs_status ON runs(status);

    CREATE TABLE run_strings (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      id INTEGER NOT NULL,
      text TEXT NOT NULL,
      PRIMARY KEY (run_id, id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX run_strings_text ON run_strings(run_id, text);

    -- key = run_id * 2^32 + seq. old/new are packed U64 (shared/u64.ts), NULL when absent.
    -- name/status/detail are run_strings ids (0 = '').
    CREATE TABLE events (
      key INTEGER PRIMARY KEY,
      thread INTEGER NOT NULL,
      layer INTEGER NOT NULL,
      name INTEGER NOT NULL,
      parent INTEGER NOT NULL,
      end_seq INTEGER NOT NULL,
      step INTEGER NOT NULL,
      op INTEGER NOT NULL,
      gfn INTEGER NOT NULL,
      level INTEGER NOT NULL,
      tree INTEGER NOT NULL,
      old INTEGER,
      new INTEGER,
      status INTEGER NOT NULL,
      detail INTEGER NOT NULL
    ) STRICT;
    -- No secondary index on events, on purpose: an index on (thread, layer, key) or (gfn, key)
    -- halves the insert rate (measured: 830k -> 410k rows/s for the lane index). next/prev on
    -- a lane descend event_bins instead, lastWriter reads keyframe pages; search scans.

    -- Timeline pyramid: per block of 2^size_log2 events, per non-empty lane, the count and the
    -- most frequent name (bins.ts has the blob layout).
    CREATE TABLE event_bins (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      size_log2 INTEGER NOT NULL,
      block INTEGER NOT NULL,
      lanes BLOB NOT NULL,
      PRIMARY KEY (run_id, size_log2, block)
    ) STRICT, WITHOUT ROWID;

    -- Exact name and status histograms per block of 4096 events, for range counts.
    CREATE TABLE event_hist (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      block INTEGER NOT NULL,
      names BLOB NOT NULL,
      statuses BLOB NOT NULL,
      PRIMARY KEY (run_id, block)
    ) STRICT, WITHOUT ROWID;

    -- Keyframe kf holds the state after every write with seq <= keyframes.seq. Its pages are
    -- the latest keyframe_pages row with that kf or an earlier one; entries are (gfn, value,
    -- last write seq) triples of float64, value NaN for an entry a write emptied (page_state.ts).
    CREATE TABLE keyframes (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      kf INTEGER NOT NULL,
      seq INTEGER NOT NULL,
      PRIMARY KEY (run_id, kf)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX keyframes_seq ON keyframes(run_id, seq);

    CREATE TABLE keyframe_pages (
      id INTEGER PRIMARY KEY,
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      tree INTEGER NOT NULL,
      level INTEGER NOT NULL,
      page INTEGER NOT NULL,
      kf INTEGER NOT NULL,
      entries BLOB NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX keyframe_pages_at ON keyframe_pages(run_id, tree, level, page, kf);

    CREATE TABLE view_state (
      run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
      json TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;
  `);
}
