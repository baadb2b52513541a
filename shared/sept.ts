// Secure-EPT entries: the module's L1 entry states, their public codes and the architectural
// 64-bit entry value, as ../reference/tdx-module.md section 1 describes them (module 1.5.01
// include/auto_gen/sept_state_lookup.h, src/common/x86_defs/x86_defs.h). Values are packed U64
// numbers (u64.ts): bits 0..39 exact, bits 52..63 at packed 40..51. Shared with the renderer,
// which decodes entries for the inspector: no Node imports.
import { TWO_40, u64_hex, u64_make, type U64 } from './u64.ts';

/** L1 S-EPT entry states, indexed as the module's seamcall_sept_state_lookup columns. */
export const SEPT_STATE_FREE = 0;
export const SEPT_STATE_REMOVED = 1;
export const SEPT_STATE_NL_MAPPED = 2;
export const SEPT_STATE_NL_BLOCKED = 3;
export const SEPT_STATE_MAPPED = 4;
export const SEPT_STATE_BLOCKED = 5;
export const SEPT_STATE_BLOCKEDW = 6;
export const SEPT_STATE_EXPORTED_BLOCKEDW = 7;
export const SEPT_STATE_EXPORTED_DIRTY = 8;
export const SEPT_STATE_EXPORTED_DIRTY_BLOCKEDW = 9;
export const SEPT_STATE_PENDING = 10;
export const SEPT_STATE_PENDING_BLOCKED = 11;
export const SEPT_STATE_PENDING_BLOCKEDW = 12;
export const SEPT_STATE_PENDING_EXPORTED_BLOCKEDW = 13;
export const SEPT_STATE_PENDING_EXPORTED_DIRTY = 14;
export const SEPT_STATE_PENDING_EXPORTED_DIRTY_BLOCKEDW = 15;
export const SEPT_STATE_COUNT = 16;

export const SEPT_STATE_NAMES: readonly string[] = [
  'FREE', 'REMOVED', 'NL_MAPPED', 'NL_BLOCKED', 'MAPPED', 'BLOCKED', 'BLOCKEDW',
  'EXPORTED_BLOCKEDW', 'EXPORTED_DIRTY', 'EXPORTED_DIRTY_BLOCKEDW', 'PENDING', 'PENDING_BLOCKED',
  'PENDING_BLOCKEDW', 'PENDING_EXPORTED_BLOCKEDW', 'PENDING_EXPORTED_DIRTY',
  'PENDING_EXPORTED_DIRTY_BLOCKEDW',
];

/**
 * The 7-bit state encoding {bits 7,6 -> e[6:5]; bits 56..53 -> e[4:1]; bit 9 -> e[0]}. Bits 6 and
 * 7 (IPAT, PS) are both set for every leaf state and both clear otherwise.
 */
export const SEPT_STATE_ENCODING: readonly number[] = [
  0x0e, 0x0c, 0x00, 0x08, 0x60, 0x68, 0x64, 0x66, 0x63, 0x67, 0x70, 0x78, 0x74, 0x76, 0x73, 0x77,
];

/** The public code reported in RDX bits 15:8 (level_state); non-leaf states carry 0x80. */
export const SEPT_STATE_PUBLIC: readonly number[] = [
  0, 5, 0x84, 0x81, 4, 1, 8, 9, 11, 12, 2, 3, 16, 17, 19, 20,
];

/** Which states are leaf states (PS = 1, also at 4K). */
export function sept_state_is_leaf(state: number): boolean {
  return (SEPT_STATE_ENCODING[state] & 0x60) !== 0;
}

/**
 * sept_state_is_any_blocked: NL_BLOCKED, BLOCKED and PENDING_BLOCKED only. The module keeps the
 * blocked-for-write states (BLOCKEDW and its pending/exported variants) under a separate flag
 * (any_blockedw in sept_special_flags_lookup); BLOCK does block them, and REMOVE/DEMOTE treat
 * them as not blocked.
 */
export function sept_state_is_any_blocked(state: number): boolean {
  return state === SEPT_STATE_NL_BLOCKED || state === SEPT_STATE_BLOCKED || state === SEPT_STATE_PENDING_BLOCKED;
}

/** sept_state_is_guest_accessible_leaf: MAPPED, BLOCKEDW or EXPORTED_* (the model produces MAPPED only). */
export function sept_state_is_guest_accessible_leaf(state: number): boolean {
  return state === SEPT_STATE_MAPPED || state === SEPT_STATE_BLOCKEDW || state === SEPT_STATE_EXPORTED_BLOCKEDW
    || state === SEPT_STATE_EXPORTED_DIRTY || state === SEPT_STATE_EXPORTED_DIRTY_BLOCKEDW;
}

/** Leaf states whose encoding has TDP (bit 56): the guest has not accepted the page yet. */
export function sept_state_is_any_pending(state: number): boolean {
  return sept_state_is_leaf(state) && (SEPT_STATE_ENCODING[state] & 0x10) !== 0;
}

/** RWX the module writes for a state (BLOCKEDW-family entries lose W only). */
function stateRwx(state: number): number {
  switch (state) {
    case SEPT_STATE_NL_MAPPED:
    case SEPT_STATE_MAPPED:
    case SEPT_STATE_EXPORTED_DIRTY:
      return 7;
    case SEPT_STATE_BLOCKEDW:
    case SEPT_STATE_EXPORTED_BLOCKEDW:
    case SEPT_STATE_EXPORTED_DIRTY_BLOCKEDW:
      return 5;
    default:
      return 0;
  }
}

/** TDEL (bit 11): the per-entry lock. */
export const SEPT_TDEL_BIT = 1 << 11;
/** Packed-high-field values of bits 52 (TDHP) and 63 (SVE). */
const HI_TDHP = 1;
const HI_SVE = 1 << 11;
/** Lock flags as kept beside an entry in the model: bit 0 TDEL, bit 1 TDHP. */
export const SEPT_LOCK_TDEL = 1;
export const SEPT_LOCK_TDHP = 2;

const MT_WB = 6 << 3;
const IPAT_PS = (1 << 6) | (1 << 7);

/**
 * The architectural value of an entry: RWX, MT, IPAT, PS, D, TDEL, HPA (pfn), TDHP, state bits
 * 53..56 and SVE (always set by the module). `lockFlags` uses SEPT_LOCK_TDEL/TDHP. FREE and
 * REMOVED entries carry no HPA. Leaf states carry MT = WB (our choice: the module keeps the
 * memory type it was given, and KVM always maps WB).
 */
export function sept_entry_value(state: number, pfn: number, lockFlags: number): U64 {
  const enc = SEPT_STATE_ENCODING[state];
  const leaf = (enc & 0x60) !== 0;
  let low12 = stateRwx(state);
  if (leaf) low12 |= MT_WB | IPAT_PS;
  if ((enc & 1) !== 0) low12 |= 1 << 9;
  if ((lockFlags & SEPT_LOCK_TDEL) !== 0) low12 |= SEPT_TDEL_BIT;
  let hi12 = HI_SVE | (((enc >> 1) & 0xf) << 1);
  if ((lockFlags & SEPT_LOCK_TDHP) !== 0) hi12 |= HI_TDHP;
  const hasHpa = state !== SEPT_STATE_FREE && state !== SEPT_STATE_REMOVED;
  return u64_make(low12, hasHpa ? pfn : 0, hi12);
}

/** SEPTE_INIT_VALUE: a FREE entry (FREE encoding + SVE); new S-EPT pages are filled with it. */
export const SEPTE_INIT_VALUE: U64 = sept_entry_value(SEPT_STATE_FREE, 0, 0);

const stateByEncoding = new Int8Array(128).fill(-1);
for (let s = 0; s < SEPT_STATE_COUNT; s++) stateByEncoding[SEPT_STATE_ENCODING[s]] = s;

/** The state an entry value encodes, or -1 for an encoding the module never writes. */
export function sept_state_of(v: U64): number {
  // Bits 0..11 by `&`, exact (it takes v modulo 2^32): `%` on a value above 2^31 is a
  // floating-point remainder, and every S-EPT entry event decodes two states.
  const low = v & 0xfff;
  const hi = Math.floor(v / TWO_40);
  const enc = (((low >> 6) & 3) << 5) | (((hi >> 1) & 0xf) << 1) | ((low >> 9) & 1);
  return stateByEncoding[enc];
}

/**
 * The architectural view the module returns in RCX on an S-EPT error
 * (set_arch_septe_details_in_vmm_regs): FREE reads as SVE only; a leaf keeps RWX, MT, IPAT, PS,
 * HPA and SVE; a non-leaf keeps RWX and PS (tdx-module.md 0.4, taken literally).
 */
export function sept_arch_view(state: number, pfn: number): U64 {
  if (state === SEPT_STATE_FREE) return HI_SVE * TWO_40;
  const v = sept_entry_value(state, pfn, 0);
  if (!sept_state_is_leaf(state)) return (v % 4096) & 0x87;
  const low = (v % 4096) & 0xff;
  return low + pfn * 4096 + HI_SVE * TWO_40;
}

/** RDX on an S-EPT error (sept_entry_arch_info_t): level in bits 2:0, public state in 15:8. */
export function sept_level_state(tdxLevel: number, state: number): number {
  return tdxLevel | (SEPT_STATE_PUBLIC[state] << 8);
}

/** TDX_SEPT_LEVEL_MASK / TDX_SEPT_STATE_MASK decoding of a level_state word. */
export function sept_level_state_decode(levelState: number): { tdxLevel: number; publicState: number } {
  return { tdxLevel: levelState & 7, publicState: (levelState >> 8) & 0xff };
}

/** The fields an engineer reads off an S-EPT entry, for the inspector and event details. */
export interface SeptDecoded {
  hex: string;
  state: number;
  stateName: string;
  publicCode: number;
  leaf: boolean;
  r: boolean;
  w: boolean;
  x: boolean;
  memType: number;
  ipat: boolean;
  ps: boolean;
  tdel: boolean;
  tdhp: boolean;
  sve: boolean;
  pfn: number;
}

/** Decodes an entry value. An unknown encoding gets state -1 and stateName 'INVALID'. */
export function sept_decode(v: U64): SeptDecoded {
  const low = v % 4096;
  const hi = Math.floor(v / TWO_40);
  const state = sept_state_of(v);
  return {
    hex: u64_hex(v),
    state,
    stateName: state < 0 ? 'INVALID' : SEPT_STATE_NAMES[state],
    publicCode: state < 0 ? -1 : SEPT_STATE_PUBLIC[state],
    leaf: state >= 0 && sept_state_is_leaf(state),
    r: (low & 1) !== 0,
    w: (low & 2) !== 0,
    x: (low & 4) !== 0,
    memType: (low >> 3) & 7,
    ipat: (low & (1 << 6)) !== 0,
    ps: (low & (1 << 7)) !== 0,
    tdel: (low & SEPT_TDEL_BIT) !== 0,
    tdhp: (hi & HI_TDHP) !== 0,
    sve: (hi & HI_SVE) !== 0,
    pfn: Math.floor((v % TWO_40) / 4096),
  };
}
