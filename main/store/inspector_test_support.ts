// Fixtures the inspector's unit tests share: hand-made SPTE values and ranges built from
// [level, gfn, value] entries, so each test states its tree in a line.
import { SPTE_MMU_PRESENT_MASK, VMX_EPT_RWX_MASK } from '../../shared/spte.ts';
import { rangesOfColumns, type EntryRanges } from './inspector_ranges.ts';

export const leafSpte = (pfn: number): number => pfn * 4096 + SPTE_MMU_PRESENT_MASK + VMX_EPT_RWX_MASK + 0x30;
export const nonLeafSpte = (pfn: number): number => pfn * 4096 + SPTE_MMU_PRESENT_MASK + VMX_EPT_RWX_MASK;

/** Ranges of a tree given as [level, gfn, value] entries sorted by (level desc, gfn). */
export function rangesOf(tree: 'mirror' | 'sept', entries: [number, number, number][]): EntryRanges {
  return rangesOfColumns(tree, { level: entries.map((e) => e[0]), gfn: entries.map((e) => e[1]), value: entries.map((e) => e[2]) });
}
