// Svelte compiler options shared by the build (electron.vite.config.ts), vitest and
// svelte-check. Runes mode everywhere; TypeScript in <script lang="ts"> via Vite's preprocessor.
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

export default {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
};
