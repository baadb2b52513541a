// The kernel's modeled checks. Each records an event and, where the kernel would, changes the
// outcome; none throws (STYLE.md section 0, "Three kinds of check"). Each returns its condition
// so that it can sit in an `if`, as the kernel's macros do.
import type { SimContext } from './sim_context.ts';
import { MMU_LOCK_READ, MMU_LOCK_WRITE, type SimThread } from './sim_thread.ts';

/**
 * A check's explanation: a string, or a function that builds it when the check fires. Hot
 * checks pass a function, so that a check that holds costs no string formatting (a gfn in hex
 * on every fault adds up).
 */
export type Reason = string | (() => string);

function reasonText(reason: Reason): string {
  return typeof reason === 'string' ? reason : reason();
}

function record(ctx: SimContext, t: SimThread, kind: string, site: string, reason: string): number {
  const seq = ctx.events.instant(t.id, 'check', kind, -1, 0, 'none', null, null, site, reason);
  ctx.noteDetection(seq);
  return seq;
}

/**
 * KVM_BUG_ON(cond, kvm): marks the VM bugged (dead) and returns cond. The kernel's macro is a
 * WARN_ON_ONCE per call site, so a site that fires again (a retry loop on a dead VM) is recorded
 * once; the VM stays bugged either way.
 */
export function KVM_BUG_ON(ctx: SimContext, t: SimThread, cond: boolean, site: string, lazyReason: Reason): boolean {
  return cond && kvmBugOnFired(ctx, t, site, lazyReason);
}

// Each check is a one-line test in front of an out-of-line body (the *Fired functions): cheap for
// V8 to inline, and once inlined, a check that holds builds no Reason closure.

function kvmBugOnFired(ctx: SimContext, t: SimThread, site: string, lazyReason: Reason): true {
  const reason = reasonText(lazyReason);
  ctx.vmBugged = true;
  const once = `KVM_BUG_ON:${site}`;
  if (ctx.warnedOnce.has(once)) return true;
  ctx.warnedOnce.add(once);
  const seq = record(ctx, t, 'KVM_BUG_ON', site, reason);
  ctx.metrics.bugs.push({ kind: 'KVM_BUG_ON', site, reason, seq, step: ctx.events.step });
  ctx.vmBugged = true;
  return true;
}

/**
 * TDX_BUG_ON(err, fn, kvm) and TDX_BUG_ON_2(err, fn, entry, level_state, kvm): a SEAMCALL
 * failed in a way KVM never expects; KVM prints it and bugs the VM. `detail` carries the
 * SEAMCALL's arguments and outputs.
 */
export function TDX_BUG_ON(ctx: SimContext, t: SimThread, cond: boolean, fn: string, lazyDetail: Reason): boolean {
  return cond && tdxBugOnFired(ctx, t, fn, lazyDetail);
}

function tdxBugOnFired(ctx: SimContext, t: SimThread, fn: string, lazyDetail: Reason): true {
  const detail = reasonText(lazyDetail);
  const seq = record(ctx, t, 'TDX_BUG_ON', fn, detail);
  ctx.metrics.bugs.push({ kind: 'TDX_BUG_ON', site: fn, reason: detail, seq, step: ctx.events.step });
  ctx.vmBugged = true;
  return true;
}

/** WARN_ON_ONCE(cond): records the first hit per site; later hits are counted only. */
export function WARN_ON_ONCE(ctx: SimContext, t: SimThread, cond: boolean, site: string, reason: Reason = ''): boolean {
  return cond && warnOnOnceFired(ctx, t, site, reason);
}

function warnOnOnceFired(ctx: SimContext, t: SimThread, site: string, reason: Reason): true {
  ctx.metrics.warns[site] = (ctx.metrics.warns[site] ?? 0) + 1;
  if (!ctx.warnedOnce.has(site)) {
    ctx.warnedOnce.add(site);
    record(ctx, t, 'WARN', site, reasonText(reason));
  }
  return true;
}

/** WARN_ON(cond): records every hit. */
export function WARN_ON(ctx: SimContext, t: SimThread, cond: boolean, site: string, reason: Reason = ''): boolean {
  if (!cond) return false;
  ctx.metrics.warns[site] = (ctx.metrics.warns[site] ?? 0) + 1;
  record(ctx, t, 'WARN', site, reasonText(reason));
  return true;
}

/** BUG(): the host crashes; the engine ends the run as `host-bug` before the next step. */
export function BUG(ctx: SimContext, t: SimThread, site: string, reason: string): void {
  const seq = record(ctx, t, 'BUG', site, reason);
  ctx.metrics.bugs.push({ kind: 'BUG', site, reason, seq, step: ctx.events.step });
  if (ctx.hostBug === null) ctx.hostBug = { site, reason };
}

/**
 * lockdep_assert_held_read(&kvm->mmu_lock). A failure is a lockdep splat, i.e. a WARN with the
 * site. Like kvm_lockdep_assert_mmu_lock_held it returns true so it can sit in a condition.
 */
export function lockdep_assert_held_read(ctx: SimContext, t: SimThread, site: string): true {
  // The splat (and its site name) is out of line: this runs on every atomic SPTE write.
  if (t.mmuLock !== MMU_LOCK_READ) lockdepSplat(ctx, t, site, 'mmu_lock not held for read');
  return true;
}

/** lockdep_assert_held_write(&kvm->mmu_lock); see lockdep_assert_held_read. */
export function lockdep_assert_held_write(ctx: SimContext, t: SimThread, site: string): true {
  if (t.mmuLock !== MMU_LOCK_WRITE) lockdepSplat(ctx, t, site, 'mmu_lock not held for write');
  return true;
}

/** lockdep_assert_held(&kvm->mmu_lock): held in either mode. */
export function lockdep_assert_held(ctx: SimContext, t: SimThread, site: string): true {
  if (t.mmuLock !== MMU_LOCK_READ && t.mmuLock !== MMU_LOCK_WRITE) lockdepSplat(ctx, t, site, 'mmu_lock not held');
  return true;
}

function lockdepSplat(ctx: SimContext, t: SimThread, site: string, reason: string): void {
  WARN_ON_ONCE(ctx, t, true, `lockdep:${site}`, reason);
}

/**
 * assert() for bugs in our own code: throws, so a test fails. Never for modeled checks. On a hot
 * path pass the message as a function (see Reason).
 */
export function assert(cond: boolean, message: Reason = 'assertion failed'): asserts cond {
  // The throw is out of line (assertFailed): a function that can throw is inlined less readily,
  // and the hot paths make a dozen assertions per fault.
  if (!cond) assertFailed(message);
}

function assertFailed(message: Reason): never {
  throw new Error(reasonText(message));
}
