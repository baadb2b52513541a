// Snapshot helpers for the TD model: clone() for exhaustive exploration and hashState() for
// "did anything change" checks and run fingerprints. Both walk the whole state; the S-EPT pages
// are copied with typed-array slices, so a clone of a TD with N pages costs O(N) small copies.
import { assert } from '../checks.ts';
import { pamtClone, type Pamt } from './pamt.ts';
import { sept_pages } from './sept_walk.ts';
import type { SeptPage, Td, VcpuState } from './td.ts';

/** A deep copy of the module state. `onEntryWrite` is not copied (the clone reports to nobody). */
export function cloneTd(td: Td): Td {
  const pageMap = new Map<SeptPage, SeptPage>();
  const root = clonePage(td.root, pageMap);
  const vcpus: VcpuState[] = td.vcpus.map((v) => ({
    ...v,
    accepting: v.accepting === null ? null : { page: pageMap.get(v.accepting.page)!, idx: v.accepting.idx },
  }));
  for (const v of vcpus) assert(v.accepting === null || v.accepting.page !== undefined, 'cloneTd: accepting page not in tree');
  return {
    config: { ...td.config, tdcsPfns: [...td.config.tdcsPfns], tdvprPfns: [...td.config.tdvprPfns] },
    lifecycle: td.lifecycle, opState: td.opState, fatal: td.fatal, tdEpoch: td.tdEpoch,
    refcount: [td.refcount[0], td.refcount[1]], chldcnt: td.chldcnt, vcpus, root,
    pamt: pamtClone(td.pamt),
    tdrLock: { ...td.tdrLock }, opStateLock: { ...td.opStateLock }, septLock: { ...td.septLock }, epochLock: { ...td.epochLock },
    wbcacheDone: td.wbcacheDone, hostInterruptPending: td.hostInterruptPending, kvmWaitForSeptZap: td.kvmWaitForSeptZap,
    cacheDirty: new Set(td.cacheDirty), stats: { ...td.stats }, onEntryWrite: null,
  };
}

function clonePage(p: SeptPage, pageMap: Map<SeptPage, SeptPage>): SeptPage {
  const c: SeptPage = {
    pfn: p.pfn, level: p.level, gfnBase: p.gfnBase, state: p.state.slice(), target: p.target.slice(),
    lock: p.lock.slice(), child: p.child.map((ch) => (ch === null ? null : clonePage(ch, pageMap))), populated: p.populated,
  };
  pageMap.set(p, c);
  return c;
}

/** FNV-1a over 32-bit words. */
class Fnv {
  h = 0x811c9dc5;
  word(n: number): void {
    let x = n >>> 0;
    for (let i = 0; i < 4; i++) {
      this.h = Math.imul(this.h ^ (x & 0xff), 0x01000193);
      x >>>= 8;
    }
  }
  /** A non-negative integer below 2^53, as two words. */
  num(n: number): void {
    this.word(n); // word() keeps n >>> 0, the low 32 bits
    this.word(Math.floor(n / 4294967296));
  }
}

/**
 * A hash of everything a SEAMCALL can change: TD fields, vCPUs, locks, the S-EPT (every page's
 * entries, in tree order), the PAMT (sorted) and the cache-dirty set. `stats` are excluded
 * (counters, not state). Equal states give equal hashes regardless of history.
 */
export function hashState(td: Td): string {
  const f = new Fnv();
  for (const n of [td.lifecycle, td.opState, td.fatal ? 1 : 0, td.tdEpoch, td.refcount[0], td.refcount[1], td.chldcnt]) f.num(n);
  for (const n of [td.wbcacheDone, td.hostInterruptPending, td.kvmWaitForSeptZap]) f.word(n ? 1 : 0);
  for (const l of [td.tdrLock, td.opStateLock, td.septLock, td.epochLock]) f.word(l.counter * 2 + (l.exclusive ? 1 : 0));
  for (const v of td.vcpus) {
    f.num(v.vcpuEpoch);
    f.word((v.inGuest ? 1 : 0) | (v.zeroStepActive ? 2 : 0) | (v.holdsSeptLock ? 4 : 0) | (v.associated ? 8 : 0));
    f.num(v.accepting === null ? 0 : v.accepting.page.pfn * 512 + v.accepting.idx + 1);
  }
  for (const p of sept_pages(td)) hashPage(f, p);
  hashPamt(f, td.pamt);
  for (const pfn of [...td.cacheDirty].sort((a, b) => a - b)) f.num(pfn);
  return (f.h >>> 0).toString(16).padStart(8, '0');
}

function hashPage(f: Fnv, p: SeptPage): void {
  f.num(p.pfn);
  f.word(p.level);
  f.num(p.gfnBase);
  for (let i = 0; i < 512; i++) {
    if (p.state[i] === 0 && p.lock[i] === 0) continue;
    f.word(i);
    f.word(p.state[i] | (p.lock[i] << 8));
    f.word(p.target[i]);
  }
}

function hashPamt(f: Fnv, pamt: Pamt): void {
  for (let size = 0; size < 3; size++) {
    const keys = [...pamt.bySize[size].keys()].sort((a, b) => a - b);
    f.word(0xfeed0000 + size);
    for (const k of keys) {
      const e = pamt.bySize[size].get(k)!;
      f.num(k);
      f.word(e.pt);
      f.num(e.owner);
      f.num(e.bepoch);
    }
  }
}
