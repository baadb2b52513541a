// Node module hooks (module.register) that give main/sim its sync twins (scripts/sync_twins.mjs)
// when the app runs from source under tsx: the CLI, browser mode's server and its run worker.
// The built app and the bench get them from their bundlers' plugins instead. Registered after
// tsx, these hooks run first: a main/sim module is read, given its twins and compiled here;
// everything else goes on to tsx.
//
// Loading TypeScript's parser and transforming the simulation takes about a second, which every
// CLI command would pay; so the compiled module is cached under node_modules/.cache, keyed by
// the source and the transform's own text, and the parser is loaded only on a miss. Without the
// transform's dependencies (typescript is a dev dependency) nothing is changed and the engine
// runs on its generators, as correct and slower.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSyncTwinSource } from './sync_twins_scope.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CACHE_DIR = join(HERE, '..', 'node_modules', '.cache', 'septwb-sync-twins');
/** What a cached module depends on besides its source: the transform and these hooks. */
const TRANSFORM_TEXT = ['sync_twins.mjs', 'sync_twins_scope.mjs', 'sync_twins_hooks.mjs'].map((f) => readFileSync(join(HERE, f), 'utf8')).join('\0');

/** The transform and esbuild, loaded on the first cache miss; null when either cannot be. */
let tools;
async function loadTools() {
  tools ??= await Promise.all([import('./sync_twins.mjs'), import('esbuild')]).then(
    ([twins, esbuild]) => ({ twins, esbuild }),
    () => null,
  );
  return tools;
}

async function compile(file, source) {
  const key = createHash('sha256').update(TRANSFORM_TEXT).update('\0').update(file).update('\0').update(source).digest('hex');
  const cached = join(CACHE_DIR, `${key}.mjs`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    // A miss: compile below.
  }
  const t = await loadTools();
  if (t === null) return null;
  const { code } = await t.esbuild.transform(t.twins.addSyncTwins(source, file), { loader: 'ts', format: 'esm', sourcefile: file, sourcemap: 'inline', target: 'node20' });
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    const partial = `${cached}.${process.pid}.tmp`;
    writeFileSync(partial, code);
    renameSync(partial, cached);
  } catch {
    // A read-only install still runs; it compiles again next time.
  }
  return code;
}

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:')) {
    const file = fileURLToPath(url.split('?')[0]);
    if (isSyncTwinSource(file)) {
      const code = await compile(file, await readFile(file, 'utf8'));
      if (code !== null) return { format: 'module', source: code, shortCircuit: true };
    }
  }
  return nextLoad(url, context);
}
