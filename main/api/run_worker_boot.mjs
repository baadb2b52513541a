// Loads the TypeScript run worker when the app runs from source (the CLI, tests): registers tsx
// and the simulation's sync twins (scripts/sync_twins_hooks.mjs) in the worker thread first. The
// built app starts out/main/run_worker.js instead.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

register();
registerHooks('../../scripts/sync_twins_hooks.mjs', import.meta.url);
await import('./run_worker.ts');
