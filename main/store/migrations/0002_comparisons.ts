// Schema version 2: the compare view's saved state, one row per pair of runs it opened.
import type { WritableDB } from '../db.ts';

export function updateToSchemaVersion2(db: WritableDB): void {
  db.exec(`
    CREATE TABLE comparisons (
      id INTEGER PRIMARY KEY,
      run_a INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      run_b INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      view_state_json TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX comparisons_run_a ON comparisons(run_a);
    CREATE INDEX comparisons_run_b ON comparisons(run_b);
  `);
}
