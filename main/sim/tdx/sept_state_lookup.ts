// ONE leaf x state table saying which SEAMCALL may touch an S-EPT entry in which state, like the
// module's seamcall_sept_state_lookup[leaf][state] (include/auto_gen/sept_state_lookup.c,
// used through sept_state_is_seamcall_leaf_allowed in sept_manager.h). Rows are from
// tdx-module.md section 1.3; handlers add their own extra checks (leaf-ness, version-1 cases).
// Also the per-state "TLB tracking required" column (section 1.2) and the OP_STATE table
// (seamcall_state_lookup, include/auto_gen/op_state_lookup.c, section 2 step 4).
import {
  SEPT_STATE_BLOCKED, SEPT_STATE_BLOCKEDW, SEPT_STATE_COUNT, SEPT_STATE_EXPORTED_BLOCKEDW,
  SEPT_STATE_EXPORTED_DIRTY, SEPT_STATE_EXPORTED_DIRTY_BLOCKEDW, SEPT_STATE_FREE, SEPT_STATE_MAPPED,
  SEPT_STATE_NL_BLOCKED, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING, SEPT_STATE_PENDING_BLOCKED,
  SEPT_STATE_PENDING_BLOCKEDW, SEPT_STATE_PENDING_EXPORTED_BLOCKEDW, SEPT_STATE_PENDING_EXPORTED_DIRTY,
  SEPT_STATE_REMOVED, sept_state_is_leaf,
} from '../../../shared/sept.ts';
import {
  TDH_MEM_PAGE_ADD_LEAF, TDH_MEM_PAGE_AUG_LEAF, TDH_MEM_PAGE_DEMOTE_LEAF, TDH_MEM_PAGE_PROMOTE_LEAF,
  TDH_MEM_PAGE_RELOCATE_LEAF, TDH_MEM_PAGE_REMOVE_LEAF, TDH_MEM_RANGE_BLOCK_LEAF,
  TDH_MEM_RANGE_UNBLOCK_LEAF, TDH_MEM_RD_LEAF, TDH_MEM_SEPT_ADD_LEAF, TDH_MEM_SEPT_RD_LEAF,
  TDH_MEM_SEPT_REMOVE_LEAF, TDH_MEM_TRACK_LEAF, TDH_MEM_WR_LEAF, TDH_MR_EXTEND_LEAF,
  TDH_MR_FINALIZE_LEAF, TDH_VP_ENTER_LEAF,
} from './seamcall_leaves.ts';
import { OP_STATE_INITIALIZED, OP_STATE_RUNNABLE } from './td.ts';

/** Row key for the guest's TDG.MEM.PAGE.ACCEPT (a TDCALL, outside the SEAMCALL leaf space). */
export const TDG_MEM_PAGE_ACCEPT_ROW = 0x1006;

const ALL_LEAF_STATES = Array.from({ length: SEPT_STATE_COUNT }, (_, s) => s).filter(sept_state_is_leaf);

const SEPT_STATE_ROWS: ReadonlyArray<readonly [number, readonly number[]]> = [
  [TDH_MEM_PAGE_ADD_LEAF, [SEPT_STATE_FREE]],
  // NL_MAPPED only for the version-1 "page already exists" cases; the v0 handler rejects it.
  [TDH_MEM_SEPT_ADD_LEAF, [SEPT_STATE_FREE, SEPT_STATE_NL_MAPPED]],
  [TDH_MEM_PAGE_RELOCATE_LEAF, ALL_LEAF_STATES],
  [TDH_MEM_PAGE_AUG_LEAF, [SEPT_STATE_FREE, SEPT_STATE_REMOVED]],
  [TDH_MEM_RANGE_BLOCK_LEAF, [SEPT_STATE_NL_MAPPED, SEPT_STATE_MAPPED, SEPT_STATE_PENDING, SEPT_STATE_BLOCKEDW, SEPT_STATE_PENDING_BLOCKEDW]],
  [TDH_MEM_RD_LEAF, [SEPT_STATE_MAPPED, SEPT_STATE_BLOCKEDW, SEPT_STATE_EXPORTED_BLOCKEDW, SEPT_STATE_EXPORTED_DIRTY, SEPT_STATE_EXPORTED_DIRTY_BLOCKEDW]],
  [TDH_MEM_WR_LEAF, [SEPT_STATE_MAPPED, SEPT_STATE_EXPORTED_DIRTY]],
  [TDH_MEM_PAGE_DEMOTE_LEAF, [SEPT_STATE_MAPPED, SEPT_STATE_BLOCKED, SEPT_STATE_PENDING, SEPT_STATE_PENDING_BLOCKED]],
  [TDH_MR_EXTEND_LEAF, [SEPT_STATE_MAPPED]],
  [TDH_MEM_PAGE_PROMOTE_LEAF, [SEPT_STATE_NL_MAPPED, SEPT_STATE_NL_BLOCKED]],
  [TDH_MEM_SEPT_RD_LEAF, Array.from({ length: SEPT_STATE_COUNT }, (_, s) => s)],
  [TDH_MEM_PAGE_REMOVE_LEAF, [SEPT_STATE_MAPPED, SEPT_STATE_BLOCKED, SEPT_STATE_PENDING, SEPT_STATE_PENDING_BLOCKED, SEPT_STATE_BLOCKEDW, SEPT_STATE_PENDING_BLOCKEDW]],
  [TDH_MEM_SEPT_REMOVE_LEAF, [SEPT_STATE_NL_MAPPED, SEPT_STATE_NL_BLOCKED]],
  [TDH_MEM_RANGE_UNBLOCK_LEAF, [SEPT_STATE_NL_BLOCKED, SEPT_STATE_BLOCKED, SEPT_STATE_PENDING_BLOCKED]],
  [TDG_MEM_PAGE_ACCEPT_ROW, [SEPT_STATE_PENDING, SEPT_STATE_PENDING_EXPORTED_DIRTY]],
];

/** seamcall_sept_state_lookup[leaf][state], flattened: row-major, SEPT_STATE_COUNT columns. */
const seamcallSeptStateLookup = new Map<number, Uint8Array>();
for (const [leaf, states] of SEPT_STATE_ROWS) {
  const row = new Uint8Array(SEPT_STATE_COUNT);
  for (const s of states) row[s] = 1;
  seamcallSeptStateLookup.set(leaf, row);
}

/** sept_state_is_seamcall_leaf_allowed(leaf, entry): false for a leaf with no row. */
export function sept_state_is_seamcall_leaf_allowed(leaf: number, state: number): boolean {
  const row = seamcallSeptStateLookup.get(leaf);
  return row !== undefined && row[state] === 1;
}

/** The states whose BLOCK must be tracked before REMOVE/DEMOTE/etc. (tdx-module.md 1.2). */
const TLB_TRACKING_NOT_REQUIRED = new Set<number>([
  SEPT_STATE_FREE, SEPT_STATE_REMOVED, SEPT_STATE_EXPORTED_BLOCKEDW, SEPT_STATE_PENDING_EXPORTED_BLOCKEDW,
]);

/** sept_state_is_tlb_tracking_required(entry). */
export function sept_state_is_tlb_tracking_required(state: number): boolean {
  return !TLB_TRACKING_NOT_REQUIRED.has(state);
}

/** op_state_is_tlb_tracking_required: RUNNABLE (and the live migration states, not modeled). */
export function op_state_is_tlb_tracking_required(opState: number): boolean {
  return opState === OP_STATE_RUNNABLE;
}

const BOTH = [OP_STATE_INITIALIZED, OP_STATE_RUNNABLE];
const OP_STATE_ROWS: ReadonlyArray<readonly [number, readonly number[]]> = [
  [TDH_VP_ENTER_LEAF, [OP_STATE_RUNNABLE]],
  [TDH_MEM_PAGE_ADD_LEAF, [OP_STATE_INITIALIZED]],
  [TDH_MR_EXTEND_LEAF, [OP_STATE_INITIALIZED]],
  [TDH_MR_FINALIZE_LEAF, [OP_STATE_INITIALIZED]],
  [TDH_MEM_SEPT_ADD_LEAF, BOTH], [TDH_MEM_PAGE_AUG_LEAF, BOTH], [TDH_MEM_RANGE_BLOCK_LEAF, BOTH],
  [TDH_MEM_PAGE_DEMOTE_LEAF, BOTH], [TDH_MEM_PAGE_PROMOTE_LEAF, BOTH], [TDH_MEM_PAGE_REMOVE_LEAF, BOTH],
  [TDH_MEM_SEPT_REMOVE_LEAF, BOTH], [TDH_MEM_TRACK_LEAF, BOTH], [TDH_MEM_RANGE_UNBLOCK_LEAF, BOTH],
  [TDH_MEM_PAGE_RELOCATE_LEAF, BOTH],
];
const seamcallStateLookup = new Map<number, ReadonlySet<number>>(OP_STATE_ROWS.map(([l, s]) => [l, new Set(s)]));

/** seamcall_state_lookup[leaf][op_state]: may the leaf run in this OP_STATE? */
export function op_state_is_seamcall_allowed(leaf: number, opState: number): boolean {
  return seamcallStateLookup.get(leaf)?.has(opState) ?? false;
}
