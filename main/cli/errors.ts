// The CLI's error kinds and their exit codes, all in one place (cli/cli pkg/cmdutil/errors.go).
// A command throws one of these; septwb.ts prints its message to stderr and exits with its code.
// Anything else thrown is a bug in our code: exit 1 with the stack.

export const EXIT_OK = 0;
/** A failed run or an unexpected error. */
export const EXIT_INTERNAL = 1;
/** Wrong flags or arguments, or bad input (a malformed scenario, a database from the future). */
export const EXIT_USAGE = 2;
export const EXIT_BAD_INPUT = 2;
/** A query matched nothing (`septwb runs --scenario x` with no runs). */
export const EXIT_NO_RESULTS = 3;
/** Interrupted by the user (Ctrl-C), as shells report SIGINT. */
export const EXIT_CANCEL = 130;

/** Bad flags or arguments; the usage line is printed after the message. */
export class FlagError extends Error {
  override name = 'FlagError';
}

/** The input was understood but is not acceptable (names the path when it can). */
export class BadInputError extends Error {
  override name = 'BadInputError';
}

export class NoResultsError extends Error {
  override name = 'NoResultsError';
}

export class CancelError extends Error {
  override name = 'CancelError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

/** The command already printed what went wrong; exit with `exitCode` and print nothing more. */
export class SilentError extends Error {
  override name = 'SilentError';
  readonly exitCode: number;
  constructor(exitCode = EXIT_INTERNAL) {
    super('');
    this.exitCode = exitCode;
  }
}

/** Two flags that cannot be given together, checked at parse time. */
export function mutuallyExclusive(message: string, ...conditions: boolean[]): void {
  if (conditions.filter(Boolean).length > 1) throw new FlagError(message);
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof FlagError) return EXIT_USAGE;
  if (error instanceof BadInputError) return EXIT_BAD_INPUT;
  if (error instanceof NoResultsError) return EXIT_NO_RESULTS;
  if (error instanceof CancelError) return EXIT_CANCEL;
  if (error instanceof SilentError) return error.exitCode;
  return EXIT_INTERNAL;
}
