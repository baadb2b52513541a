// The one generic call path both transports use (VS Code's ProxyChannel.fromService, in
// spirit): look the method up in the contract, validate its arguments, call it, and turn
// anything thrown into an `internal` error value. No per-method code lives here or in a
// transport.
import { checkCall, type SeptwbApi } from '../../shared/api/api.ts';
import type { Result } from '../../shared/api/contract.ts';

/**
 * Runs one call. Returns the method's Result; `bad-input` (with the path) when the method is
 * unknown or the arguments fail the contract's validator; `internal` when the method threw,
 * which is a bug in our code, so the message is logged through `logError`.
 */
export async function dispatchCall(
  service: SeptwbApi,
  method: unknown,
  callArgs: unknown,
  logError: (message: string) => void = () => {},
): Promise<Result<unknown>> {
  const problem = checkCall(method, callArgs);
  if (problem) return { ok: false, error: problem };
  const name = method as keyof SeptwbApi;
  try {
    const fn = service[name] as (a: unknown) => Promise<Result<unknown>>;
    return await fn.call(service, callArgs);
  } catch (thrown) {
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    logError(`api ${String(name)} threw: ${thrown instanceof Error && thrown.stack ? thrown.stack : message}`);
    return { ok: false, error: { code: 'internal', message: `${String(name)} failed: ${message}` } };
  }
}
