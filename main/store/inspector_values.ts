// Value helpers the inspector's files share: how a packed entry value reads in each tree (the
// mirror's SPTE bits, the S-EPT state the TDX module keeps), its pfn, its merge attributes, and
// the span of an entry per level. They sit apart so that ranges, disagreements and rows decode a
// value one way: two copies of "what is this entry's pfn" could drift and make a merged row lie.
import type { InspectorTreeName } from '../../shared/api/runs.ts';
import { SEPT_STATE_NAMES, sept_state_is_leaf, sept_state_of } from '../../shared/sept.ts';
import { KVM_PAGES_PER_HPAGE, is_frozen_spte, is_last_spte, is_large_pte, is_shadow_present_pte } from '../../shared/spte.ts';
import { TWO_40, type U64 } from '../../shared/u64.ts';

const LEVEL_NAMES = ['', '4K', '2M', '1G', '512G', '256T'];
/** KVM_PAGES_PER_HPAGE by level, one past the top so a top entry's "parent span" exists. */
export const PAGES = [0, 1, 2, 3, 4, 5, 6, 7].map((l) => (l === 0 ? 0 : KVM_PAGES_PER_HPAGE(l)));

/** A level as KVM's page-size name (4K, 2M, 1G...), for row labels. */
export function levelName(level: number): string {
  return LEVEL_NAMES[level] ?? `L${level}`;
}

/** One number per entry for Map keys: levels fit in the low 3 bits, gfns stay exact below 2^50. */
export function key(level: number, gfn: number): number {
  return gfn * 8 + level;
}

/** gfns and pfns print in hex, as KVM's tracepoints and the module's logs show them. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** The entry with the pfn bits cleared: two entries merge when this matches. */
export function attributesOf(v: U64): number {
  return (v % 4096) + Math.floor(v / TWO_40) * TWO_40;
}

/** The value's pfn field (bits 39:12 as packed), present or not: what a range steps. */
export function rawPfn(v: U64): number {
  return Math.floor((v % TWO_40) / 4096);
}

/** The pfn an entry holds (bits 51:12, kept up to bit 39 by the packing), 0 for a non-present SPTE. */
export function pfnOf(tree: InspectorTreeName, v: U64): number {
  if (tree === 'mirror') return is_shadow_present_pte(v) ? rawPfn(v) : 0;
  return rawPfn(v);
}

/** Whether an entry has a table under it (so rows follow it with depth + 1). */
export function isNonLeafValue(tree: InspectorTreeName, v: U64, level: number): boolean {
  if (level === 1) return false;
  if (tree === 'mirror') return is_shadow_present_pte(v) && !is_large_pte(v);
  const state = sept_state_of(v);
  return state >= 0 && !sept_state_is_leaf(state);
}

/** A mirror entry's kind from its SPTE bits; frozen first, since a frozen SPTE is not present. */
function mirrorKind(v: U64, level: number): string {
  if (is_frozen_spte(v)) return 'frozen';
  if (!is_shadow_present_pte(v)) return 'other';
  if (!is_last_spte(v, level)) return 'non-leaf';
  return level > 1 ? 'huge' : 'leaf';
}

/** The row kind: the mirror's SPTE kind, or the S-EPT state name the module reports. */
export function kindOf(tree: InspectorTreeName, v: U64, level: number): string {
  if (tree === 'mirror') return mirrorKind(v, level);
  return SEPT_STATE_NAMES[sept_state_of(v)] ?? 'INVALID';
}
