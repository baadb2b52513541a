// The engine: runs one scenario under one design and returns the outcome, the metrics and the
// event stream's hash. Reads like TigerBeetle's vopr.zig main: every choice derives from the
// seed (or replays an explicit schedule); the run steps under a budget; the ending is
// classified (completed, vm-bugged, host-bug, livelock, deadlock) with a reason; and the result
// says how to reproduce it. Pure: no clock, no I/O, no randomness but the seeded PRNG.
import type { EventChunk, SimEvent } from '../../shared/event.ts';
import { sept_state_of, SEPT_STATE_NAMES } from '../../shared/sept.ts';
import { scenarioOps, vcpuIndexOf, type DesignId, type Op, type Scenario } from '../../shared/scenario.ts';
import type { U64 } from '../../shared/u64.ts';
import { FixedScheduleChoice, PrngChoice, RoundRobinChoice, type ChoiceSource } from './choice_source.ts';
import { InvariantChecker } from './checker.ts';
import { designById } from './designs/registry.ts';
import { KvmTdx } from './designs/kvm_tdx.ts';
import { EventSink, EventString, type EventText } from './event_sink.ts';
import { GuestMemory } from './guest_memory.ts';
import { HostMemory, PAGE_TDX_CONTROL } from './host_memory.ts';
import type { Metrics } from './metrics.ts';
import { KvmMmu } from './mmu/kvm_mmu.ts';
import { runOp } from './ops/run_op.ts';
import { Prng } from './prng.ts';
import { BLOCKED, STEP, inPlaceWhenAlone, mustYieldStep, type Proc } from './proc.ts';
import { runThreads, type SchedThread } from './scheduler.ts';
import { SimContext } from './sim_context.ts';
import { newSimThread, type SimThread } from './sim_thread.ts';
import type { SimVm } from './sim_vm.ts';
import { createTd, type Td } from './tdx/td.ts';
import { tdh_mr_finalize } from './tdx/tdh_mr_finalize.ts';

export type OutcomeStatus = 'completed' | 'vm-bugged' | 'host-bug' | 'livelock' | 'deadlock';

export interface RunOutcome {
  status: OutcomeStatus;
  /** Where it ended: the first bug's site, or '' when completed. */
  site: string;
  reason: string;
}

export interface RunOptions {
  design: DesignId;
  /** Defaults to the scenario's seed. */
  seed?: number;
  /** Defaults to the scenario's schedule: 'seeded', 'round-robin', or thread names, one per step. */
  schedule?: Scenario['schedule'] | number[];
  /**
   * An explicit choice source, overriding `schedule` (exhaustive exploration drives the run
   * through an Exhaustigen this way).
   */
  choice?: ChoiceSource;
  /** Scheduler step budget; spending it is a livelock. */
  stepsMax?: number;
  /** Local refaults of one fault before a livelock is declared. */
  faultRetriesMax?: number;
  /** Run the invariant checker after every step (default true). */
  checker?: boolean;
  /** Keep every event in memory so the result carries them (tests, the CLI's --jsonl). */
  keep?: boolean;
  chunkSize?: number;
  /**
   * Receives the event stream in chunks (the recorder). Without `keep` the engine reuses a
   * chunk's arrays once onChunk returns: copy what you need inside the call, keep no reference.
   */
  onChunk?: (chunk: EventChunk) => void;
  /**
   * Called once the run is over with the model's final state (tests that check the event stream
   * against what the model really holds). Read only.
   */
  atEnd?: (state: { mmu: KvmMmu; td: Td }) => void;
  /**
   * Run a thread that is alone through its Procs' sync twins (proc.ts, stretches in place; the
   * default). false: always through the generators, for tests that compare the two.
   */
  stretchesInPlace?: boolean;
}

export interface RunResult {
  design: DesignId;
  seed: number;
  threadNames: string[];
  outcome: RunOutcome;
  metrics: Metrics;
  /** Hash of the event stream: same scenario, design, seed and schedule give the same hash. */
  hash: string;
  /** The interleaving taken (thread id per step): replays the run exactly. */
  schedule: Int32Array;
  scheduleNote: string;
  /**
   * Steps a lone thread ran on its Procs' sync twins (proc.ts, stretches in place): how much of
   * the run took the fast path. It changes nothing else in the result.
   */
  stepsInStretches: number;
  /** How to run exactly this again, for logs and failing tests. */
  reproduce: string;
  events: SimEvent[] | null;
}

export const STEPS_MAX_DEFAULT = 200_000_000;
/**
 * Local refaults of one EPT violation before the run is a livelock. Contention retries a fault a
 * handful of times; a fault that can never succeed (V3's split refused under the read lock
 * refills and frees a 512-entry table on every attempt) would otherwise record millions of events.
 */
export const FAULT_RETRIES_MAX_DEFAULT = 1_000;

/** Runs `scenario` under one design. Never throws for a simulated failure: that is the outcome. */
export function runScenario(scenario: Scenario, options: RunOptions): RunResult {
  const seed = options.seed ?? scenario.seed;
  const events = new EventSink({ chunkSize: options.chunkSize, onChunk: options.onChunk, keep: options.keep, reuseChunks: true });
  const ctx = new SimContext(events);
  const vm = createVm(scenario, options, ctx);
  const checker = options.checker === false ? null : new InvariantChecker(vm);
  if (checker !== null) installChecker(vm, checker);
  const run = newRunState(vm, scenario);
  vm.td.onEntryWrite = septEntryWriter(vm, run);
  const procs: SchedThread[] = vm.threads.map((t) => ({ thread: t, proc: phasesProc(vm, t, run) }));
  const choice = options.choice ?? choiceFor(options.schedule ?? scenario.schedule, seed, vm.threads);
  const sched = runThreads(ctx, procs, choice, {
    stepsMax: options.stepsMax ?? STEPS_MAX_DEFAULT,
    // Each step records the running thread (S-EPT writes and findings are attributed to it) and
    // runs the checker after it.
    beforeStep: (id) => {
      run.current = id;
      if (checker !== null) checker.currentThread = id;
    },
    afterStep: checker === null ? undefined : () => checker.afterStep(),
    stretchesInPlace: options.stretchesInPlace,
  });
  checker?.finish(scenario.phases.some((p) => Object.values(p.threads).some((ops) => ops.some((o) => o.op === 'teardown'))));
  const outcome = classify(vm, sched.outcome, sched.reason);
  finishMetrics(ctx);
  options.atEnd?.({ mmu: vm.mmu, td: vm.td });
  events.finish();
  const scheduleText = Array.isArray(options.schedule) || Array.isArray(scenario.schedule) ? 'fixed' : (options.schedule ?? scenario.schedule);
  return {
    design: options.design,
    seed,
    threadNames: vm.threads.map((t) => t.name),
    outcome,
    metrics: ctx.metrics,
    hash: events.hash(),
    schedule: sched.schedule,
    scheduleNote: sched.note,
    stepsInStretches: sched.stepsInStretches,
    reproduce: `septwb run <scenario> --design ${options.design} --seed ${seed} (schedule=${String(scheduleText)})`,
    events: options.keep === true ? events.events() : null,
  };
}

/** Builds the TD, the KVM side of it, the MMU with the design's hooks, guest memory and threads. */
function createVm(scenario: Scenario, options: RunOptions, ctx: SimContext): SimVm {
  const design = designById(options.design);
  const cfg = scenario.vm;
  const threadNames = threadNamesOf(scenario);
  const host = new HostMemory(65536);
  const td = createTdFor(scenario, host);
  const kt = new KvmTdx(ctx, td, host, cfg.tdState === 'runnable' ? 'runnable' : 'initialized', {
    injections: scenario.inject,
    // A KVM that prunes tables at run time (zap-range with tables) needs the TDX side of it too.
    runtimeTableRemoval: scenarioOps(scenario).some((o) => o.op.op === 'zap-range' && o.op.tables),
  });
  // Private 2M leaves need the design's support and, as [V3] 24/24 gates them, a module with
  // ENHANCE_DEMOTE_INTERRUPTIBILITY: without it a DEMOTE can livelock on TDX_INTERRUPTED_RESTARTABLE (H9).
  const privateHugePages = cfg.privateHugePages && design.supportsPrivateHugePages && cfg.features.enhanceDemoteInterruptibility;
  const mmu = new KvmMmu(ctx, { rootLevel: cfg.rootLevel, ops: design.makeOps(kt), privateHugePages, freezeUpdatesOldSpte: true }, host);
  kt.mmu = mmu;
  mmu.allocRoots();
  const memory = new GuestMemory(cfg.memslots, host);
  const threads = threadNames.map((name, id) => newSimThread(id, name, vcpuIndexOf(name)));
  const vm: SimVm = { ctx, scenario, design, host, td, kt, mmu, memory, threads, limits: { faultRetriesMax: options.faultRetriesMax ?? FAULT_RETRIES_MAX_DEFAULT }, livelock: null };
  return vm;
}

/** TDH.MNG.CREATE/INIT and TDH.VP.CREATE/INIT have run: control pages come from host memory. */
function createTdFor(scenario: Scenario, host: HostMemory): Td {
  const cfg = scenario.vm;
  const page = (): number => host.alloc(PAGE_TDX_CONTROL);
  const td = createTd({
    rootLevel: cfg.rootLevel,
    tdrPfn: page(),
    tdcsPfns: [page(), page(), page(), page()],
    tdvprPfns: Array.from({ length: cfg.vcpus }, page),
    hkid: 1,
    enhanceDemoteInterruptibility: cfg.features.enhanceDemoteInterruptibility,
    tdmrPfnEnd: 2 ** 28,
  });
  // A scenario that starts `runnable` starts after KVM_TDX_FINALIZE_VM.
  if (cfg.tdState === 'runnable') tdh_mr_finalize(td);
  return td;
}

/** Every thread name in order of first appearance across the phases. */
function threadNamesOf(scenario: Scenario): string[] {
  const names: string[] = [];
  for (const phase of scenario.phases) for (const name of Object.keys(phase.threads)) if (!names.includes(name)) names.push(name);
  return names;
}

/**
 * Wires the checker: it hears every entry write, and S-EPT entry changes become `tree: 'sept'`
 * events attributed to the running thread. Host pages given back are checked for TD ownership.
 */
function installChecker(vm: SimVm, checker: InvariantChecker): void {
  vm.ctx.events.onTreeWrite = (tree, gfn, level, seq, thread) => checker.noteWrite(tree, gfn, level, seq, thread);
  const free = vm.host.free.bind(vm.host);
  vm.host.free = (pfn: number): void => {
    checker.onHostFree(pfn);
    free(pfn);
  };
}

/** What the threads of one run share: who runs now, the phase barriers, op ordinals. */
interface RunState {
  readonly scenario: Scenario;
  /** The thread whose step is running (S-EPT writes and findings are attributed to it). */
  current: number;
  /** Per phase: threads that have not finished their part yet. */
  readonly phaseRemaining: number[];
  /** Each operation's ordinal (scenarioOps), so its events carry it. */
  readonly ordinals: Map<Op, number>;
}

function newRunState(vm: SimVm, scenario: Scenario): RunState {
  const ordinals = new Map<Op, number>();
  for (const o of scenarioOps(scenario)) ordinals.set(o.op, o.ordinal);
  return { scenario, current: 0, phaseRemaining: scenario.phases.map(() => vm.threads.length), ordinals };
}

/** TD.onEntryWrite: every S-EPT entry change becomes a `tree: 'sept'` event on the running thread. */
function septEntryWriter(vm: SimVm, run: RunState): (gfn: number, level: number, old: U64, nw: U64) => void {
  return (gfn, level, old, nw) => {
    vm.ctx.events.instant(run.current, 'tdx', S_EPT_ENTRY, gfn, level, 'sept', old, nw, '', septTransitionText(sept_state_of(old), sept_state_of(nw)));
  };
}

/** `FREE -> PENDING`, or the state alone when it stays; -1 (an encoding the module never writes) has no name. */
function septTransitionText(from: number, to: number): EventText {
  if (from >= 0 && to >= 0) return SEPT_TRANSITION_TEXT[from][to];
  const fromName = SEPT_STATE_NAMES[from] as string | undefined;
  const toName = SEPT_STATE_NAMES[to] as string | undefined;
  return fromName === toName ? (toName ?? '') : `${fromName} -> ${toName}`;
}

/** The detail of an S-EPT entry event by [old state][new state]: `FREE -> PENDING`, or the state when it stays. Built once, not per write. */
const SEPT_TRANSITION_TEXT: readonly (readonly EventString[])[] = SEPT_STATE_NAMES.map((from) =>
  SEPT_STATE_NAMES.map((to) => new EventString(from === to ? to : `${from} -> ${to}`)),
);

/** The name of every S-EPT entry event. */
const S_EPT_ENTRY = new EventString('S-EPT entry');

/**
 * A thread's operations, phase by phase. Phases are separated by a barrier: a thread that
 * finished its part waits (BLOCKED) until every thread has.
 */
function* phasesProc(vm: SimVm, t: SimThread, run: RunState): Proc<void> {
  const phases = run.scenario.phases;
  for (let p = 0; p < phases.length; p++) {
    for (const op of phases[p].threads[t.name] ?? []) {
      if (vm.ctx.hostBug !== null || vm.livelock !== null) return;
      yield* inPlaceWhenAlone(runOp, vm, t, op, run.ordinals.get(op) ?? -1);
    }
    run.phaseRemaining[p]--;
    if (mustYieldStep()) yield STEP;
    while (run.phaseRemaining[p] > 0) yield BLOCKED;
  }
}

function choiceFor(schedule: Scenario['schedule'] | number[], seed: number, threads: SimThread[]): ChoiceSource {
  if (schedule === 'round-robin') return new RoundRobinChoice();
  if (Array.isArray(schedule)) {
    const ids = (schedule as (string | number)[]).map((x) => (typeof x === 'number' ? x : threads.findIndex((t) => t.name === x)));
    return new FixedScheduleChoice(ids);
  }
  return new PrngChoice(new Prng(seed));
}

function classify(vm: SimVm, schedOutcome: OutcomeStatus, schedReason: string): RunOutcome {
  const m = vm.ctx.metrics;
  if (vm.ctx.hostBug !== null) return { status: 'host-bug', site: vm.ctx.hostBug.site, reason: vm.ctx.hostBug.reason };
  // A dead VM is the headline even when a thread then spun on it (a `goto retry` loop that the
  // bug turned endless): the spin is reported in the reason.
  const spin = vm.livelock ?? (schedOutcome === 'livelock' || schedOutcome === 'deadlock' ? `${schedOutcome}: ${schedReason}` : null);
  if (vm.ctx.vmBugged) {
    const b = m.bugs[0];
    const reason = b ? `${b.kind}: ${b.reason}` : 'vm bugged';
    return { status: 'vm-bugged', site: b?.site ?? '', reason: spin === null ? reason : `${reason}; then ${spin}` };
  }
  if (vm.livelock !== null) return { status: 'livelock', site: 'faultRetriesMax', reason: vm.livelock };
  if (schedOutcome === 'livelock' || schedOutcome === 'deadlock') return { status: schedOutcome, site: 'scheduler', reason: schedReason };
  return { status: 'completed', site: '', reason: '' };
}

/**
 * Detection latency: from the first divergence to the first time KVM or the module noticed.
 * A detection before the divergence counts as 0: a KVM_BUG_ON that refuses a change and lets
 * the write go on noticed it before the trees parted.
 */
function finishMetrics(ctx: SimContext): void {
  const m = ctx.metrics;
  m.events = ctx.events.count;
  if (m.firstDivergenceStep < 0 || m.firstDetectionStep < 0) {
    m.detectionLatency = -1;
    return;
  }
  m.detectionLatency = Math.max(0, m.firstDetectionStep - m.firstDivergenceStep);
}
