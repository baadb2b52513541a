// One build for the three targets (toolchain.md section 1): out/main (ESM, the Electron main
// process), out/preload (CommonJS: a sandboxed preload cannot be an ES module), out/renderer
// (the Svelte app, also served by browser mode). electron and better-sqlite3 stay external.
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { syncTwinsVitePlugin } from './scripts/sync_twins.mjs';
import { MAIN_OUTPUT_OPTIONS } from './scripts/main_output.mjs';

export default defineConfig({
  main: {
    // The simulation's sync twins (scripts/sync_twins.mjs): the engine runs a lone thread without generators.
    plugins: [syncTwinsVitePlugin()],
    build: {
      outDir: 'out/main',
      // The run worker is its own entry: a worker thread loads it by file (main/api/run_jobs.ts).
      rollupOptions: {
        input: { main: resolve('main/electron/main.ts'), run_worker: resolve('main/api/run_worker.ts') },
        // Top-level const stays const (scripts/main_output.mjs says why).
        output: { ...MAIN_OUTPUT_OPTIONS },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { preload: resolve('main/electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'renderer',
    base: './',
    plugins: [svelte({ configFile: resolve('svelte.config.js') })],
    build: {
      outDir: 'out/renderer',
      minify: true,
      rollupOptions: { input: resolve('renderer/index.html') },
    },
  },
});
