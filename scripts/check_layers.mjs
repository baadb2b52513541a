#!/usr/bin/env node
// `npm run lint`: PRODUCT.md section 1's import table as checked rules, each with its reason
// (google/perfetto tools/check_imports; VS Code's 'local/code-layering'). A rule with no check
// decays, so every edge of the table is here. Run: node scripts/check_layers.mjs [rootDir]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Folders whose files are checked. */
const CHECKED_DIRS = ['main', 'shared', 'renderer'];
const SOURCE_EXTENSIONS = ['.ts', '.mts', '.mjs', '.js', '.svelte'];
const FILES_MAX = 20000;

// Test files, test-only support modules (`*test_support.ts`, `test_*.ts`) and testing/ folders may do
// what tests do (read files, import vitest, use the simulation from the store's fixtures).
const isTest = (file) => /\.test\.ts$/.test(file) || /(^|\/)(test_[^/]*|[^/]*test_support)\.ts$/.test(file) || file.includes('/testing/');
const inDir = (dir) => (path) => path === dir || path.startsWith(`${dir}/`);
const isBuiltin = (spec) => spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]);

/**
 * Each rule: which files it applies to (`from`), which imports it forbids (`forbids`, given
 * the import as {kind: 'file', path} for a repo file or {kind: 'package', name}), and why.
 */
export const RULES = [
  {
    name: 'shared-is-leaf',
    from: (path) => inDir('shared')(path) && !isTest(path),
    forbids: (imp) => imp.kind === 'package' || !inDir('shared')(imp.path),
    reason: 'shared/ may import nothing outside shared/: it is the contract both processes compile, so it must stay free of runtime dependencies',
  },
  {
    name: 'renderer-only-shared',
    from: (path) => inDir('renderer')(path) && !isTest(path),
    forbids: (imp) =>
      imp.kind === 'file' ? !inDir('renderer')(imp.path) && !inDir('shared')(imp.path) : isBuiltin(imp.name) || imp.name === 'electron' || imp.name === 'better-sqlite3',
    reason: 'renderer/ imports only shared/ (and its own files): it talks to main through the api contract, never by importing main or Node',
  },
  {
    name: 'only-electron-imports-electron',
    from: (path) => !inDir('main/electron')(path),
    forbids: (imp) => imp.kind === 'package' && (imp.name === 'electron' || imp.name.startsWith('electron/')),
    reason: 'only main/electron imports `electron`: everything else must run under plain Node (tests, browser mode, CLI)',
  },
  {
    name: 'sim-is-pure-layers',
    from: inDir('main/sim'),
    forbids: (imp) => imp.kind === 'file' && ['main/store', 'main/api', 'main/electron', 'main/server', 'main/cli', 'renderer'].some((d) => inDir(d)(imp.path)),
    reason: 'main/sim may not import main/store, main/api, transports or the renderer: the simulation is pure, the api connects it to the rest',
  },
  {
    name: 'sim-no-io',
    from: (path) => inDir('main/sim')(path) && !isTest(path),
    forbids: (imp) => imp.kind === 'package',
    reason: 'main/sim imports no package and no node: module: the simulation does no I/O (same scenario + seed gives the same events)',
  },
  {
    name: 'mmu-not-tdx',
    from: inDir('main/sim/mmu'),
    forbids: (imp) => imp.kind === 'file' && (inDir('main/sim/tdx')(imp.path) || inDir('main/sim/designs')(imp.path)),
    reason: 'main/sim/mmu may not import main/sim/tdx or main/sim/designs: the MMU model knows only the hook seam (external_ops.ts), as tdp_mmu.c knows only kvm_x86_ops',
  },
  {
    name: 'tdx-not-mmu',
    from: inDir('main/sim/tdx'),
    forbids: (imp) => imp.kind === 'file' && (inDir('main/sim/mmu')(imp.path) || inDir('main/sim/designs')(imp.path)),
    reason: 'main/sim/tdx may not import main/sim/mmu or main/sim/designs: the TDX module knows nothing of KVM',
  },
  {
    name: 'design-not-design',
    from: (path) => inDir('main/sim/designs')(path) && !isTest(path) && !/\/(registry|index|design)\.ts$/.test(path),
    forbids: (imp, from) =>
      imp.kind === 'file' && inDir('main/sim/designs')(imp.path) && !/\/(design|kvm_tdx|tdx_glue[^/]*)\.ts$/.test(imp.path) && imp.path !== from,
    reason: 'a design may use only the exports of mmu/ and tdx/ (and the shared design types), never another design: each one is readable alone',
  },
  {
    name: 'store-is-storage',
    from: (path) => inDir('main/store')(path) && !isTest(path),
    forbids: (imp) => imp.kind === 'file' && ['main/sim', 'main/api', 'main/electron', 'main/server', 'main/cli', 'renderer'].some((d) => inDir(d)(imp.path)),
    reason: 'main/store may import only shared/ and better-sqlite3: it is storage; the api connects it to the simulation',
  },
  {
    name: 'api-knows-no-transport',
    from: inDir('main/api'),
    forbids: (imp) => imp.kind === 'file' && ['main/electron', 'main/server', 'main/cli', 'renderer'].some((d) => inDir(d)(imp.path)),
    reason: 'main/api may not import a transport or the CLI: both transports and the CLI use it, so it knows none of them',
  },
  {
    name: 'transports-through-api',
    from: (path) => ['main/electron', 'main/server', 'main/cli'].some((d) => inDir(d)(path)) && !isTest(path),
    forbids: (imp) => imp.kind === 'file' && ['main/sim', 'main/store', 'renderer'].some((d) => inDir(d)(imp.path)),
    reason: 'main/electron, main/server and main/cli reach the simulation and the store only through main/api: one contract for every way in',
  },
  {
    name: 'transports-independent',
    from: (path) => ['main/server', 'main/cli'].some((d) => inDir(d)(path)),
    forbids: (imp) => imp.kind === 'file' && inDir('main/electron')(imp.path),
    reason: 'nothing outside main/electron may import it: it is the only code that needs the Electron runtime',
  },
];

/** Source patterns forbidden in main/sim (outside tests), with why. Comments are stripped first. */
export const SIM_PURITY_PATTERNS = [
  { pattern: /\bDate\b/, what: 'Date', reason: 'main/sim has no clock: time is the scheduler step' },
  { pattern: /\bMath\.random\b/, what: 'Math.random', reason: 'main/sim draws randomness only from the seeded prng' },
  { pattern: /\bperformance\.now\b/, what: 'performance.now', reason: 'main/sim has no clock: time is the scheduler step' },
  { pattern: /\bprocess\./, what: 'process.', reason: 'main/sim does no I/O and reads no environment' },
  { pattern: /\b(setTimeout|setInterval|setImmediate)\b/, what: 'timers', reason: 'main/sim advances only by scheduler steps, never by timers' },
  { pattern: /\bcrypto\./, what: 'crypto.', reason: 'main/sim draws randomness only from the seeded prng' },
];

const IMPORT_PATTERNS = [
  /\bimport\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g,
  /\bexport\s+(?:type\s+)?(?:\*|\{[^}]*\})\s*(?:as\s+\w+\s+)?from\s+['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
];

function listFiles(rootDir) {
  const files = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (files.length >= FILES_MAX) return;
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) files.push(full);
    }
  };
  for (const dir of CHECKED_DIRS) walk(join(rootDir, dir));
  return files;
}

/** Blanks comments (keeping line breaks) so patterns and imports in prose do not count. */
export function stripComments(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:'"`\\])\/\/[^\n]*/g, (m, lead) => lead + ' '.repeat(m.length - lead.length));
}

export function importsOf(text) {
  const code = stripComments(text);
  const found = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of code.matchAll(pattern)) {
      found.push({ spec: match[1], line: code.slice(0, match.index).split('\n').length });
    }
  }
  return found;
}

function classify(rootDir, fromFile, spec) {
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const target = resolve(dirname(fromFile), spec);
    return { kind: 'file', path: relative(rootDir, target).split(sep).join(posix.sep) };
  }
  return { kind: 'package', name: spec };
}

/** Every violation in the tree under rootDir, as `file:line: message (rule: reason)` lines. */
export function checkLayers(rootDir) {
  const violations = [];
  for (const file of listFiles(rootDir)) {
    const rel = relative(rootDir, file).split(sep).join(posix.sep);
    const text = readFileSync(file, 'utf8');
    for (const { spec, line } of importsOf(text)) {
      const imp = classify(rootDir, file, spec);
      for (const rule of RULES) {
        if (rule.from(rel) && rule.forbids(imp, rel)) violations.push(`${rel}:${line}: imports '${spec}' [${rule.name}] ${rule.reason}`);
      }
    }
    if (inDir('main/sim')(rel) && !isTest(rel)) violations.push(...purityViolations(rel, text));
  }
  return violations;
}

function purityViolations(rel, text) {
  const found = [];
  const lines = stripComments(text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const code = lines[i].replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`/g, "''");
    for (const { pattern, what, reason } of SIM_PURITY_PATTERNS) {
      if (pattern.test(code)) found.push(`${rel}:${i + 1}: uses ${what} [sim-purity] ${reason}`);
    }
  }
  return found;
}

function runCli() {
  const rootDir = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  if (!statSync(rootDir, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(`check_layers: no such directory ${rootDir}`);
    process.exit(2);
  }
  const violations = checkLayers(rootDir);
  for (const v of violations) console.error(v);
  console.log(`check_layers: ${RULES.length + 1} rules, ${violations.length} violation(s)`);
  process.exitCode = violations.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) runCli();
