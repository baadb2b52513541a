// Loads the built-in scenario library (scenarios/*.json in the app) into the store at startup.
// Upsert by name among built-ins: a file already loaded keeps its id (so runs stay linked), a
// new file is inserted. User scenarios are never touched, even one with the same name.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPlainObject } from '../../shared/api/validate.ts';
import type { ScenarioStore } from './library_service.ts';

/** Scenario files are small; anything bigger is a mistake, not a scenario. */
const BUILTIN_FILE_BYTES_MAX = 8 * 1024 * 1024;
/** A bound on the library's size, so a wrong directory cannot stall startup. */
const BUILTIN_FILES_MAX = 1000;

export interface BuiltinLoadResult {
  loaded: number;
  /** One line per file that could not be loaded: `<file>: <why>`. */
  problems: string[];
}

export function loadBuiltinScenarios(store: ScenarioStore, scenariosDir: string): BuiltinLoadResult {
  let files: string[];
  try {
    files = readdirSync(scenariosDir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return { loaded: 0, problems: [] };
  }
  const problems: string[] = [];
  const builtinIdByName = new Map<string, number>();
  for (const s of store.listScenarios()) if (s.builtin) builtinIdByName.set(s.name, s.id);
  let loaded = 0;
  for (const file of files.slice(0, BUILTIN_FILES_MAX)) {
    const parsed = readBuiltin(join(scenariosDir, file));
    if ('problem' in parsed) {
      problems.push(`${file}: ${parsed.problem}`);
      continue;
    }
    store.putScenario({ id: builtinIdByName.get(parsed.name), ...parsed, builtin: true });
    loaded++;
  }
  if (files.length > BUILTIN_FILES_MAX) problems.push(`${files.length - BUILTIN_FILES_MAX} files past the first ${BUILTIN_FILES_MAX} ignored`);
  return { loaded, problems };
}

type Parsed = { name: string; description: string; json: string } | { problem: string };

function readBuiltin(path: string): Parsed {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (thrown) {
    return { problem: `cannot read: ${thrown instanceof Error ? thrown.message : String(thrown)}` };
  }
  if (text.length > BUILTIN_FILE_BYTES_MAX) return { problem: 'larger than 8 MiB' };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (thrown) {
    return { problem: `not JSON: ${thrown instanceof Error ? thrown.message : String(thrown)}` };
  }
  if (!isPlainObject(doc)) return { problem: 'not a JSON object' };
  if (typeof doc.name !== 'string' || doc.name.length === 0) return { problem: '$.name: expected a non-empty string' };
  const description = typeof doc.description === 'string' ? doc.description : '';
  return { name: doc.name, description, json: text };
}
