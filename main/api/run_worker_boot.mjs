// Loads the TypeScript run worker when the app runs from source (the CLI, tests): registers tsx
// in the worker thread first. The built app starts out/main/run_worker.js instead.
import { register } from 'tsx/esm/api';

register();
await import('./run_worker.ts');
