// Which files get sync twins (scripts/sync_twins.mjs): main/sim's modules, not their tests. Its own
// module so the hooks (scripts/sync_twins_hooks.mjs) can ask without loading TypeScript.
import { dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

export function isSyncTwinSource(file) {
  const rel = relative(ROOT, file).split(sep).join('/');
  return rel.startsWith('main/sim/') && rel.endsWith('.ts') && !rel.endsWith('.test.ts') && !rel.includes('/testing/');
}
