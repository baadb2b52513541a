// The whole service: every area's interface, and every area's descriptor merged into one table.
// Transports (main/electron, main/server), the preload allowlist and the renderer's client all
// read API_METHODS / API_EVENTS, so a new method needs no transport code.
//
// To add an area: import its interface, events and descriptors here, one line each below.
import type { ApiEventMessage, ApiError, ArgsValidator, ArgsOf, ValueOf, Result } from './contract.ts';
import { type CompareApi, type CompareEvents, compareEvents, compareMethods } from './compare.ts';
import { type LibraryApi, type LibraryEvents, libraryEvents, libraryMethods } from './library.ts';
import { type RunsApi, runsMethods } from './runs.ts';
import { type JobsApi, type JobsEvents, jobsEvents, jobsMethods } from './jobs.ts';

/** The service main implements and the renderer calls. */
export interface SeptwbApi extends LibraryApi, RunsApi, CompareApi, JobsApi {}

/** Every event main may emit, by name, with its payload type. */
export interface SeptwbEvents extends LibraryEvents, CompareEvents, JobsEvents {}

export const API_METHODS: { readonly [K in keyof SeptwbApi]: ArgsValidator } = {
  ...libraryMethods,
  ...runsMethods,
  ...compareMethods,
  ...jobsMethods,
};

export const API_EVENTS: { readonly [K in keyof SeptwbEvents]: true } = {
  ...libraryEvents,
  ...compareEvents,
  ...jobsEvents,
};

export type MethodName = keyof SeptwbApi & string;
export type EventName = keyof SeptwbEvents & string;
export type MethodArgs<M extends MethodName> = ArgsOf<SeptwbApi[M]>;
export type MethodValue<M extends MethodName> = ValueOf<SeptwbApi[M]>;

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.hasOwn(API_METHODS, name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.hasOwn(API_EVENTS, name);
}

/**
 * Checks a call as it arrives at a transport: the method must be in the contract and its
 * arguments must pass the method's validator. Returns null when the call may proceed.
 */
export function checkCall(method: unknown, callArgs: unknown): ApiError | null {
  if (!isMethodName(method)) {
    return { code: 'bad-input', path: 'method', message: `unknown method ${JSON.stringify(String(method)).slice(0, 80)}` };
  }
  return API_METHODS[method](callArgs);
}

/** A typed event message: the name picks the payload type. */
export type SeptwbEventMessage = {
  [K in EventName]: { name: K; payload: SeptwbEvents[K] };
}[EventName] & ApiEventMessage;

/** The shape both transports hand to the renderer's client. */
export interface ApiTransport {
  call(method: MethodName, args: unknown): Promise<Result<unknown>>;
  /** Subscribes to every event; returns the unsubscribe function. */
  listen(listener: (message: ApiEventMessage) => void): () => void;
}
