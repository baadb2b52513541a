// Every `septwb` command, in the order `septwb help` lists them. Adding a command is one import
// and one line here: write main/cli/cmd_<name>.ts exporting a CommandSpec (see command.ts and
// cmd_serve.ts for the shape), then list it below. `help` and `--version` are built in.
import type { CommandSpec } from './command.ts';
import { serveCommand } from './cmd_serve.ts';
import { runCommand } from './cmd_run.ts';
import { compareCommand } from './cmd_compare.ts';
import { validateCommand } from './cmd_validate.ts';
import { scenariosCommand } from './cmd_scenarios.ts';
import { runsCommand } from './cmd_runs.ts';
import { eventsCommand } from './cmd_events.ts';
import { stateCommand } from './cmd_state.ts';

export const COMMANDS: readonly CommandSpec[] = [
  serveCommand,
  runCommand,
  compareCommand,
  validateCommand,
  scenariosCommand,
  runsCommand,
  eventsCommand,
  stateCommand,
];
