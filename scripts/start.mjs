#!/usr/bin/env node
// `npm start`: build, then open the Electron window. Where the Electron binary is missing, try
// the electron package's own installer once; where that cannot work (no network, as on the build
// machine), say so in ONE line and start browser mode instead, which prints the URL.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(ROOT, 'package.json'));
const INSTALL_TIMEOUT_MS = 120_000;

function run(command, args, options = {}) {
  return spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
}

/** The Electron executable's path, or null when the package has no binary. */
function electronBinary() {
  try {
    const path = require('electron');
    return typeof path === 'string' ? path : null;
  } catch {
    return null;
  }
}

/** Runs node_modules/electron/install.js once (it downloads the binary); returns its error text. */
function installElectronOnce() {
  let installer;
  try {
    installer = require.resolve('electron/install.js');
  } catch {
    return 'the electron package is not installed';
  }
  const result = run(process.execPath, [installer], { stdio: ['ignore', 'ignore', 'pipe'], timeout: INSTALL_TIMEOUT_MS, env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '' } });
  if (result.status === 0) return null;
  const text = String(result.stderr ?? '').split('\n').find((l) => /Error|ENOTFOUND|EAI_AGAIN|ECONN/.test(l)) ?? `exit ${result.status}`;
  return text.trim();
}

function forward(child) {
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 0));
}

const build = run(process.execPath, [join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) {
  console.error('septwb start: the build failed (see above); fix it, or run "npm run build" for details');
  process.exit(1);
}

let binary = electronBinary();
let why = null;
if (binary === null) {
  why = installElectronOnce();
  binary = why === null ? electronBinary() : null;
}
if (binary !== null) {
  forward(spawn(binary, [ROOT, ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit' }));
} else {
  console.error(`septwb start: the Electron binary cannot be had here (${why ?? 'installer gave no binary'}); starting browser mode instead: open the URL below.`);
  forward(spawn(process.execPath, [join(ROOT, 'main/cli/bin.mjs'), 'serve', ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit' }));
}
