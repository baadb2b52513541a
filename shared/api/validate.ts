// Small validators for api arguments (see ArgsValidator in contract.ts). Each returns null when
// the value is acceptable, else a bad-input ApiError naming the path. They never throw, whatever
// the input: the renderer, a browser page or a CLI user may send anything.
import type { ApiError, ArgsValidator } from './contract.ts';

export function badInput(path: string, message: string): ApiError {
  return { code: 'bad-input', path, message };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A field checker: given the field's value and its path, null or an error. */
export type FieldCheck = (value: unknown, path: string) => ApiError | null;

export interface StringLimits {
  lengthMin?: number;
  lengthMax?: number;
}

export function str(limits: StringLimits = {}): FieldCheck {
  const lengthMin = limits.lengthMin ?? 0;
  const lengthMax = limits.lengthMax ?? 1_000_000;
  return (value, path) => {
    if (typeof value !== 'string') return badInput(path, `expected a string, got ${describe(value)}`);
    if (value.length < lengthMin) return badInput(path, `must be at least ${lengthMin} characters`);
    if (value.length > lengthMax) return badInput(path, `must be at most ${lengthMax} characters`);
    return null;
  };
}

export function int(min: number, max: number): FieldCheck {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      return badInput(path, `expected an integer, got ${describe(value)}`);
    }
    if (value < min || value > max) return badInput(path, `must be in [${min}, ${max}], got ${value}`);
    return null;
  };
}

export function bool(): FieldCheck {
  return (value, path) => (typeof value === 'boolean' ? null : badInput(path, `expected a boolean, got ${describe(value)}`));
}

export function oneOf(values: readonly string[]): FieldCheck {
  return (value, path) =>
    typeof value === 'string' && values.includes(value)
      ? null
      : badInput(path, `expected one of ${values.join(', ')}, got ${describe(value)}`);
}

/** Any JSON value; its content is checked by the method itself (e.g. the scenario schema). */
export function anyJson(): FieldCheck {
  return () => null;
}

export function optional(check: FieldCheck): FieldCheck {
  return (value, path) => (value === undefined ? null : check(value, path));
}

export function arrayOf(check: FieldCheck, lengthMax: number): FieldCheck {
  return (value, path) => {
    if (!Array.isArray(value)) return badInput(path, `expected an array, got ${describe(value)}`);
    if (value.length > lengthMax) return badInput(path, `must have at most ${lengthMax} items`);
    for (let i = 0; i < value.length; i++) {
      const problem = check(value[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return null;
  };
}

/**
 * The argument object of a method: exactly these fields (unknown fields are refused, so that a
 * misspelled option is an error rather than silently ignored).
 */
export function args(fields: Record<string, FieldCheck>): ArgsValidator {
  return (value) => objectOf(fields)(value, 'args');
}

export function objectOf(fields: Record<string, FieldCheck>): FieldCheck {
  return (value, path) => {
    if (!isPlainObject(value)) return badInput(path, `expected an object, got ${describe(value)}`);
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(fields, key)) return badInput(`${path}.${key}`, 'unknown field');
    }
    for (const [key, check] of Object.entries(fields)) {
      const problem = check(value[key], `${path}.${key}`);
      if (problem) return problem;
    }
    return null;
  };
}

/** A method that takes no arguments still takes one (empty) object. */
export const noArgs: ArgsValidator = args({});

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? 'a string' : JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}
