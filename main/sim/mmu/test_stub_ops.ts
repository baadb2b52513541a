// Test helpers: recording stub hooks for both seam shapes (each call is recorded, yields one
// STEP, and returns a configurable result), and a small VM factory. Not a mock of our code:
// the hooks are the seam a design fills in, and the stub is the simplest such design.
import { EventSink } from '../event_sink.ts';
import { SimContext } from '../sim_context.ts';
import { STEP, type Proc } from '../proc.ts';
import { newSimThread, type SimThread } from '../sim_thread.ts';
import { HostMemory, PAGE_GUEST_PRIVATE } from '../host_memory.ts';
import { KvmMmu, type MmuConfig } from './kvm_mmu.ts';
import type { ExternalOps, PerOpExternalOps, UnifiedExternalOps } from './external_ops.ts';
import type { kvm_mmu_page } from './kvm_mmu_page.ts';
import type { U64 } from '../../../shared/u64.ts';

export interface StubCall {
  hook: string;
  thread: number;
  gfn: number;
  level: number;
  old: U64 | null;
  new: U64 | null;
  /** The table passed (link/split/free), by id. */
  sp: number;
}

/** Records hook calls; `fail(hook, r, n)` makes the next n calls of `hook` return r. */
export class StubRecorder {
  readonly calls: StubCall[] = [];
  readonly record: boolean;
  readonly #failures = new Map<string, number[]>();

  constructor(record = true) {
    this.record = record;
  }

  fail(hook: string, r: number, count = 1): void {
    const q = this.#failures.get(hook) ?? [];
    for (let i = 0; i < count; i++) q.push(r);
    this.#failures.set(hook, q);
  }

  /** Records a call and returns its result. */
  call(hook: string, t: SimThread, gfn: number, level: number, old: U64 | null, nw: U64 | null, sp: kvm_mmu_page | null): number {
    if (this.record) this.calls.push({ hook, thread: t.id, gfn, level, old, new: nw, sp: sp === null ? -1 : sp.id });
    const q = this.#failures.get(hook);
    return q !== undefined && q.length > 0 ? (q.shift() as number) : 0;
  }

  hooks(): string[] {
    return this.calls.map((c) => c.hook);
  }
}

/** Per-op stub ops; `withSplit` adds [V3]'s split_external_spte (the V3 dispatch). */
export function perOpStubOps(rec: StubRecorder, withSplit = true): PerOpExternalOps {
  const ops: PerOpExternalOps = {
    kind: 'per-op',
    *link_external_spt(t, gfn, level, child): Proc<number> {
      yield STEP;
      return rec.call('link_external_spt', t, gfn, level, null, null, child);
    },
    *set_external_spte(t, gfn, level, spte): Proc<number> {
      yield STEP;
      return rec.call('set_external_spte', t, gfn, level, null, spte, null);
    },
    *remove_external_spte(t, gfn, level, spte): Proc<void> {
      yield STEP;
      rec.call('remove_external_spte', t, gfn, level, spte, null, null);
    },
    *free_external_spt(t, gfn, level, sp): Proc<number> {
      yield STEP;
      return rec.call('free_external_spt', t, gfn, level, null, null, sp);
    },
  };
  if (!withSplit) return ops;
  return {
    ...ops,
    *split_external_spte(t, gfn, level, old, child, _shared): Proc<number> {
      yield STEP;
      return rec.call('split_external_spte', t, gfn, level, old, null, child);
    },
  };
}

/** Unified stub ops; `strawman` is the unified-single-hook variant (no free_external_spt). */
export function unifiedStubOps(rec: StubRecorder, strawman = false): UnifiedExternalOps {
  const base: UnifiedExternalOps = {
    kind: 'unified',
    nonleafRemovalViaSetExternal: strawman,
    *set_external_spte(t, gfn, old, nw, level): Proc<number> {
      yield STEP;
      return rec.call('set_external_spte', t, gfn, level, old, nw, null);
    },
  };
  if (strawman) return base;
  return {
    ...base,
    *free_external_spt(t, sp): Proc<void> {
      yield STEP;
      rec.call('free_external_spt', t, sp.gfn, sp.role.level, null, null, sp);
    },
  };
}

export interface TestVm {
  ctx: SimContext;
  kvm: KvmMmu;
  /** First PFN of a 2M-aligned private guest range; GFN g maps to guestPfn + g. */
  guestPfn: number;
  threads: SimThread[];
}

/** A fresh VM with both roots, `threadCount` threads and `guestPages` of private memory. */
export function makeTestVm(ops: ExternalOps, options: Partial<MmuConfig> & { threadCount?: number; guestPages?: number; keepEvents?: boolean } = {}): TestVm {
  const ctx = new SimContext(new EventSink({ keep: options.keepEvents ?? true }));
  const host = new HostMemory();
  const config: MmuConfig = {
    rootLevel: options.rootLevel ?? 4,
    ops,
    privateHugePages: options.privateHugePages ?? false,
    freezeUpdatesOldSpte: options.freezeUpdatesOldSpte ?? true,
  };
  const kvm = new KvmMmu(ctx, config, host);
  kvm.allocRoots();
  const guestPfn = host.allocGuestRange(options.guestPages ?? 2048, 512, PAGE_GUEST_PRIVATE);
  const threads: SimThread[] = [];
  for (let i = 0; i < (options.threadCount ?? 1); i++) threads.push(newSimThread(i, `vcpu${i}`, i));
  return { ctx, kvm, guestPfn, threads };
}

/** Runs one Proc to completion on its own (no other threads), under a step budget. */
export function runAlone<T>(proc: Proc<T>, stepsMax = 1_000_000): T {
  for (let steps = 0; steps < stepsMax; steps++) {
    const r = proc.next();
    if (r.done === true) return r.value;
  }
  throw new Error(`runAlone: stepsMax ${stepsMax} spent`);
}
