// Scenario rows. The scenario's JSON is stored as the text the user saved; validating it against
// the scenario schema is the api's job (shared/ owns the schema), not the store's.
import type { ScenarioRecord, ScenarioSummary } from '../../shared/store_types.ts';
import { assert, nowIso, prepared, type ReadableDB, type WritableDB } from './db.ts';

interface ScenarioRow {
  id: number;
  name: string;
  description: string;
  builtin: number;
  created_at: string;
  updated_at: string;
  json?: string;
}

function toSummary(r: ScenarioRow): ScenarioSummary {
  return { id: r.id, name: r.name, description: r.description, builtin: r.builtin === 1, createdAt: r.created_at, updatedAt: r.updated_at };
}

/**
 * Built-in first, and among them the seed's argument first (names starting "Seed:"): they are
 * what a first-time user came for. Then by name.
 */
export function listScenarios(db: ReadableDB): ScenarioSummary[] {
  const rows = prepared(db, "SELECT id, name, description, builtin, created_at, updated_at FROM scenarios ORDER BY builtin DESC, (name LIKE 'Seed:%') DESC, name, id").all() as ScenarioRow[];
  return rows.map(toSummary);
}

export function getScenario(db: ReadableDB, id: number): ScenarioRecord | null {
  const r = prepared(db, 'SELECT id, name, description, builtin, created_at, updated_at, json FROM scenarios WHERE id = ?').get(id) as ScenarioRow | undefined;
  if (r === undefined) return null;
  return { ...toSummary(r), json: r.json ?? '' };
}

/** The id of a scenario whose text is exactly `json`, or null. Used to link imported runs. */
export function findScenarioByJson(db: ReadableDB, json: string): number | null {
  const r = prepared(db, 'SELECT id FROM scenarios WHERE json = ? ORDER BY id LIMIT 1').get(json) as { id: number } | undefined;
  return r?.id ?? null;
}

export interface ScenarioInput {
  id?: number;
  name: string;
  description: string;
  json: string;
  builtin: boolean;
}

/**
 * Inserts (no id) or replaces (id given) a scenario and returns its id. Replacing an id that
 * does not exist inserts it with that id, so built-in scenarios can keep stable ids.
 */
export function putScenario(db: WritableDB, s: ScenarioInput): number {
  const now = nowIso();
  const builtin = s.builtin ? 1 : 0;
  if (s.id === undefined) {
    const info = prepared(db, 'INSERT INTO scenarios (name, description, json, builtin, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(s.name, s.description, s.json, builtin, now, now);
    return Number(info.lastInsertRowid);
  }
  assert(Number.isSafeInteger(s.id) && s.id > 0, `putScenario: bad id ${s.id}`);
  prepared(
    db,
    `INSERT INTO scenarios (id, name, description, json, builtin, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, json = excluded.json,
       builtin = excluded.builtin, updated_at = excluded.updated_at`,
  ).run(s.id, s.name, s.description, s.json, builtin, now, now);
  return s.id;
}

/** Deletes the scenario; its runs stay (they hold a snapshot) with scenario_id set to NULL. */
export function deleteScenario(db: WritableDB, id: number): void {
  prepared(db, 'DELETE FROM scenarios WHERE id = ?').run(id);
}
