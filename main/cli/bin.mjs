#!/usr/bin/env node
// The `septwb` executable: registers tsx so Node 20 can load the TypeScript sources, then runs
// the CLI (main/cli/septwb.ts), with the simulation's sync twins (scripts/sync_twins_hooks.mjs).
// The environment flag tells septwb.ts it is the process entry, so importing it from tests never
// starts a command.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

register();
registerHooks('../../scripts/sync_twins_hooks.mjs', import.meta.url);
process.env.SEPTWB_CLI_ENTRY = '1';
await import('./septwb.ts');
