// Schema version 3: cheaper recording and a fast full "state at N" (store bench, PRODUCT.md
// section 5).
//   - event_bin_rows replaces event_bins: BIN_ROW_BLOCKS (16) consecutive blocks of one pyramid
//     level per row instead of one block per row (bins.ts has the layout). Existing bins are
//     repacked here, so runs recorded before keep their timeline.
//   - state_snapshots: at some keyframes, a tree's whole state as three column BLOBs (levels
//     uint8, gfns float64, values float64, sorted by level desc then gfn), read in one statement
//     instead of one row per page (page_state.ts).
//   - runs.page_entries: entries per stored keyframe page, now 32 (page_state.ts); runs stored
//     before keep 64, and the queries read each run's own.
//   - keyframe_pages_kf: which pages were written in a range of keyframes (after a snapshot),
//     from the index alone (it covers the columns), so only each page's latest version is read.
// Runs recorded before have no snapshots; their full state is read from pages alone (slower,
// same answer).
import type { WritableDB } from '../db.ts';

/** As bins.ts BIN_ROW_BLOCKS at version 3; a later layout change needs its own migration. */
const ROW_BLOCKS = 16;

export function updateToSchemaVersion3(db: WritableDB): void {
  db.exec(`
    CREATE TABLE event_bin_rows (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      size_log2 INTEGER NOT NULL,
      row INTEGER NOT NULL,
      blocks BLOB NOT NULL,
      PRIMARY KEY (run_id, size_log2, row)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE state_snapshots (
      id INTEGER PRIMARY KEY,
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      kf INTEGER NOT NULL,
      tree INTEGER NOT NULL,
      entries INTEGER NOT NULL,
      levels BLOB NOT NULL,
      gfns BLOB NOT NULL,
      vals BLOB NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX state_snapshots_at ON state_snapshots(run_id, kf, tree);

    ALTER TABLE runs ADD COLUMN page_entries INTEGER NOT NULL DEFAULT 64;

    CREATE INDEX keyframe_pages_kf ON keyframe_pages(run_id, kf, tree, level, page);
  `);
  repackBins(db);
  db.exec('DROP TABLE event_bins');
}

/** One old row per block -> rows of ROW_BLOCKS blocks: offsets header, then each block's quads. */
function repackBins(db: WritableDB): void {
  const insert = db.prepare('INSERT INTO event_bin_rows (run_id, size_log2, row, blocks) VALUES (?, ?, ?, ?)');
  let key = '';
  let at: [number, number, number] = [0, 0, 0];
  let blocks: (Uint8Array | undefined)[] = [];
  const flush = (): void => {
    if (key === '') return;
    const sizes = blocks.map((b) => (b === undefined ? 0 : b.byteLength / 4));
    const out = new Int32Array(ROW_BLOCKS + 1 + sizes.reduce((x, y) => x + y, 0));
    let p = ROW_BLOCKS + 1;
    for (let j = 0; j < ROW_BLOCKS; j++) {
      out[j] = p;
      const b = blocks[j];
      if (b !== undefined) out.set(new Int32Array(b.slice().buffer), p);
      p += sizes[j];
    }
    out[ROW_BLOCKS] = p;
    insert.run(at[0], at[1], at[2], Buffer.from(out.buffer));
  };
  for (const [runId, sizeLog2, block, lanes] of db.prepare('SELECT run_id, size_log2, block, lanes FROM event_bins ORDER BY run_id, size_log2, block').raw(true).all() as [number, number, number, Uint8Array][]) {
    const row = Math.floor(block / ROW_BLOCKS);
    const k = `${runId}/${sizeLog2}/${row}`;
    if (k !== key) {
      flush();
      key = k;
      at = [runId, sizeLog2, row];
      blocks = new Array(ROW_BLOCKS).fill(undefined);
    }
    blocks[block % ROW_BLOCKS] = lanes;
  }
  flush();
}
