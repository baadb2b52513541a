// Schema migrations keyed on PRAGMA user_version (Signal Desktop ts/sql/migrations/index.ts).
//
// Rules: one file per version, `NNNN_name.ts` exporting updateToSchemaVersionN; the list below
// is strictly increasing by one (asserted at load); every pending update runs inside ONE
// transaction that also sets user_version, so a crash mid-migration leaves the old schema; a
// database written by a newer build is refused, never "downgraded".
import { assert, type WritableDB } from '../db.ts';
import { updateToSchemaVersion1 } from './0001_initial.ts';
import { updateToSchemaVersion2 } from './0002_comparisons.ts';
import { updateToSchemaVersion3 } from './0003_packed_bins_snapshots.ts';

export interface Migration {
  version: number;
  update: (db: WritableDB) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, update: updateToSchemaVersion1 },
  { version: 2, update: updateToSchemaVersion2 },
  { version: 3, update: updateToSchemaVersion3 },
];

for (let i = 0; i < MIGRATIONS.length; i++) {
  assert(MIGRATIONS[i].version === i + 1, `migration ${i} has version ${MIGRATIONS[i].version}, want ${i + 1}`);
}

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export class DBVersionFromFutureError extends Error {
  readonly found: number;
  readonly supported: number;
  constructor(file: string, found: number, supported: number) {
    super(
      `database ${file} has schema version ${found}, but this build understands at most ` +
        `${supported}: it was written by a newer S-EPT Workbench. Upgrade the app, or start it ` +
        `with another database (--db <file>).`,
    );
    this.name = 'DBVersionFromFutureError';
    this.found = found;
    this.supported = supported;
  }
}

export function getUserVersion(db: WritableDB): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the schema to `target` (default: the newest). Returns the versions applied, in order.
 * Throws DBVersionFromFutureError, before touching anything, when the file is newer.
 */
export function updateSchema(db: WritableDB, file: string, target = SCHEMA_VERSION): number[] {
  const startVersion = getUserVersion(db);
  if (startVersion > SCHEMA_VERSION) throw new DBVersionFromFutureError(file, startVersion, SCHEMA_VERSION);
  const pending = MIGRATIONS.filter((m) => m.version > startVersion && m.version <= target);
  if (pending.length === 0) return [];
  db.transaction(() => {
    for (const m of pending) m.update(db);
    db.pragma(`user_version = ${pending[pending.length - 1].version}`);
  })();
  return pending.map((m) => m.version);
}
