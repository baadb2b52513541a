// The module's try-locks (src/common/helpers/tdx_locks.h). No S-EPT leaf spins: every lock is
// a try-lock whose failure is a BUSY status naming the lock (tdx-module.md section 2, [L1]).
//
// A SEAMCALL runs atomically in the simulation (one scheduler step), so a lock a leaf takes and
// releases inside itself can only collide with a holder that spans steps: TDH.VP.ENTER under
// zero-step mitigation (S-EPT tree lock, exclusive) and a guest TDG.MEM.PAGE.ACCEPT (the entry's
// TDEL). Leaves still take and release every lock they would, so such holders see them.
import { assert } from '../checks.ts';

export const LOCK_RET_SUCCESS = 0;
export const LOCK_RET_FAIL = 1;
export type LockReturn = typeof LOCK_RET_SUCCESS | typeof LOCK_RET_FAIL;

export const TDX_LOCK_SHARED = 0;
export const TDX_LOCK_EXCLUSIVE = 1;
export type LockType = typeof TDX_LOCK_SHARED | typeof TDX_LOCK_EXCLUSIVE;

/** sharex_lock_t: a reader count or one exclusive holder. */
export interface SharexLock {
  /** Number of shared holders. */
  counter: number;
  /** True while held exclusive (then counter is 0). */
  exclusive: boolean;
}

export function newSharexLock(): SharexLock {
  return { counter: 0, exclusive: false };
}

/** acquire_sharex_lock_sh: fails while an exclusive holder exists. */
export function acquire_sharex_lock_sh(lock: SharexLock): LockReturn {
  if (lock.exclusive) return LOCK_RET_FAIL;
  lock.counter++;
  return LOCK_RET_SUCCESS;
}

/** acquire_sharex_lock_ex: fails while anyone holds the lock. */
export function acquire_sharex_lock_ex(lock: SharexLock): LockReturn {
  if (lock.exclusive || lock.counter !== 0) return LOCK_RET_FAIL;
  lock.exclusive = true;
  return LOCK_RET_SUCCESS;
}

export function acquire_sharex_lock(lock: SharexLock, type: LockType): LockReturn {
  return type === TDX_LOCK_SHARED ? acquire_sharex_lock_sh(lock) : acquire_sharex_lock_ex(lock);
}

export function release_sharex_lock_sh(lock: SharexLock): void {
  assert(!lock.exclusive, 'release_sharex_lock_sh: held exclusive');
  assert(lock.counter > 0, 'release_sharex_lock_sh: not held');
  lock.counter--;
}

export function release_sharex_lock_ex(lock: SharexLock): void {
  assert(lock.exclusive, 'release_sharex_lock_ex: not held exclusive');
  lock.exclusive = false;
}

export function release_sharex_lock(lock: SharexLock, type: LockType): void {
  if (type === TDX_LOCK_SHARED) release_sharex_lock_sh(lock);
  else release_sharex_lock_ex(lock);
}

/** True when nobody holds the lock. */
export function sharex_lock_is_free(lock: SharexLock): boolean {
  return !lock.exclusive && lock.counter === 0;
}
