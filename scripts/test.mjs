#!/usr/bin/env node
// `npm test`: everything a fresh machine of this kind needs, in order, and one plain closing
// line `N passed, N failed`. Steps: ensure Debian's Chromium (the e2e test drives it; installed
// with apt-get when we are root, else we fail saying what to install: browser tests are never
// skipped), lint, typecheck, build, then vitest with a JSON report. A failed step before vitest
// counts as one failure and the rest still run, so one report shows everything.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = '/usr/bin/chromium';
const REPORT = join(ROOT, 'test-results', 'vitest.json');
const bin = (name) => join(ROOT, 'node_modules', '.bin', name);

function step(title, command, args, env = {}) {
  const started = Date.now();
  process.stderr.write(`\n== ${title}\n`);
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  process.stderr.write(`== ${title}: ${ok ? 'ok' : `FAILED (exit ${result.status ?? result.signal})`} in ${seconds} s\n`);
  return ok;
}

function ensureChromium() {
  if (existsSync(CHROMIUM)) return true;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    process.stderr.write(`npm test: ${CHROMIUM} is missing and we are not root. Install Debian's package first:\n  sudo apt-get update && sudo apt-get install -y chromium\n`);
    return false;
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  return step('install chromium (apt-get)', 'apt-get', ['update'], env) && step('install chromium (apt-get)', 'apt-get', ['install', '-y', 'chromium'], env) && existsSync(CHROMIUM);
}

let stepFailures = 0;
const chromiumOk = ensureChromium();
if (!chromiumOk) stepFailures++;
if (!step('lint (layers)', process.execPath, [join(ROOT, 'scripts/check_layers.mjs')])) stepFailures++;
if (!step('typecheck (tsc)', bin('tsc'), ['-p', 'tsconfig.json'])) stepFailures++;
if (!step('typecheck (svelte-check)', bin('svelte-check'), ['--tsconfig', './tsconfig.json', '--threshold', 'error', '--output', 'human'])) stepFailures++;
if (!step('build', bin('electron-vite'), ['build'])) stepFailures++;

mkdirSync(dirname(REPORT), { recursive: true });
const vitestOk = step('vitest', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${REPORT}`]);
let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(REPORT, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // A suite that failed to load (syntax error, missing import) has no tests but is a failure.
  const brokenFiles = (report.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  failed += brokenFiles;
  if (skipped > 0) process.stderr.write(`npm test: ${skipped} test(s) skipped or todo\n`);
} catch {
  process.stderr.write(`npm test: no vitest report at ${REPORT}\n`);
  failed += 1;
}
if (!vitestOk && failed === 0) failed = 1;
failed += stepFailures;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
