#!/usr/bin/env node
// The `septwb` executable: registers tsx so Node 20 can load the TypeScript sources, then runs
// the CLI (main/cli/septwb.ts). The environment flag tells septwb.ts it is the process entry,
// so importing it from tests never starts a command.
import { register } from 'tsx/esm/api';

register();
process.env.SEPTWB_CLI_ENTRY = '1';
await import('./septwb.ts');
