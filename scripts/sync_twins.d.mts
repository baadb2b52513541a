// Types for scripts/sync_twins.mjs (the configs and the bench import it from TypeScript).
import type { Plugin as VitePlugin } from 'vite';

export function isSyncTwinSource(file: string): boolean;
export function addSyncTwins(source: string, file: string): string;
export function syncTwinsVitePlugin(): VitePlugin;
