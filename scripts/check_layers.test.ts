// Each layering rule must fire on a file that breaks it, and stay quiet on one that does not.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { checkLayers } from './check_layers.mjs';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function tree(files: Record<string, string>): string[] {
  root = mkdtempSync(join(tmpdir(), 'septwb-layers-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return checkLayers(root) as string[];
}

describe('check_layers', () => {
  it.each([
    ['shared-is-leaf', 'shared/a.ts', "import { x } from '../main/api/service.ts';"],
    ['shared-is-leaf', 'shared/b.ts', "import Database from 'better-sqlite3';"],
    ['renderer-only-shared', 'renderer/src/a.ts', "import { Store } from '../../main/store/store.ts';"],
    ['renderer-only-shared', 'renderer/src/B.svelte', "<script lang=\"ts\">import { readFileSync } from 'node:fs';</script>"],
    ['only-electron-imports-electron', 'main/server/x.ts', "import { app } from 'electron';"],
    ['sim-is-pure-layers', 'main/sim/engine.ts', "import { Store } from '../store/store.ts';"],
    ['sim-no-io', 'main/sim/x.ts', "import { readFileSync } from 'node:fs';"],
    ['mmu-not-tdx', 'main/sim/mmu/x.ts', "import { td } from '../tdx/td.ts';"],
    ['tdx-not-mmu', 'main/sim/tdx/x.ts', "export { y } from '../mmu/y.ts';"],
    ['design-not-design', 'main/sim/designs/per_op.ts', "import { u } from './unified.ts';"],
    ['store-is-storage', 'main/store/x.ts', "import { e } from '../sim/engine.ts';"],
    ['api-knows-no-transport', 'main/api/x.ts', "import { s } from '../server/server.ts';"],
    ['transports-through-api', 'main/cli/cmd_x.ts', "import { Store } from '../store/store.ts';"],
    ['transports-independent', 'main/cli/x.ts', "import { w } from '../electron/window_policy.ts';"],
    ['sim-purity', 'main/sim/clock.ts', 'export const t = Date.now();'],
    ['sim-purity', 'main/sim/rand.ts', 'export const r = Math.random();'],
  ])('%s fires for %s', (rule, path, text) => {
    const violations = tree({ [path]: text });
    expect(violations.some((v) => v.startsWith(`${path}:1:`) && v.includes(`[${rule}]`))).toBe(true);
  });

  it.each([
    ['main/electron/main.ts', "import { app } from 'electron';"],
    ['main/sim/mmu/x.ts', "import { u } from '../../../shared/u64.ts'; // Date.now() in a comment"],
    ['main/sim/x.test.ts', "import { readFileSync } from 'node:fs'; const d = Date.now();"],
    ['renderer/src/a.ts', "import { API_METHODS } from '../../shared/api/api.ts'; import { mount } from 'svelte';"],
    ['main/sim/y.ts', "const s = 'Date and Math.random in a string';"],
  ])('allows %s', (path, text) => {
    expect(tree({ [path]: text })).toEqual([]);
  });
});
