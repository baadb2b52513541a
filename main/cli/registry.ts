// Every `septwb` command, in the order `septwb help` lists them. Adding a command is one import
// and one line here: write main/cli/cmd_<name>.ts exporting a CommandSpec (see command.ts and
// cmd_serve.ts for the shape), then list it below. `help` and `--version` are built in.
import type { CommandSpec } from './command.ts';
import { serveCommand } from './cmd_serve.ts';

export const COMMANDS: readonly CommandSpec[] = [
  serveCommand,
];
