// Constants the TDX tests compare against, re-exported in one place.
import { TWO_40 } from '../../../shared/u64.ts';
export {
  SEPT_LOCK_TDEL, SEPT_LOCK_TDHP, SEPT_STATE_BLOCKED, SEPT_STATE_FREE, SEPT_STATE_MAPPED, SEPT_STATE_NL_BLOCKED,
  SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING, SEPT_STATE_PENDING_BLOCKED,
} from '../../../shared/sept.ts';
/** A FREE entry's architectural view in RCX: SVE (bit 63) only. */
export const SVE_ONLY = 2048 * TWO_40;
