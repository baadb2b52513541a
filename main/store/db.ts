// The database handle types and the one place that opens a connection.
//
// Reads and writes have different types (Signal Desktop ts/sql/Interface.std.ts): a query path
// takes a ReadableDB and so cannot call a writer by accident; only the Store, the Recorder and
// the importer hold a WritableDB.
//
// Durability choice. journal_mode = WAL with synchronous = NORMAL (better-sqlite3's WAL default,
// set explicitly here so it is a decision, not an accident). A commit appends to the WAL and
// returns without fsync; the WAL is synced at checkpoints. So:
//   - the recording process killed (SIGKILL, crash, closed laptop lid on a live OS): nothing
//     committed is lost; the chunk whose transaction was open is rolled back as a whole;
//   - the operating system dying (power loss, kernel panic): the transactions committed since
//     the last checkpoint may be rolled back (the last few chunks of a run), never a torn one;
//     the database stays consistent.
// The Recorder writes one transaction per chunk, so a run interrupted midway keeps every chunk
// before the one in flight, and the next Store.open marks it `interrupted`.
import Database from 'better-sqlite3';

export type ReadableDB = Database.Database & { __readable_db: never };
export type WritableDB = ReadableDB & { __writable_db: never };

/** Assertion for bugs in our own code (STYLE.md section 0, kind 1). */
export function assert(cond: unknown, message = 'assertion failed'): asserts cond {
  if (!cond) throw new Error(`store: ${message}`);
}

export interface OpenOptions {
  readonly?: boolean;
  /** SQLite page cache, KiB. Event inserts touch two index b-trees; the default 2 MiB thrashes. */
  cacheKiB?: number;
}

export function openDatabase(file: string, options: OpenOptions = {}): WritableDB {
  const db = new Database(file, { readonly: options.readonly ?? false, timeout: 10000 });
  if (!options.readonly) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`cache_size = -${options.cacheKiB ?? 65536}`);
  db.pragma('temp_store = MEMORY');
  return db as WritableDB;
}

const statementCache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** Prepares `sql` once per connection; every store query goes through here. */
export function prepared(db: ReadableDB, sql: string): Database.Statement {
  let cache = statementCache.get(db);
  if (cache === undefined) {
    cache = new Map();
    statementCache.set(db, cache);
  }
  let stmt = cache.get(sql);
  if (stmt === undefined) {
    stmt = db.prepare(sql);
    cache.set(sql, stmt);
  }
  return stmt;
}

export function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Events of all runs share one rowid space: key = runId * 2^32 + seq. A run's events are then
 * one contiguous rowid range, inserted in increasing order (b-tree appends), and event(run, seq)
 * is a rowid lookup. 2^32 events per run and 2^20 runs stay below 2^53.
 */
export const RUN_KEY_SPAN = 4294967296;
export const RUNS_MAX = 1048576;

export function eventKey(runId: number, seq: number): number {
  return runId * RUN_KEY_SPAN + seq;
}
