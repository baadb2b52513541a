// The invariant checker (PRODUCT.md section 2): runs after every step, incrementally. An entry
// written since the last check is re-checked once the thread that wrote it has left the kernel
// function it wrote it in (it is back at most inside its operation's span), because mid-update
// the two trees legitimately differ: a frozen mirror SPTE while the SEAMCALL runs, a written SPTE
// before its hook. Other threads may still be busy: waiting for every thread to be out at once
// could put the check off for ever in a run where some thread is always inside the kernel. An
// entry two threads wrote waits until no thread is inside a kernel function.
//
// A divergence is a finding, recorded as a `check` event and counted, never an assert
// (STYLE.md 1.4). Its step is the step of the write that caused it, so that detection latency
// (first divergence to the first KVM_BUG_ON/WARN/BUG) is measured from the moment it happened.
import { SEPT_STATE_FREE, SEPT_STATE_MAPPED, SEPT_STATE_NAMES, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING } from '../../shared/sept.ts';
import {
  FROZEN_SPTE, VMX_EPT_ACCESS_BIT, VMX_EPT_RWX_MASK, is_frozen_spte, is_last_spte, is_shadow_present_pte, spte_to_pfn,
} from '../../shared/spte.ts';
import { TREE_ID } from '../../shared/event.ts';
import type { U64 } from '../../shared/u64.ts';
import { PAGE_EXTERNAL_SPT } from './host_memory.ts';
import { pamt_walk, PT_NDA } from './tdx/pamt.ts';
import { sept_lookup_page } from './tdx/sept_walk.ts';
import { sept_entry_get, sept_index, type SeptPage } from './tdx/td.ts';
import type { SimVm } from './sim_vm.ts';

/** Written entry -> the step and seq of its latest write not yet checked. */
interface Dirty {
  gfn: number;
  level: number;
  step: number;
  seq: number;
}

/** Pending entries found by a linear scan up to this many; a Map index beyond. */
const DIRTY_SCAN_MAX = 16;

/** #dirtyWriter of an entry written by more than one thread since its last check. */
const SEVERAL_WRITERS = -2;

/** An S-EPT entry's value for a finding's event; null when there is no entry at that level. */
function septValue(page: SeptPage | null, idx: number): U64 | null {
  return page === null ? null : sept_entry_get(page, idx);
}

export class InvariantChecker {
  readonly #vm: SimVm;
  /**
   * Entries written since the last check, in order of first write: their keys (gfn * 8 +
   * level) and, by slot, the latest write's step and seq. A rewrite updates its slot in place,
   * as a Map of records would. Usually one or two entries are pending, so a key is found by a
   * linear scan; `#bigIndex` takes over past DIRTY_SCAN_MAX (a zap of a whole range). No record
   * is allocated per write and nothing per check (Map.clear() allocates a fresh table).
   */
  #dirtyCount = 0;
  readonly #dirtyKey: number[] = [];
  readonly #dirtyGfn: number[] = [];
  readonly #dirtyLevel: number[] = [];
  readonly #dirtyStep: number[] = [];
  readonly #dirtySeq: number[] = [];
  /** By slot: the thread that wrote the entry, or SEVERAL_WRITERS. */
  readonly #dirtyWriter: number[] = [];
  readonly #bigIndex = new Map<number, number>();
  /** The thread whose step is running: findings are attributed to it. */
  currentThread = 0;
  /** The entry afterStep is checking: one record reused, as check_entry keeps none. */
  readonly #scratch: Dirty = { gfn: 0, level: 0, step: 0, seq: 0 };

  constructor(vm: SimVm) {
    this.#vm = vm;
  }

  /** EventSink.onTreeWrite: remember a mirror or S-EPT entry to re-check, and who wrote it. */
  noteWrite(tree: number, gfn: number, level: number, seq: number, thread: number): void {
    if (tree === TREE_ID.direct) return; // the shared EPT has no external counterpart
    const key = gfn * 8 + level;
    let slot = this.#dirtySlot(key);
    if (slot < 0) {
      slot = this.#dirtyCount++;
      this.#dirtyKey[slot] = key;
      this.#dirtyGfn[slot] = gfn;
      this.#dirtyLevel[slot] = level;
      this.#dirtyWriter[slot] = thread;
      if (slot === DIRTY_SCAN_MAX) for (let i = 0; i <= slot; i++) this.#bigIndex.set(this.#dirtyKey[i], i);
      else if (slot > DIRTY_SCAN_MAX) this.#bigIndex.set(key, slot);
    } else if (this.#dirtyWriter[slot] !== thread) {
      this.#dirtyWriter[slot] = SEVERAL_WRITERS;
    }
    this.#dirtyStep[slot] = this.#vm.ctx.events.step;
    this.#dirtySeq[slot] = seq;
  }

  /** The slot of a pending key, or -1. */
  #dirtySlot(key: number): number {
    if (this.#dirtyCount > DIRTY_SCAN_MAX) return this.#bigIndex.get(key) ?? -1;
    for (let i = 0; i < this.#dirtyCount; i++) if (this.#dirtyKey[i] === key) return i;
    return -1;
  }

  /** After a step: check the written entries whose writers are no longer mid-update. */
  afterStep(): void {
    const n = this.#dirtyCount;
    if (n === 0) return;
    const events = this.#vm.ctx.events;
    // The common case, and the cheap one: nobody is inside a kernel function.
    const allOut = events.deepThreads === 0;
    const d = this.#scratch;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const writer = this.#dirtyWriter[i];
      const settled = allOut || (writer !== SEVERAL_WRITERS && events.depth(writer) <= 1);
      if (!settled) {
        this.#keepDirty(kept++, i);
        continue;
      }
      d.gfn = this.#dirtyGfn[i];
      d.level = this.#dirtyLevel[i];
      d.step = this.#dirtyStep[i];
      d.seq = this.#dirtySeq[i];
      this.check_entry(d);
    }
    this.#dirtyCount = kept;
    if (n > DIRTY_SCAN_MAX) {
      this.#bigIndex.clear();
      if (kept > DIRTY_SCAN_MAX) for (let i = 0; i < kept; i++) this.#bigIndex.set(this.#dirtyKey[i], i);
    }
  }

  /** Moves dirty slot `from` to slot `to` (to <= from), keeping it for a later check. */
  #keepDirty(to: number, from: number): void {
    if (to === from) return;
    this.#dirtyKey[to] = this.#dirtyKey[from];
    this.#dirtyGfn[to] = this.#dirtyGfn[from];
    this.#dirtyLevel[to] = this.#dirtyLevel[from];
    this.#dirtyStep[to] = this.#dirtyStep[from];
    this.#dirtySeq[to] = this.#dirtySeq[from];
    this.#dirtyWriter[to] = this.#dirtyWriter[from];
  }

  /**
   * Mirror and S-EPT agree on one entry: a present mirror leaf is a MAPPED or PENDING S-EPT leaf
   * with the same PFN at the same level, and full RWX and accessed as every TDX private leaf is
   * (so a change KVM made behind TDX's back shows); a mirror non-leaf is NL_MAPPED; a
   * non-present mirror SPTE has a FREE (or no) S-EPT entry. Nothing rests frozen. Once the HKID
   * is released the S-EPT no longer matters: the TD is being torn down page by page.
   */
  check_entry(d: Dirty): void {
    const { mmu, td, kt } = this.#vm;
    if (!kt.is_hkid_assigned()) return;
    const m = mmu.readSpte('mirror', d.gfn, d.level);
    const page = sept_lookup_page(td, d.gfn, d.level);
    const idx = sept_index(d.gfn, d.level - 1);
    const sState = page === null ? SEPT_STATE_FREE : page.state[idx];
    if (m !== null && is_frozen_spte(m)) {
      this.#finding(d, 'frozen', m, septValue(page, idx), 'mirror SPTE left FROZEN_SPTE with no update in flight');
      return;
    }
    if (m !== null && is_shadow_present_pte(m) && is_last_spte(m, d.level)) {
      if (sState !== SEPT_STATE_MAPPED && sState !== SEPT_STATE_PENDING) {
        this.#finding(d, 'leaf-missing', m, septValue(page, idx), `mirror leaf present, S-EPT ${SEPT_STATE_NAMES[sState]}`);
      } else if (page !== null && page.target[idx] !== spte_to_pfn(m)) {
        this.#finding(d, 'pfn', m, septValue(page, idx), `mirror pfn 0x${spte_to_pfn(m).toString(16)}, S-EPT pfn 0x${page.target[idx].toString(16)}`);
      } else if ((m & VMX_EPT_RWX_MASK) !== VMX_EPT_RWX_MASK || (m & VMX_EPT_ACCESS_BIT) === 0) {
        this.#finding(d, 'attributes', m, septValue(page, idx), 'mirror leaf lost RWX/accessed bits the S-EPT mapping still grants');
      }
    } else if (m !== null && is_shadow_present_pte(m)) {
      if (sState !== SEPT_STATE_NL_MAPPED) this.#finding(d, 'table-missing', m, septValue(page, idx), `mirror table present, S-EPT ${SEPT_STATE_NAMES[sState]}`);
    } else if (sState !== SEPT_STATE_FREE) {
      this.#finding(d, 'stale-external', m, septValue(page, idx), `mirror not present, S-EPT still ${SEPT_STATE_NAMES[sState]}`);
    }
  }

  /** A host page given back (gmem truncation, a freed table): the TD must not still own it. */
  onHostFree(pfn: number): void {
    const e = pamt_walk(this.#vm.td.pamt, pfn);
    if (e === null || e.entry.pt === PT_NDA) return;
    this.#finding({ gfn: -1, level: 0, step: this.#vm.ctx.events.step, seq: this.#vm.ctx.events.count }, 'page-owned', null, null, `pfn 0x${pfn.toString(16)} returned to the host while the TD owns it`);
  }

  /** End of run: nothing frozen anywhere; after a teardown, no S-EPT page leaked. */
  finish(tornDown: boolean): void {
    this.afterStep();
    const { mmu, host, ctx } = this.#vm;
    const at = { gfn: -1, level: 0, step: ctx.events.step, seq: ctx.events.count };
    for (const tree of ['mirror', 'direct'] as const) {
      for (const sp of mmu.liveTables(tree)) {
        // An unlinked table waiting for its RCU callback holds frozen children by design.
        if (sp.unlinked) continue;
        for (let i = 0; i < 512; i++) if (sp.spt[i] === FROZEN_SPTE) this.#finding({ ...at, gfn: sp.gfn, level: sp.role.level }, 'frozen', FROZEN_SPTE, null, `${tree} SPTE ${i} of table gfn 0x${sp.gfn.toString(16)} still FROZEN_SPTE at the end`);
      }
    }
    if (tornDown && host.inUse[PAGE_EXTERNAL_SPT] > 0) {
      this.#finding(at, 'sept-leaked', null, null, `${host.inUse[PAGE_EXTERNAL_SPT]} S-EPT page(s) never returned to the host after teardown`);
    }
  }

  #finding(d: Dirty, kind: string, mirror: U64 | null, sept: U64 | null, detail: string): void {
    const ctx = this.#vm.ctx;
    const m = ctx.metrics;
    m.divergences++;
    // The earliest write found diverging, not the first found: a busy writer's entry is checked
    // later than a later write by a thread that finished first.
    if (m.firstDivergenceSeq < 0 || d.seq < m.firstDivergenceSeq) {
      m.firstDivergenceSeq = d.seq;
      m.firstDivergenceStep = d.step;
    }
    ctx.events.instant(this.currentThread, 'check', 'divergence', d.gfn, d.level, 'none', mirror, sept, kind, detail);
  }
}
