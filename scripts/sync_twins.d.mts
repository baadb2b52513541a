// Types for scripts/sync_twins.mjs (the configs and the bench import it from TypeScript).
import type { Plugin as VitePlugin } from 'vite';
import type { Plugin as EsbuildPlugin } from 'esbuild';

export function isSyncTwinSource(file: string): boolean;
export function addSyncTwins(source: string, file: string): string;
export function syncTwinsVitePlugin(): VitePlugin;
export function syncTwinsEsbuildPlugin(): EsbuildPlugin;
