// The api contract shared by main (both transports), the renderer's client and the CLI.
//
// One service, composed of per-area interfaces (library.ts, runs.ts, compare.ts ...). Each method
// takes ONE argument object and returns a promise of a Result; events are named `onSomething`.
// Transports are mechanical: they only need the list of method names with their argument
// validators (the "descriptor"), never per-method glue. This follows VS Code's ProxyChannel
// (microsoft/vscode src/vs/base/parts/ipc/common/ipc.ts): "at most one single argument".
//
// Errors cross every boundary as data: Electron's ipcMain.handle keeps only `message` of a thrown
// Error, and HTTP has no exceptions at all, so a method never throws on purpose.

/** Why a call failed. `path` names the argument (or JSON) path at fault, e.g. `args.id`. */
export interface ApiError {
  code: ApiErrorCode;
  path?: string;
  message: string;
}

export const API_ERROR_CODES = ['bad-input', 'not-found', 'conflict', 'cancelled', 'internal'] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function err<T = never>(code: ApiErrorCode, message: string, path?: string): Result<T> {
  const error: ApiError = path === undefined ? { code, message } : { code, path, message };
  return { ok: false, error };
}

/**
 * Checks one method's argument object at the boundary. Returns null when the arguments are
 * acceptable, else a `bad-input` error naming the path (`args.name`). Hand-written per method
 * with the helpers in validate.ts, so that no schema library is needed in the sandboxed preload.
 */
export type ArgsValidator = (args: unknown) => ApiError | null;

/** A method of the service: one argument object in, one Result out. */
export type ApiMethod<A, R> = (args: A) => Promise<Result<R>>;

/**
 * The runtime half of an area: every method name of the area's interface, mapped to its
 * validator. `satisfies MethodDescriptor<LibraryApi>` makes the compiler check that the
 * descriptor lists exactly the interface's methods.
 */
export type MethodDescriptor<Api> = { [K in keyof Api]: ArgsValidator };

/**
 * The runtime half of an area's events: every event name mapped to `true`. Event payloads are
 * produced by main, so they are typed but not validated.
 */
export type EventDescriptor<Events> = { [K in keyof Events]: true };

/** Extracts the argument type of a service method. */
export type ArgsOf<M> = M extends (args: infer A) => Promise<Result<unknown>> ? A : never;
/** Extracts the value type of a service method's Result. */
export type ValueOf<M> = M extends (args: never) => Promise<Result<infer R>> ? R : never;

/** Event names must look like `onRunProgress` (VS Code's convention `onUpperCase`). */
export const EVENT_NAME_PATTERN = /^on[A-Z][A-Za-z0-9]*$/;
/** Method names are lowerCamelCase identifiers; transports put them in URLs and IPC payloads. */
export const METHOD_NAME_PATTERN = /^[a-z][A-Za-z0-9]*$/;

/** One event as it crosses a transport. */
export interface ApiEventMessage {
  name: string;
  payload: unknown;
}

/** Name of the IPC channel for calls (renderer -> main) and for events (main -> renderer). */
export const IPC_CALL_CHANNEL = 'septwb:call';
export const IPC_EVENT_CHANNEL = 'septwb:event';
/** HTTP paths of browser mode: POST `${HTTP_API_PREFIX}<method>`, GET the event stream. */
export const HTTP_API_PREFIX = '/api/';
export const HTTP_EVENTS_PATH = '/api/events';
