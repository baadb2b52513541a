// checkModelInvariants: what must hold of the module model after every SEAMCALL, whatever the
// sequence. A violation means a bug in *our* model (not a simulated failure), so the property
// test asserts the list is empty. Returned as readable strings so a failing seed says why.
//
// 1. S-EPT shape: each non-leaf entry's child page exists, sits one level down, starts at the
//    entry's GFN and has the entry's pfn; leaf and FREE entries have no child; `populated` counts.
// 2. Ownership (before TD_TEARDOWN, when the S-EPT is still live): every S-EPT page is PT_EPT and
//    every leaf's page PT_REG at the leaf's size, owned by the TD; no host 4K page is referenced
//    twice; every PT_EPT/PT_REG PAMT entry of the TD is referenced by the S-EPT exactly once.
// 3. PAMT: no 4K page covered by entries at two sizes; CHLDCNT = the TD's pages (TDR excluded).
// 4. No entry below an NL_BLOCKED entry is reachable by the module's walk.
// 5. Epochs and locks: refcount[p] = vCPUs in guest whose epoch has parity p; TD_EPOCH >= 1;
//    the tree lock is held exactly by the zero-step vCPUs inside TDH.VP.ENTER (leaves release theirs);
//    TDEL is set exactly on the entries guest ACCEPTs hold.
import { SEPT_LOCK_TDEL, SEPT_STATE_FREE, SEPT_STATE_NL_BLOCKED, SEPT_STATE_NL_MAPPED, sept_state_is_leaf } from '../../../shared/sept.ts';
import { PAGES_PER_SIZE, PT_EPT, PT_REG, PT_TDR } from './pamt.ts';
import { secure_ept_walk } from './sept_walk.ts';
import { POW512, TD_TEARDOWN, sept_entry_gfn, type SeptPage, type Td } from './td.ts';
import { sharex_lock_is_free } from './tdx_locks.ts';

export function checkModelInvariants(td: Td): string[] {
  const errors: string[] = [];
  const referenced = new Map<string, string>(); // "size:pfn" of PAMT entries the S-EPT uses -> where
  checkPage(td, td.root, errors, referenced);
  if (td.lifecycle !== TD_TEARDOWN) checkPamtMatchesSept(td, errors, referenced);
  checkPamtSelf(td, errors);
  checkEpochsAndLocks(td, errors);
  return errors;
}

function checkPage(td: Td, page: SeptPage, errors: string[], referenced: Map<string, string>): void {
  let populated = 0;
  const live = td.lifecycle !== TD_TEARDOWN;
  if (live && page !== td.root) reference(td, page.pfn, 0, PT_EPT, `S-EPT page L${page.level} gfn ${page.gfnBase}`, errors, referenced);
  for (let i = 0; i < 512; i++) {
    const state = page.state[i];
    if (state !== SEPT_STATE_FREE) populated++;
    const child = page.child[i];
    const gfn = sept_entry_gfn(page, i);
    const nonLeaf = state === SEPT_STATE_NL_MAPPED || state === SEPT_STATE_NL_BLOCKED;
    if (nonLeaf !== (child !== null)) errors.push(`entry L${page.level} gfn ${gfn}: state ${state} child ${child !== null}`);
    if (child !== null) {
      if (child.level !== page.level - 1 || child.gfnBase !== gfn || child.pfn !== page.target[i]) {
        errors.push(`entry L${page.level} gfn ${gfn}: child page mismatch (level ${child.level}, gfn ${child.gfnBase}, pfn ${child.pfn})`);
      }
      if (state === SEPT_STATE_NL_BLOCKED) checkUnreachableBelow(td, page, i, errors);
      checkPage(td, child, errors, referenced);
    } else if (sept_state_is_leaf(state)) {
      if (page.target[i] % POW512[page.level] !== 0) errors.push(`leaf L${page.level} gfn ${gfn}: pfn ${page.target[i]} unaligned`);
      if (live) reference(td, page.target[i], page.level, PT_REG, `leaf L${page.level} gfn ${gfn}`, errors, referenced);
    }
  }
  if (populated !== page.populated) errors.push(`page pfn ${page.pfn}: populated ${page.populated} != ${populated}`);
}

function reference(td: Td, pfn: number, size: number, pt: number, where: string, errors: string[], referenced: Map<string, string>): void {
  const key = `${size}:${pfn}`;
  const prev = referenced.get(key);
  if (prev !== undefined) errors.push(`${where}: pfn ${pfn} also used by ${prev}`);
  referenced.set(key, where);
  const e = td.pamt.bySize[size].get(pfn);
  if (e === undefined || e.pt !== pt || e.owner !== td.config.tdrPfn) {
    errors.push(`${where}: PAMT size ${size} pfn ${pfn} is ${e === undefined ? 'NDA' : `pt ${e.pt} owner ${e.owner}`}, want pt ${pt}`);
  }
}

function checkUnreachableBelow(td: Td, page: SeptPage, idx: number, errors: string[]): void {
  const walk = secure_ept_walk(td, sept_entry_gfn(page, idx), page.level - 1);
  if (walk.reached && walk.level < page.level) errors.push(`walk reaches below NL_BLOCKED L${page.level} gfn ${sept_entry_gfn(page, idx)}`);
}

function checkPamtMatchesSept(td: Td, errors: string[], referenced: Map<string, string>): void {
  for (let size = 0; size < 3; size++) {
    for (const [pfn, e] of td.pamt.bySize[size]) {
      if (e.owner !== td.config.tdrPfn || (e.pt !== PT_EPT && e.pt !== PT_REG)) continue;
      if (!referenced.has(`${size}:${pfn}`)) errors.push(`PAMT size ${size} pfn ${pfn} pt ${e.pt} owned but not in the S-EPT`);
    }
  }
}

function checkPamtSelf(td: Td, errors: string[]): void {
  let owned = 0;
  for (let size = 0; size < 3; size++) {
    for (const [pfn, e] of td.pamt.bySize[size]) {
      if (e.owner === td.config.tdrPfn && e.pt !== PT_TDR) owned += PAGES_PER_SIZE[size];
      for (let upper = size + 1; upper < 3; upper++) {
        const base = pfn - (pfn % PAGES_PER_SIZE[upper]);
        if (td.pamt.bySize[upper].has(base)) errors.push(`PAMT pfn ${pfn} assigned at sizes ${size} and ${upper}`);
      }
    }
  }
  if (owned !== td.chldcnt) errors.push(`CHLDCNT ${td.chldcnt} != owned pages ${owned}`);
}

function checkEpochsAndLocks(td: Td, errors: string[]): void {
  const counts = [0, 0];
  let zeroStepHolders = 0;
  let accepting = 0;
  for (const v of td.vcpus) {
    if (v.inGuest) counts[v.vcpuEpoch & 1]++;
    if (v.holdsSeptLock) zeroStepHolders++;
    if (v.holdsSeptLock && !v.inGuest) errors.push(`vCPU ${v.index} holds the tree lock while not entering`);
    if (v.accepting !== null) {
      accepting++;
      if ((v.accepting.page.lock[v.accepting.idx] & SEPT_LOCK_TDEL) === 0) errors.push(`vCPU ${v.index} accepting without TDEL`);
    }
  }
  if (counts[0] !== td.refcount[0] || counts[1] !== td.refcount[1]) errors.push(`refcount [${td.refcount}] != in-guest [${counts}]`);
  if (td.tdEpoch < 1) errors.push(`TD_EPOCH ${td.tdEpoch}`);
  if (td.septLock.exclusive !== (zeroStepHolders > 0) || td.septLock.counter !== 0) errors.push('tree lock held by no spanning holder');
  if (!sharex_lock_is_free(td.tdrLock) || !sharex_lock_is_free(td.opStateLock) || !sharex_lock_is_free(td.epochLock)) {
    errors.push('a leaf-local lock was not released');
  }
  let tdel = 0;
  countTdel(td.root, (n) => (tdel += n));
  if (tdel !== accepting) errors.push(`TDEL set on ${tdel} entries, ${accepting} ACCEPTs in flight`);
}

function countTdel(page: SeptPage, add: (n: number) => void): void {
  for (let i = 0; i < 512; i++) {
    if ((page.lock[i] & SEPT_LOCK_TDEL) !== 0) add(1);
    const c = page.child[i];
    if (c !== null) countTdel(c, add);
  }
}
