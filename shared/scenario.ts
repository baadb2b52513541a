// The scenario format v1 ("septwb/scenario@1"): the types of a parsed and *normalized* scenario,
// as `validateScenario` (scenario_validate.ts) returns it. Normalized means every default is
// filled in and every GFN is a number, so the engine never handles an optional field. A
// normalized scenario is itself valid input: JSON.stringify of it validates to the same value.
// The published JSON Schema (scenario.schema.json) describes the *input* form, where GFNs may
// be hex strings and most fields are optional. PRODUCT.md section 3; issue 5.
// Pure: no Node imports, the renderer uses this file.

/** The value of the `schema` field: format name and major version. */
export const SCENARIO_SCHEMA_ID = 'septwb/scenario@1';

/** Hook designs a scenario can be run under (PRODUCT.md section 2, one file each in main/sim/designs). */
export const DESIGN_IDS = ['per-op', 'unified', 'unified-single-hook', 'mainline-4k'] as const;
export type DesignId = (typeof DESIGN_IDS)[number];

/** `initialized`: built but not finalized (PAGE.ADD time); `runnable`: after TDH.MR.FINALIZE. */
export const TD_STATES = ['initialized', 'runnable'] as const;
export type TdState = (typeof TD_STATES)[number];

/** Page sizes a scenario names. The engine maps them to KVM's pg_level with `PG_LEVEL_OF`. */
export const LEVEL_NAMES = ['4K', '2M', '1G'] as const;
export type LevelName = (typeof LEVEL_NAMES)[number];
export const PG_LEVEL_OF: Readonly<Record<LevelName, number>> = { '4K': 1, '2M': 2, '1G': 3 };
/** How many 4K GFNs one mapping of that size covers (KVM_PAGES_PER_HPAGE). */
export const PAGES_PER_LEVEL: Readonly<Record<LevelName, number>> = { '4K': 1, '2M': 512, '1G': 512 * 512 };

/**
 * SEAMCALL leaves a fault injection may target, named as the TDX module spec names them.
 * The engine's events use the same spelling.
 */
export const SEAMCALL_NAMES = [
  'TDH.MEM.SEPT.ADD',
  'TDH.MEM.PAGE.ADD',
  'TDH.MEM.PAGE.AUG',
  'TDH.MEM.RANGE.BLOCK',
  'TDH.MEM.RANGE.UNBLOCK',
  'TDH.MEM.TRACK',
  'TDH.MEM.PAGE.REMOVE',
  'TDH.MEM.SEPT.REMOVE',
  'TDH.MEM.PAGE.DEMOTE',
  'TDH.MEM.PAGE.PROMOTE',
  'TDH.PHYMEM.PAGE.WBINVD',
  'TDH.PHYMEM.PAGE.RECLAIM',
  'TDH.VP.ENTER',
  'TDH.MNG.VPFLUSHDONE',
  'TDH.MNG.KEY.FREEID',
] as const;
export type SeamcallName = (typeof SEAMCALL_NAMES)[number];

/** Schedules: a seeded PRNG, plain round-robin, or an explicit list of thread names (one per step). */
export const SCHEDULE_KINDS = ['seeded', 'round-robin'] as const;
export type Schedule = (typeof SCHEDULE_KINDS)[number] | string[];

/** `teardown` variants: the correct order and the two broken ones of the reference, idea 7. */
export const TEARDOWN_VARIANTS = ['ordered', 'no-gmem-close', 'zap-roots-before-hkid'] as const;
export type TeardownVariant = (typeof TEARDOWN_VARIANTS)[number];

/** Where `wrprot-leaf` runs: under the write lock (tdp_mmu_set_spte) or the read lock (atomic path). */
export const LOCK_MODES = ['read', 'write'] as const;
export type LockMode = (typeof LOCK_MODES)[number];

export interface Memslot {
  /** KVM memslot id, unique in the VM. */
  id: number;
  /** First GFN of the slot. */
  baseGfn: number;
  /** Number of 4K pages, >= 1. */
  pages: number;
  /** Backed by guest_memfd, so it can hold private memory. */
  private: boolean;
}

export interface VmFeatures {
  /** TDX_FEATURES0.ENHANCE_DEMOTE_INTERRUPTIBILITY (bit 51); without it KVM keeps huge pages off (H9). */
  enhanceDemoteInterruptibility: boolean;
}

export interface VmConfig {
  /** Paging levels of the TDP roots: 4 (GPAW 48) or 5 (GPAW 52). */
  rootLevel: 4 | 5;
  /** vCPUs in the VM; thread names vcpu0..vcpu{vcpus-1} run guest-side operations. */
  vcpus: number;
  tdState: TdState;
  /** Allow 2M private mappings (TDX huge page support). */
  privateHugePages: boolean;
  memslots: Memslot[];
  features: VmFeatures;
}

/**
 * One scenario operation. Guest-side ones (`fault`, `fault-range`, `accept`, `vcpu-enter`,
 * `vcpu-exit`) need a vcpuN thread; the rest are host operations and may run on any thread.
 * Each maps to one KVM path; the engine names that path in the op's event.
 */
export type Op =
  | { op: 'fault'; gfn: number; level: '4K' | '2M'; private: boolean }
  | { op: 'fault-range'; gfn: number; pages: number; level: '4K' | '2M'; private: boolean }
  | { op: 'accept'; gfn: number; level: '4K' | '2M' }
  | { op: 'populate'; gfn: number; pages: number }
  | { op: 'finalize' }
  | { op: 'convert'; gfn: number; pages: number; to: 'shared' | 'private' }
  | { op: 'punch-hole'; gfn: number; pages: number }
  | { op: 'memslot-delete'; slot: number }
  | { op: 'memslot-create'; slot: number }
  | { op: 'split'; gfn: number; pages: number }
  | { op: 'zap-range'; gfn: number; pages: number; tables: boolean }
  | { op: 'vcpu-enter'; zeroStep: boolean }
  | { op: 'vcpu-exit' }
  | { op: 'teardown'; variant: TeardownVariant }
  | { op: 'wrprot-leaf'; gfn: number; lock: LockMode }
  | { op: 'age-leaf'; gfn: number }
  | { op: 'zap-nonleaf-shared'; gfn: number; level: '2M' | '1G' }
  | { op: 'map-under-write-lock'; gfn: number }
  | { op: 'promote'; gfn: number };

export type OpName = Op['op'];

/** Every operation name, in the order the README documents them. */
export const OP_NAMES = [
  'fault', 'fault-range', 'accept', 'populate', 'finalize', 'convert', 'punch-hole',
  'memslot-delete', 'memslot-create', 'split', 'zap-range', 'vcpu-enter', 'vcpu-exit',
  'teardown', 'wrprot-leaf', 'age-leaf', 'zap-nonleaf-shared', 'map-under-write-lock', 'promote',
] as const satisfies readonly OpName[];

/** Operations that model the guest (an EPT violation, TDG.MEM.PAGE.ACCEPT, guest entry/exit). */
export const GUEST_OPS: ReadonlySet<OpName> = new Set<OpName>(['fault', 'fault-range', 'accept', 'vcpu-enter', 'vcpu-exit']);

export interface Injection {
  seamcall: SeamcallName;
  /** 1-based index of the first call of that SEAMCALL (counted over the whole run) to fail. */
  nth: number;
  /** TDX status name, optionally with an operand: "TDX_OPERAND_BUSY|RCX". */
  status: string;
  /** How many consecutive calls from the nth on get the status, >= 1. */
  times: number;
}

export interface Phase {
  name: string;
  /** Thread name to its operations, run concurrently with the phase's other threads. */
  threads: Record<string, Op[]>;
}

export interface Annotation {
  /** Event seq the note is attached to. */
  seq: number;
  text: string;
  /** The design's run the note belongs to; absent: all designs. */
  design?: DesignId;
}

export interface ViewState {
  annotations: Annotation[];
  /** Timeline cursor, an event seq. */
  cursor: number;
  /** Lane ids kept at the top of the timeline. */
  pinnedLanes: string[];
}

export interface Scenario {
  /** Editors' schema hint, kept as written so a saved file round-trips. */
  $schema?: string;
  schema: typeof SCENARIO_SCHEMA_ID;
  name: string;
  description: string;
  vm: VmConfig;
  designs: DesignId[];
  /** PRNG seed, an integer 0..2^32-1. */
  seed: number;
  schedule: Schedule;
  inject: Injection[];
  phases: Phase[];
  view: ViewState;
}

/** A scenario operation with its place: what the engine tags events with (`SimEvent.op`). */
export interface ScenarioOp {
  /** Position in the list scenarioOps returns, from 0: the event's `op` field. */
  ordinal: number;
  /** Index into scenario.phases. */
  phase: number;
  thread: string;
  /** Index into the thread's operation list. */
  index: number;
  op: Op;
}

/**
 * Lists the scenario's operations in a fixed order: phase by phase, thread by thread in the
 * order the phase's object lists them, then by index. Range operations stay one entry each
 * (a `fault-range` is one ordinal; its faults share it).
 */
export function scenarioOps(scenario: Scenario): ScenarioOp[] {
  const ops: ScenarioOp[] = [];
  scenario.phases.forEach((phase, phaseIndex) => {
    for (const [thread, list] of Object.entries(phase.threads)) {
      list.forEach((op, index) => {
        ops.push({ ordinal: ops.length, phase: phaseIndex, thread, index, op });
      });
    }
  });
  return ops;
}

/** The vCPU index of a thread name `vcpuN`, or -1 for a host thread. */
export function vcpuIndexOf(thread: string): number {
  const m = /^vcpu(0|[1-9][0-9]{0,5})$/.exec(thread);
  return m === null ? -1 : Number(m[1]);
}
