// The app's main-process bundle keeps its top-level const (scripts/main_output.mjs says why: the
// engine is about a sixth slower without). Read from out/main, which `npm test` builds before
// vitest runs, so this checks the app as electron-vite really built it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const OUT_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'main');

/** The text of every JavaScript file of the main-process build. */
function mainBundleText(): string {
  if (!existsSync(join(OUT_MAIN, 'main.js'))) throw new Error('out/main is not built: run "npm run build" (npm test builds first)');
  const chunks = existsSync(join(OUT_MAIN, 'chunks')) ? readdirSync(join(OUT_MAIN, 'chunks')).map((f) => join('chunks', f)) : [];
  return ['main.js', 'run_worker.js', ...chunks]
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(OUT_MAIN, f), 'utf8'))
    .join('\n');
}

describe('main-process bundle', () => {
  it('declares top-level constants with const, never var', () => {
    const text = mainBundleText();
    const numericConsts = text.match(/^const \w+ = -?(0x[0-9a-f]+|\d[\d.e]*);$/gim) ?? [];
    const numericVars = text.match(/^var \w+ = -?(0x[0-9a-f]+|\d[\d.e]*);$/gim) ?? [];
    // The engine's own numeric constants are there, as const (the event hash's multiplier among them).
    expect(numericConsts.length).toBeGreaterThan(10);
    expect(numericConsts).toContain('const HASH_M = 1540483477;');
    expect(numericVars).toEqual([]);
  });
});
