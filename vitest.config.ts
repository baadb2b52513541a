import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { syncTwinsVitePlugin } from './scripts/sync_twins.mjs';

export default defineConfig({
  // Tests run the engine as it ships: with the simulation's sync twins (scripts/sync_twins.mjs).
  plugins: [svelte(), syncTwinsVitePlugin()],
  test: {
    include: ['main/**/*.test.ts', 'shared/**/*.test.ts', 'renderer/**/*.test.ts', 'e2e/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 60000,
    hookTimeout: 120000,
    pool: 'forks',
  },
});
