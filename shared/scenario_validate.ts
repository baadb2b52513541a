// The scenario validator: untrusted input in, a normalized `Scenario` or a list of errors out.
// Bad input is the third kind of check in STYLE.md section 0: every problem becomes an error
// value that names its JSON path (`$.phases[0].threads.vcpu0[2].gfn`), all of them are listed,
// and nothing here throws, even for hostile values (accessors, proxies, prototype keys, NaN,
// huge arrays). Shape checks come first, then the checks that need the VM (GFNs inside
// memslots, private memory, 2M alignment, vCPU indices, schedule names, size limits).
// Pure: no Node imports, the renderer uses this file.
import {
  DESIGN_IDS, GUEST_OPS, LOCK_MODES, OP_NAMES, PAGES_PER_LEVEL, SCENARIO_SCHEMA_ID, SCHEDULE_KINDS,
  SEAMCALL_NAMES, TD_STATES, TEARDOWN_VARIANTS, vcpuIndexOf,
  type Annotation, type DesignId, type Injection, type Memslot, type Op, type OpName, type Phase,
  type Scenario, type Schedule, type SeamcallName, type VmConfig, type ViewState,
} from './scenario.ts';
import { tdx_status_names, tdx_status_parse } from './tdx_status.ts';
import { findJsonSyntaxError, formatJsonPath, locateJsonPath, type JsonPath } from './json_locate.ts';

export interface ScenarioError {
  /** JSON path of the offending value, from `$`. */
  path: string;
  problem: string;
  /** 1-based position in the source text, when parseScenarioText could locate the path. */
  line?: number;
  column?: number;
}

export type ScenarioResult = { ok: true; scenario: Scenario } | { ok: false; errors: ScenarioError[] };

/** Every size limit of the format, in one place (the JSON Schema repeats the shape ones). */
export const SCENARIO_LIMITS = {
  opsExpandedMax: 10_000_000,
  opsPerThreadMax: 10_000_000,
  phasesMax: 1000,
  threadsPerPhaseMax: 128,
  vcpusMax: 64,
  memslotsMax: 64,
  memslotIdMax: 32767,
  injectMax: 256,
  nthMax: 1_000_000_000,
  timesMax: 1_000_000_000,
  scheduleLengthMax: 10_000_000,
  nameLengthMax: 200,
  descriptionLengthMax: 20_000,
  phaseNameLengthMax: 64,
  annotationsMax: 10_000,
  annotationTextLengthMax: 2000,
  pinnedLanesMax: 256,
  laneIdLengthMax: 200,
  schemaHintLengthMax: 2000,
  /** Errors listed before the validator stops looking (hostile input can have millions). */
  errorsMax: 1000,
  /** parseScenarioText refuses longer texts before parsing them. */
  textLengthMax: 32 * 1024 * 1024,
  /** parseScenarioText locates this many errors in the text; each costs a scan. */
  locatedErrorsMax: 100,
} as const;

/** Host thread names; `vcpuN` names are checked separately. */
const THREAD_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const HEX_GFN = /^0x[0-9a-fA-F]{1,13}$/;

/**
 * Guest physical address bits below the TDX shared bit: GPAW 48 for a 4-level root, 52 for 5
 * levels, and the top bit of each selects the shared alias. Memslots live below it.
 */
function gfnLimitOf(rootLevel: 4 | 5): number {
  return rootLevel === 4 ? 2 ** (47 - 12) : 2 ** (51 - 12);
}

// ---------------------------------------------------------------------------------------------
// Collecting errors, reading untrusted values.

class Checker {
  readonly errors: { path: JsonPath; problem: string }[] = [];
  full = false;

  fail(path: JsonPath, problem: string): void {
    if (this.errors.length < SCENARIO_LIMITS.errorsMax) {
      this.errors.push({ path, problem });
      return;
    }
    if (!this.full) this.errors.push({ path: [], problem: `more than ${SCENARIO_LIMITS.errorsMax} errors; the rest are not listed` });
    this.full = true;
  }
}

/** A short, safe description of a value for a problem text. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string': return v.length > 40 ? `${JSON.stringify(v.slice(0, 40))}...` : JSON.stringify(v);
    case 'number': return String(v);
    case 'boolean': return String(v);
    case 'object': return 'an object';
    default: return `a ${typeof v}`;
  }
}

/** Own enumerable data properties of a plain object, copied into a Map (no prototype to pollute). */
function readObject(c: Checker, v: unknown, path: JsonPath): Map<string, unknown> | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    c.fail(path, `expected an object, got ${describe(v)}`);
    return null;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    c.fail(path, 'expected a plain object');
    return null;
  }
  const fields = new Map<string, unknown>();
  for (const key of Object.keys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, key);
    if (d === undefined) continue;
    if (!('value' in d)) c.fail([...path, key], 'accessor properties are not allowed');
    else fields.set(key, d.value);
  }
  return fields;
}

/** Elements of a plain array within length bounds; holes read as undefined. */
function readArray(c: Checker, v: unknown, path: JsonPath, min: number, max: number): unknown[] | null {
  if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) {
    c.fail(path, `expected an array, got ${describe(v)}`);
    return null;
  }
  if (v.length < min || v.length > max) {
    c.fail(path, `expected ${min}..${max} entries, got ${v.length}`);
    return null;
  }
  const out: unknown[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const d = Object.getOwnPropertyDescriptor(v, i);
    if (d !== undefined && !('value' in d)) c.fail([...path, i], 'accessor properties are not allowed');
    out[i] = d === undefined ? undefined : d.value;
  }
  return out;
}

/** Reports fields not in `allowed`, with a hint when only the case differs. */
function checkKnown(c: Checker, fields: Map<string, unknown>, allowed: readonly string[], path: JsonPath): void {
  for (const key of fields.keys()) {
    if (allowed.includes(key)) continue;
    const hint = allowed.find((a) => a.toLowerCase() === key.toLowerCase());
    c.fail([...path, key], `unknown field ${describe(key)}${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`);
  }
}

/** An optional field's value, or its default when absent (an explicit null is a value, and wrong). */
function opt(fields: Map<string, unknown>, key: string, fallback: unknown): unknown {
  const v = fields.get(key);
  return v === undefined ? fallback : v;
}

/** The field's value, or `undefined` after reporting it missing (when there is no default). */
function field(c: Checker, fields: Map<string, unknown>, key: string, path: JsonPath, required: boolean): unknown {
  const v = fields.get(key);
  if (v === undefined && required) c.fail([...path, key], 'required field is missing');
  return v;
}

function readInt(c: Checker, v: unknown, path: JsonPath, min: number, max: number): number | null {
  // `+ 0` turns -0 into 0, so a normalized scenario prints the same after a JSON round trip.
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v + 0;
  c.fail(path, `expected an integer ${min}..${max}, got ${describe(v)}`);
  return null;
}

function readString(c: Checker, v: unknown, path: JsonPath, min: number, max: number): string | null {
  if (typeof v === 'string' && v.length >= min && v.length <= max) return v;
  if (typeof v === 'string') c.fail(path, `expected ${min}..${max} characters, got ${v.length}`);
  else c.fail(path, `expected a string, got ${describe(v)}`);
  return null;
}

function readBool(c: Checker, v: unknown, path: JsonPath): boolean | null {
  if (typeof v === 'boolean') return v;
  c.fail(path, `expected true or false, got ${describe(v)}`);
  return null;
}

function readEnum<T extends string>(c: Checker, v: unknown, path: JsonPath, values: readonly T[]): T | null {
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  c.fail(path, `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v)}`);
  return null;
}

/** A GFN: a hex string "0x1234" or a non-negative integer. Range checks come with the memslots. */
function readGfn(c: Checker, v: unknown, path: JsonPath): number | null {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v + 0;
  if (typeof v === 'string' && HEX_GFN.test(v)) return parseInt(v.slice(2), 16);
  c.fail(path, `expected a GFN: a hex string like "0x1234" or a non-negative integer, got ${describe(v)}`);
  return null;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

// ---------------------------------------------------------------------------------------------
// VM configuration.

const VM_FIELDS = ['rootLevel', 'vcpus', 'tdState', 'privateHugePages', 'memslots', 'features'] as const;
const MEMSLOT_FIELDS = ['id', 'baseGfn', 'pages', 'private'] as const;
const FEATURE_FIELDS = ['enhanceDemoteInterruptibility'] as const;

function validateVm(c: Checker, v: unknown, path: JsonPath): VmConfig | null {
  const f = readObject(c, v, path);
  if (f === null) return null;
  checkKnown(c, f, VM_FIELDS, path);
  const rootRaw = opt(f, 'rootLevel', 4);
  const rootLevel = rootRaw === 4 || rootRaw === 5 ? rootRaw : null;
  if (rootLevel === null) c.fail([...path, 'rootLevel'], `expected 4 or 5, got ${describe(rootRaw)}`);
  const vcpus = readInt(c, opt(f, 'vcpus', 1), [...path, 'vcpus'], 1, SCENARIO_LIMITS.vcpusMax);
  const tdState = readEnum(c, opt(f, 'tdState', 'runnable'), [...path, 'tdState'], TD_STATES);
  const privateHugePages = readBool(c, opt(f, 'privateHugePages', false), [...path, 'privateHugePages']);
  const features = validateFeatures(c, opt(f, 'features', {}), [...path, 'features']);
  const slotsRaw = field(c, f, 'memslots', path, true);
  const memslots = slotsRaw === undefined ? null : validateMemslots(c, slotsRaw, [...path, 'memslots'], rootLevel ?? 4);
  if (rootLevel === null || vcpus === null || tdState === null || privateHugePages === null) return null;
  if (features === null || memslots === null) return null;
  return { rootLevel, vcpus, tdState, privateHugePages, memslots, features };
}

function validateFeatures(c: Checker, v: unknown, path: JsonPath): VmConfig['features'] | null {
  const f = readObject(c, v, path);
  if (f === null) return null;
  checkKnown(c, f, FEATURE_FIELDS, path);
  const enhance = readBool(c, opt(f, 'enhanceDemoteInterruptibility', true), [...path, 'enhanceDemoteInterruptibility']);
  return enhance === null ? null : { enhanceDemoteInterruptibility: enhance };
}

function validateMemslot(c: Checker, v: unknown, path: JsonPath, gfnLimit: number): Memslot | null {
  const f = readObject(c, v, path);
  if (f === null) return null;
  checkKnown(c, f, MEMSLOT_FIELDS, path);
  const idRaw = field(c, f, 'id', path, true);
  const id = idRaw === undefined ? null : readInt(c, idRaw, [...path, 'id'], 0, SCENARIO_LIMITS.memslotIdMax);
  const baseRaw = field(c, f, 'baseGfn', path, true);
  const baseGfn = baseRaw === undefined ? null : readGfn(c, baseRaw, [...path, 'baseGfn']);
  const pagesRaw = field(c, f, 'pages', path, true);
  const pages = pagesRaw === undefined ? null : readInt(c, pagesRaw, [...path, 'pages'], 1, gfnLimit);
  const isPrivate = readBool(c, opt(f, 'private', false), [...path, 'private']);
  if (id === null || baseGfn === null || pages === null || isPrivate === null) return null;
  if (baseGfn + pages > gfnLimit) {
    c.fail([...path, 'pages'], `the slot ends at ${hex(baseGfn + pages)}, above the last private GFN ${hex(gfnLimit - 1)} of this root level (the shared bit)`);
    return null;
  }
  return { id, baseGfn, pages, private: isPrivate };
}

/** Memslots: each valid, ids unique, ranges disjoint (KVM refuses overlapping slots). */
function validateMemslots(c: Checker, v: unknown, path: JsonPath, rootLevel: 4 | 5): Memslot[] | null {
  const list = readArray(c, v, path, 1, SCENARIO_LIMITS.memslotsMax);
  if (list === null) return null;
  const slots = list.map((s, i) => validateMemslot(c, s, [...path, i], gfnLimitOf(rootLevel)));
  let ok = slots.every((s) => s !== null);
  for (let i = 0; i < slots.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = slots[j];
      const b = slots[i];
      if (a === null || b === null) continue;
      if (a.id === b.id) {
        c.fail([...path, i, 'id'], `memslot id ${b.id} is already used by memslots[${j}]`);
        ok = false;
      } else if (b.baseGfn < a.baseGfn + a.pages && a.baseGfn < b.baseGfn + b.pages) {
        c.fail([...path, i, 'baseGfn'], `memslot ${b.id} overlaps memslot ${a.id}`);
        ok = false;
      }
    }
  }
  return ok ? (slots as Memslot[]) : null;
}

// ---------------------------------------------------------------------------------------------
// Designs, seed, fault injection.

function validateDesigns(c: Checker, v: unknown, path: JsonPath): DesignId[] | null {
  const list = readArray(c, v, path, 1, DESIGN_IDS.length);
  if (list === null) return null;
  const designs: DesignId[] = [];
  list.forEach((d, i) => {
    const id = readEnum(c, d, [...path, i], DESIGN_IDS);
    if (id !== null && designs.includes(id)) c.fail([...path, i], `design ${JSON.stringify(id)} is listed twice`);
    else if (id !== null) designs.push(id);
  });
  return designs.length === list.length ? designs : null;
}

const STATUS = /^(TDX_[A-Z0-9_]{1,60})(?:\|([A-Z0-9_]{1,16}|0x[0-9a-fA-F]{1,4}|[0-9]{1,5}))?$/;

/**
 * A TDX status name, optionally "|operand" (a register or object name, or an operand id), as
 * tdx_status_parse (shared/tdx_status.ts) reads it; the engine turns it into a value with that.
 */
function readStatus(c: Checker, v: unknown, path: JsonPath): string | null {
  const m = typeof v === 'string' ? STATUS.exec(v) : null;
  if (m === null) {
    c.fail(path, `expected a TDX status name like "TDX_OPERAND_BUSY" or "TDX_OPERAND_BUSY|RCX", got ${describe(v)}`);
    return null;
  }
  if (!tdx_status_names().includes(m[1])) {
    c.fail(path, `unknown TDX status ${JSON.stringify(m[1])}`);
    return null;
  }
  if (tdx_status_parse(m[0]) === null) {
    c.fail(path, `unknown operand ${JSON.stringify(m[2])}; expected a register (RCX, RDX, R8...), an object (TDR, SEPT, SEPT_ENTRY, TD_EPOCH...) or an id`);
    return null;
  }
  return m[0];
}

const INJECT_FIELDS = ['seamcall', 'nth', 'status', 'times'] as const;

function validateInjection(c: Checker, v: unknown, path: JsonPath): Injection | null {
  const f = readObject(c, v, path);
  if (f === null) return null;
  checkKnown(c, f, INJECT_FIELDS, path);
  const callRaw = field(c, f, 'seamcall', path, true);
  const seamcall = callRaw === undefined ? null : readEnum<SeamcallName>(c, callRaw, [...path, 'seamcall'], SEAMCALL_NAMES);
  const nthRaw = field(c, f, 'nth', path, true);
  const nth = nthRaw === undefined ? null : readInt(c, nthRaw, [...path, 'nth'], 1, SCENARIO_LIMITS.nthMax);
  const statusRaw = field(c, f, 'status', path, true);
  const status = statusRaw === undefined ? null : readStatus(c, statusRaw, [...path, 'status']);
  const times = readInt(c, opt(f, 'times', 1), [...path, 'times'], 1, SCENARIO_LIMITS.timesMax);
  if (seamcall === null || nth === null || status === null || times === null) return null;
  return { seamcall, nth, status, times };
}

/** Injections; two on the same SEAMCALL may not cover the same call. */
function validateInject(c: Checker, v: unknown, path: JsonPath): Injection[] | null {
  const list = readArray(c, v, path, 0, SCENARIO_LIMITS.injectMax);
  if (list === null) return null;
  const inject = list.map((x, i) => validateInjection(c, x, [...path, i]));
  let ok = inject.every((x) => x !== null);
  inject.forEach((b, i) => {
    inject.slice(0, i).forEach((a, j) => {
      if (a === null || b === null || a.seamcall !== b.seamcall) return;
      if (b.nth < a.nth + a.times && a.nth < b.nth + b.times) {
        c.fail([...path, i, 'nth'], `calls ${b.nth}..${b.nth + b.times - 1} of ${b.seamcall} are already covered by inject[${j}]`);
        ok = false;
      }
    });
  });
  return ok ? (inject as Injection[]) : null;
}


// ---------------------------------------------------------------------------------------------
// Operations.

/** Fields each operation takes besides `op`. */
const OP_FIELDS: Readonly<Record<OpName, readonly string[]>> = {
  'fault': ['gfn', 'level', 'private'],
  'fault-range': ['gfn', 'pages', 'level', 'private'],
  'accept': ['gfn', 'level'],
  'populate': ['gfn', 'pages'],
  'finalize': [],
  'convert': ['gfn', 'pages', 'to'],
  'punch-hole': ['gfn', 'pages'],
  'memslot-delete': ['slot'],
  'memslot-create': ['slot'],
  'split': ['gfn', 'pages'],
  'zap-range': ['gfn', 'pages', 'tables'],
  'vcpu-enter': ['zeroStep'],
  'vcpu-exit': [],
  'teardown': ['variant'],
  'wrprot-leaf': ['gfn', 'lock'],
  'age-leaf': ['gfn'],
  'zap-nonleaf-shared': ['gfn', 'level'],
  'map-under-write-lock': ['gfn'],
  'promote': ['gfn'],
};

/**
 * Operations that act on private memory, so their GFNs must be in a guest_memfd (private)
 * memslot. `fault` and `fault-range` decide by their `private` field; `zap-range` zaps both
 * roots and takes any slot.
 */
const PRIVATE_OPS: ReadonlySet<OpName> = new Set<OpName>([
  'accept', 'populate', 'convert', 'punch-hole', 'split', 'wrprot-leaf', 'age-leaf',
  'zap-nonleaf-shared', 'map-under-write-lock', 'promote',
]);

/** The raw fields of one operation after their shape checks; absent when not given or bad. */
interface OpFields {
  gfn?: number;
  pages?: number;
  level?: string;
  private?: boolean;
  to?: 'shared' | 'private';
  slot?: number;
  tables?: boolean;
  zeroStep?: boolean;
  variant?: (typeof TEARDOWN_VARIANTS)[number];
  lock?: (typeof LOCK_MODES)[number];
}

/** Which levels an operation's `level` may name, and whether it must be given. */
function levelsOf(op: OpName): { values: readonly string[]; required: boolean } {
  if (op === 'zap-nonleaf-shared') return { values: ['2M', '1G'], required: true };
  return { values: ['4K', '2M'], required: op === 'accept' };
}

/** Reads and shape-checks every field the operation takes. Returns null if any is bad. */
function readOpFields(c: Checker, op: OpName, f: Map<string, unknown>, path: JsonPath): OpFields | null {
  const out: OpFields = {};
  const before = c.errors.length;
  for (const name of OP_FIELDS[op]) {
    const at = [...path, name];
    const v = f.get(name);
    const optional = name === 'private' || name === 'tables' || name === 'zeroStep' || name === 'variant' ||
      (name === 'level' && !levelsOf(op).required);
    if (v === undefined) {
      if (!optional) c.fail(at, 'required field is missing');
      continue;
    }
    switch (name) {
      case 'gfn': out.gfn = readGfn(c, v, at) ?? undefined; break;
      case 'pages': out.pages = readInt(c, v, at, 1, 2 ** 40) ?? undefined; break;
      case 'slot': out.slot = readInt(c, v, at, 0, SCENARIO_LIMITS.memslotIdMax) ?? undefined; break;
      case 'level': out.level = readEnum(c, v, at, levelsOf(op).values) ?? undefined; break;
      case 'private': out.private = readBool(c, v, at) ?? undefined; break;
      case 'tables': out.tables = readBool(c, v, at) ?? undefined; break;
      case 'zeroStep': out.zeroStep = readBool(c, v, at) ?? undefined; break;
      case 'to': out.to = readEnum(c, v, at, ['shared', 'private'] as const) ?? undefined; break;
      case 'variant': out.variant = readEnum(c, v, at, TEARDOWN_VARIANTS) ?? undefined; break;
      case 'lock': out.lock = readEnum(c, v, at, LOCK_MODES) ?? undefined; break;
    }
  }
  return c.errors.length === before ? out : null;
}

/** Builds the normalized operation from checked fields; `isPrivate` is the resolved memory kind. */
function buildOp(op: OpName, x: OpFields, isPrivate: boolean): Op {
  const gfn = x.gfn ?? 0;
  const pages = x.pages ?? 1;
  const level = x.level === '2M' ? '2M' : '4K';
  switch (op) {
    case 'fault': return { op, gfn, level, private: isPrivate };
    case 'fault-range': return { op, gfn, pages, level, private: isPrivate };
    case 'accept': return { op, gfn, level };
    case 'populate': return { op, gfn, pages };
    case 'finalize': return { op };
    case 'convert': return { op, gfn, pages, to: x.to ?? 'shared' };
    case 'punch-hole': return { op, gfn, pages };
    case 'memslot-delete': return { op, slot: x.slot ?? 0 };
    case 'memslot-create': return { op, slot: x.slot ?? 0 };
    case 'split': return { op, gfn, pages };
    case 'zap-range': return { op, gfn, pages, tables: x.tables ?? false };
    case 'vcpu-enter': return { op, zeroStep: x.zeroStep ?? false };
    case 'vcpu-exit': return { op };
    case 'teardown': return { op, variant: x.variant ?? 'ordered' };
    case 'wrprot-leaf': return { op, gfn, lock: x.lock ?? 'write' };
    case 'age-leaf': return { op, gfn };
    case 'zap-nonleaf-shared': return { op, gfn, level: x.level === '1G' ? '1G' : '2M' };
    case 'map-under-write-lock': return { op, gfn };
    case 'promote': return { op, gfn };
  }
}

/** How many 4K pages from `gfn` the operation touches, for the memslot range check. */
function spanOf(op: OpName, x: OpFields): number {
  if (x.pages !== undefined) return x.pages;
  if (op === 'promote') return PAGES_PER_LEVEL['2M'];
  if (op === 'zap-nonleaf-shared') return 1;
  return x.level === '2M' ? PAGES_PER_LEVEL['2M'] : 1;
}

/**
 * Checks an operation's GFN range against the VM: inside one memslot, private when the
 * operation needs private memory, 2M-aligned for 2M mappings, and 2M private mappings only
 * with vm.privateHugePages. Returns whether the memory is private.
 */
function checkOpMemory(c: Checker, op: OpName, x: OpFields, vm: VmConfig, path: JsonPath): boolean {
  const gfn = x.gfn ?? 0;
  const slot = vm.memslots.find((s) => gfn >= s.baseGfn && gfn < s.baseGfn + s.pages);
  if (slot === undefined) {
    c.fail([...path, 'gfn'], `gfn ${hex(gfn)} is in no memslot`);
    return x.private ?? true;
  }
  const span = spanOf(op, x);
  const slotEnd = slot.baseGfn + slot.pages;
  if (gfn + span > slotEnd) {
    const at = x.pages !== undefined ? 'pages' : 'gfn';
    c.fail([...path, at], `${span} pages from ${hex(gfn)} run past the end of memslot ${slot.id} (last gfn ${hex(slotEnd - 1)})`);
  }
  const isPrivate = PRIVATE_OPS.has(op) || (x.private ?? slot.private);
  if (isPrivate && !slot.private) {
    const at = x.private === true ? 'private' : 'gfn';
    c.fail([...path, at], `${op} needs private memory, but memslot ${slot.id} is not private`);
  }
  const huge = x.level === '2M' && op !== 'zap-nonleaf-shared';
  if ((huge || op === 'promote') && gfn % PAGES_PER_LEVEL['2M'] !== 0) {
    c.fail([...path, 'gfn'], `a 2M ${op} needs a 2M-aligned gfn (a multiple of 0x200), got ${hex(gfn)}`);
  }
  if (huge && op === 'fault-range' && span % PAGES_PER_LEVEL['2M'] !== 0) {
    c.fail([...path, 'pages'], `a 2M fault-range needs pages in multiples of 512, got ${span}`);
  }
  if (huge && isPrivate && !vm.privateHugePages) {
    c.fail([...path, 'level'], '2M private mappings need vm.privateHugePages: true');
  }
  return isPrivate;
}

/** The thread-level rules: guest operations on vCPU threads, build-time operations before finalize. */
function checkOpContext(c: Checker, op: OpName, thread: string, vm: VmConfig | null, path: JsonPath): void {
  if (GUEST_OPS.has(op) && vcpuIndexOf(thread) < 0) {
    c.fail([...path, 'op'], `${op} is a guest-side operation and needs a vcpuN thread, not ${JSON.stringify(thread)}`);
  }
  if ((op === 'populate' || op === 'finalize') && vm !== null && vm.tdState !== 'initialized') {
    c.fail([...path, 'op'], `${op} is build-time (before TDH.MR.FINALIZE) and needs vm.tdState "initialized"`);
  }
}

/** One operation; `thread` is null when the thread's name is already reported bad. */
function validateOp(c: Checker, v: unknown, path: JsonPath, thread: string | null, vm: VmConfig | null): Op | null {
  const f = readObject(c, v, path);
  if (f === null) return null;
  const nameRaw = field(c, f, 'op', path, true);
  if (nameRaw === undefined) return null;
  const op = readEnum<OpName>(c, nameRaw, [...path, 'op'], OP_NAMES);
  if (op === null) return null;
  checkKnown(c, f, ['op', ...OP_FIELDS[op]], path);
  const before = c.errors.length;
  const x = readOpFields(c, op, f, path);
  if (x === null) return null;
  if (thread !== null) checkOpContext(c, op, thread, vm, path);
  let isPrivate = x.private ?? true;
  if (vm !== null && x.gfn !== undefined) isPrivate = checkOpMemory(c, op, x, vm, path);
  if ((op === 'memslot-delete' || op === 'memslot-create') && vm !== null && !vm.memslots.some((s) => s.id === x.slot)) {
    c.fail([...path, 'slot'], `no memslot with id ${x.slot} in vm.memslots`);
  }
  return c.errors.length === before ? buildOp(op, x, isPrivate) : null;
}

/** Operations an entry stands for once ranges are expanded (a fault-range is one fault per mapping). */
function expandedCount(op: Op): number {
  if (op.op !== 'fault-range') return 1;
  return Math.ceil(op.pages / PAGES_PER_LEVEL[op.level]);
}

// ---------------------------------------------------------------------------------------------
// Phases and threads.

const PHASE_FIELDS = ['name', 'threads'] as const;

/** Checks a thread name: vcpuN with N < vcpus, or a host name. Returns whether it is usable. */
function checkThreadName(c: Checker, name: string, path: JsonPath, vm: VmConfig | null): boolean {
  const vcpu = vcpuIndexOf(name);
  if (vcpu >= 0) {
    if (vm !== null && vcpu >= vm.vcpus) c.fail(path, `thread ${name} needs vm.vcpus > ${vcpu} (vcpus is ${vm.vcpus})`);
    return vm === null || vcpu < vm.vcpus;
  }
  if (name.startsWith('vcpu')) {
    c.fail(path, `a vCPU thread is named vcpuN, N a decimal index without leading zeros; got ${describe(name)}`);
    return false;
  }
  if (!THREAD_NAME.test(name)) {
    c.fail(path, `a thread name is vcpuN or matches ^[a-z][a-z0-9_-]{0,31}$; got ${describe(name)}`);
    return false;
  }
  return true;
}

interface PhaseTally {
  threadNames: Set<string>;
  opsExpanded: number;
}

function validatePhase(c: Checker, v: unknown, path: JsonPath, vm: VmConfig | null, tally: PhaseTally): Phase | null {
  const f = readObject(c, v, path);
  if (f === null) return null;
  checkKnown(c, f, PHASE_FIELDS, path);
  const nameRaw = field(c, f, 'name', path, true);
  const name = nameRaw === undefined ? null : readString(c, nameRaw, [...path, 'name'], 1, SCENARIO_LIMITS.phaseNameLengthMax);
  const threadsRaw = field(c, f, 'threads', path, true);
  if (threadsRaw === undefined) return null;
  const tf = readObject(c, threadsRaw, [...path, 'threads']);
  if (tf === null) return null;
  const before = c.errors.length;
  if (tf.size < 1 || tf.size > SCENARIO_LIMITS.threadsPerPhaseMax) {
    c.fail([...path, 'threads'], `expected 1..${SCENARIO_LIMITS.threadsPerPhaseMax} threads, got ${tf.size}`);
  }
  const threads: Record<string, Op[]> = {};
  for (const [thread, opsRaw] of tf) {
    const at = [...path, 'threads', thread];
    // A bad thread name is one error; its operations are still checked, without thread rules.
    const threadOk = checkThreadName(c, thread, at, vm);
    tally.threadNames.add(thread);
    const list = readArray(c, opsRaw, at, 1, SCENARIO_LIMITS.opsPerThreadMax);
    if (list === null) continue;
    const ops: Op[] = [];
    for (let i = 0; i < list.length && !c.full; i++) {
      const op = validateOp(c, list[i], [...at, i], threadOk ? thread : null, vm);
      if (op === null) continue;
      ops.push(op);
      tally.opsExpanded += expandedCount(op);
    }
    threads[thread] = ops;
  }
  if (name === null || c.errors.length !== before) return null;
  return { name, threads };
}

function validatePhases(c: Checker, v: unknown, path: JsonPath, vm: VmConfig | null, tally: PhaseTally): Phase[] | null {
  const list = readArray(c, v, path, 1, SCENARIO_LIMITS.phasesMax);
  if (list === null) return null;
  const phases: Phase[] = [];
  const names = new Map<string, number>();
  for (let i = 0; i < list.length && !c.full; i++) {
    const phase = validatePhase(c, list[i], [...path, i], vm, tally);
    if (phase === null) continue;
    const first = names.get(phase.name);
    if (first !== undefined) c.fail([...path, i, 'name'], `phase name ${JSON.stringify(phase.name)} is already used by phases[${first}]`);
    else names.set(phase.name, i);
    phases.push(phase);
  }
  if (tally.opsExpanded > SCENARIO_LIMITS.opsExpandedMax) {
    c.fail(path, `the phases expand to ${tally.opsExpanded} operations; the limit is ${SCENARIO_LIMITS.opsExpandedMax}`);
    return null;
  }
  return phases.length === list.length ? phases : null;
}

// ---------------------------------------------------------------------------------------------
// Schedule and view state.

function validateSchedule(c: Checker, v: unknown, path: JsonPath, threadNames: Set<string> | null): Schedule | null {
  if (typeof v === 'string') return readEnum(c, v, path, SCHEDULE_KINDS);
  if (!Array.isArray(v)) {
    c.fail(path, `expected "seeded", "round-robin" or an array of thread names, got ${describe(v)}`);
    return null;
  }
  const list = readArray(c, v, path, 1, SCENARIO_LIMITS.scheduleLengthMax);
  if (list === null) return null;
  const before = c.errors.length;
  for (let i = 0; i < list.length && !c.full; i++) {
    const name = list[i];
    if (typeof name !== 'string') c.fail([...path, i], `expected a thread name, got ${describe(name)}`);
    else if (threadNames !== null && !threadNames.has(name)) c.fail([...path, i], `no thread ${describe(name)} in any phase`);
  }
  return c.errors.length === before ? (list as string[]) : null;
}

const VIEW_FIELDS = ['annotations', 'cursor', 'pinnedLanes'] as const;
const ANNOTATION_FIELDS = ['seq', 'text', 'design'] as const;

function validateAnnotation(c: Checker, v: unknown, path: JsonPath): Annotation | null {
  const f = readObject(c, v, path);
  if (f === null) return null;
  checkKnown(c, f, ANNOTATION_FIELDS, path);
  const seqRaw = field(c, f, 'seq', path, true);
  const seq = seqRaw === undefined ? null : readInt(c, seqRaw, [...path, 'seq'], 0, Number.MAX_SAFE_INTEGER);
  const textRaw = field(c, f, 'text', path, true);
  const text = textRaw === undefined ? null : readString(c, textRaw, [...path, 'text'], 0, SCENARIO_LIMITS.annotationTextLengthMax);
  const designRaw = f.get('design');
  const design = designRaw === undefined ? undefined : readEnum(c, designRaw, [...path, 'design'], DESIGN_IDS);
  if (seq === null || text === null || design === null) return null;
  return design === undefined ? { seq, text } : { seq, text, design };
}

function validateView(c: Checker, v: unknown, path: JsonPath): ViewState | null {
  const f = readObject(c, v, path);
  if (f === null) return null;
  checkKnown(c, f, VIEW_FIELDS, path);
  const annRaw = readArray(c, opt(f, 'annotations', []), [...path, 'annotations'], 0, SCENARIO_LIMITS.annotationsMax);
  const annotations = (annRaw ?? []).map((a, i) => validateAnnotation(c, a, [...path, 'annotations', i]));
  const cursor = readInt(c, opt(f, 'cursor', 0), [...path, 'cursor'], 0, Number.MAX_SAFE_INTEGER);
  const lanesRaw = readArray(c, opt(f, 'pinnedLanes', []), [...path, 'pinnedLanes'], 0, SCENARIO_LIMITS.pinnedLanesMax);
  const pinnedLanes = (lanesRaw ?? []).map((l, i) => readString(c, l, [...path, 'pinnedLanes', i], 1, SCENARIO_LIMITS.laneIdLengthMax));
  if (annRaw === null || lanesRaw === null || cursor === null) return null;
  if (annotations.some((a) => a === null) || pinnedLanes.some((l) => l === null)) return null;
  return { annotations: annotations as Annotation[], cursor, pinnedLanes: pinnedLanes as string[] };
}

// ---------------------------------------------------------------------------------------------
// The scenario.

const TOP_FIELDS = ['$schema', 'schema', 'name', 'description', 'vm', 'designs', 'seed', 'schedule', 'inject', 'phases', 'view'] as const;

function validateTop(c: Checker, value: unknown): Scenario | null {
  const f = readObject(c, value, []);
  if (f === null) return null;
  checkKnown(c, f, TOP_FIELDS, []);
  const hintRaw = f.get('$schema');
  const hint = hintRaw === undefined ? undefined : readString(c, hintRaw, ['$schema'], 1, SCENARIO_LIMITS.schemaHintLengthMax);
  const schema = field(c, f, 'schema', [], true);
  if (schema !== undefined && schema !== SCENARIO_SCHEMA_ID) {
    c.fail(['schema'], `expected ${JSON.stringify(SCENARIO_SCHEMA_ID)} (the only version this build reads), got ${describe(schema)}`);
  }
  const nameRaw = field(c, f, 'name', [], true);
  const name = nameRaw === undefined ? null : readString(c, nameRaw, ['name'], 1, SCENARIO_LIMITS.nameLengthMax);
  const description = readString(c, opt(f, 'description', ''), ['description'], 0, SCENARIO_LIMITS.descriptionLengthMax);
  const vmRaw = field(c, f, 'vm', [], true);
  const vm = vmRaw === undefined ? null : validateVm(c, vmRaw, ['vm']);
  const designs = validateDesigns(c, opt(f, 'designs', ['per-op', 'unified']), ['designs']);
  const seed = readInt(c, opt(f, 'seed', 1), ['seed'], 0, 2 ** 32 - 1);
  const inject = validateInject(c, opt(f, 'inject', []), ['inject']);
  const tally: PhaseTally = { threadNames: new Set(), opsExpanded: 0 };
  const phasesRaw = field(c, f, 'phases', [], true);
  const phases = phasesRaw === undefined ? null : validatePhases(c, phasesRaw, ['phases'], vm, tally);
  const schedule = validateSchedule(c, opt(f, 'schedule', 'seeded'), ['schedule'], phases === null ? null : tally.threadNames);
  const view = validateView(c, opt(f, 'view', {}), ['view']);
  if (c.errors.length > 0) return null;
  if (name === null || description === null || vm === null || designs === null || seed === null) return null;
  if (inject === null || phases === null || schedule === null || view === null || hint === null) return null;
  const scenario: Scenario = { schema: SCENARIO_SCHEMA_ID, name, description, vm, designs, seed, schedule, inject, phases, view };
  return hint === undefined ? scenario : { $schema: hint, ...scenario };
}

/**
 * Validates an untrusted value (parsed JSON, or anything else) as a scenario v1 and returns it
 * normalized, or every error found (up to SCENARIO_LIMITS.errorsMax), each with a JSON path.
 * Never throws: a value whose reading throws (a proxy, say) becomes an error at `$`.
 */
export function validateScenario(value: unknown): ScenarioResult {
  const c = new Checker();
  let scenario: Scenario | null = null;
  try {
    scenario = validateTop(c, value);
  } catch {
    c.fail([], 'the value could not be read (a getter or proxy threw); expected plain JSON data');
  }
  if (scenario !== null && c.errors.length === 0) return { ok: true, scenario };
  if (c.errors.length === 0) c.fail([], 'invalid scenario');
  return { ok: false, errors: c.errors.map((e) => ({ path: formatJsonPath(e.path), problem: e.problem })) };
}

/**
 * Parses a scenario's JSON text and validates it. A syntax error is reported at `$` with its
 * line and column; validation errors carry the line and column of the value their path names
 * (of its nearest existing ancestor for a missing field), for the first
 * SCENARIO_LIMITS.locatedErrorsMax errors.
 */
export function parseScenarioText(text: string): ScenarioResult {
  if (typeof text !== 'string') return { ok: false, errors: [{ path: '$', problem: 'expected JSON text' }] };
  if (text.length > SCENARIO_LIMITS.textLengthMax) {
    return { ok: false, errors: [{ path: '$', problem: `the text is ${text.length} characters; the limit is ${SCENARIO_LIMITS.textLengthMax}` }] };
  }
  // A byte order mark is not JSON whitespace; blank it so offsets still match the editor's.
  const source = text.charCodeAt(0) === 0xfeff ? ` ${text.slice(1)}` : text;
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    const syntax = findJsonSyntaxError(source);
    const at = syntax ?? { line: 1, column: 1, problem: 'not valid JSON' };
    return { ok: false, errors: [{ path: '$', problem: `invalid JSON: ${at.problem}`, line: at.line, column: at.column }] };
  }
  const result = validateScenario(value);
  if (result.ok) return result;
  const errors = result.errors.map((e, i) => {
    if (i >= SCENARIO_LIMITS.locatedErrorsMax) return e;
    const at = locateJsonPath(source, e.path);
    return at === null ? e : { ...e, line: at.line, column: at.column };
  });
  return { ok: false, errors };
}

export { scenarioOps, DESIGN_IDS, type Scenario } from './scenario.ts';
