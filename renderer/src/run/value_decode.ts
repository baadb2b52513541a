// Bit-by-bit readings of entry values and statuses for the details panel and the inspector:
// SPTEs as KVM's spte.h names the bits, S-EPT entries as the module's state encoding, statuses
// by name and by their 64-bit value. Pure: the components only lay the rows out.
import type { Tree } from '../../../shared/event.ts';
import { sept_decode } from '../../../shared/sept.ts';
import { spte_decode } from '../../../shared/spte.ts';
import { tdx_status_hex, tdx_status_name, tdx_status_parse } from '../../../shared/tdx_status.ts';
import type { U64 } from '../../../shared/u64.ts';

export interface BitRow {
  name: string;
  value: string;
  /** Where the field lives in the 64-bit value. */
  bits: string;
}

const yes = (b: boolean): string => (b ? '1' : '0');
const hex = (n: number): string => `0x${n.toString(16)}`;

export function decodeSpte(value: U64, level: number): BitRow[] {
  const d = spte_decode(value, level);
  return [
    { name: 'value', value: d.hex, bits: '63:0' },
    { name: 'kind', value: d.frozen ? 'FROZEN_SPTE' : d.nonpresent ? 'SHADOW_NONPRESENT_VALUE' : !d.present ? 'not present' : d.leaf ? (d.large ? 'huge leaf' : 'leaf') : 'non-leaf', bits: '' },
    { name: 'R W X', value: `${yes(d.r)} ${yes(d.w)} ${yes(d.x)}`, bits: '2:0' },
    { name: 'memtype', value: String(d.memType) + (d.memType === 6 ? ' (WB)' : ''), bits: '5:3' },
    { name: 'ignore PAT', value: yes(d.ipat), bits: '6' },
    { name: 'large (PS)', value: yes(d.large), bits: '7' },
    { name: 'accessed', value: yes(d.accessed), bits: '8' },
    { name: 'dirty', value: yes(d.dirty), bits: '9' },
    { name: 'MMU-present', value: yes(d.present), bits: '11' },
    { name: 'pfn', value: hex(d.pfn), bits: '51:12' },
    { name: 'host-writable', value: yes(d.hostWritable), bits: '57' },
    { name: 'MMU-writable', value: yes(d.mmuWritable), bits: '58' },
    { name: 'suppress #VE', value: yes(d.suppressVe), bits: '63' },
  ];
}

export function decodeSept(value: U64): BitRow[] {
  const d = sept_decode(value);
  return [
    { name: 'value', value: d.hex, bits: '63:0' },
    { name: 'state', value: `${d.stateName}${d.publicCode >= 0 ? ` (public ${hex(d.publicCode)})` : ''}`, bits: '7:6,56:53,9' },
    { name: 'R W X', value: `${yes(d.r)} ${yes(d.w)} ${yes(d.x)}`, bits: '2:0' },
    { name: 'memtype', value: String(d.memType), bits: '5:3' },
    { name: 'IPAT', value: yes(d.ipat), bits: '6' },
    { name: 'PS (leaf)', value: yes(d.ps), bits: '7' },
    { name: 'TDEL (entry lock)', value: yes(d.tdel), bits: '11' },
    { name: 'HPA pfn', value: hex(d.pfn), bits: '51:12' },
    { name: 'TDHP', value: yes(d.tdhp), bits: '52' },
    { name: 'SVE', value: yes(d.sve), bits: '63' },
  ];
}

export function decodeValue(tree: Tree, value: U64, level: number): BitRow[] {
  return tree === 'sept' ? decodeSept(value) : decodeSpte(value, level);
}

/** A TDX status by name and 64-bit value, or null when the text is not one (errno, RET_PF_*). */
export function decodeStatus(status: string): { name: string; hex: string } | null {
  if (!status.startsWith('TDX_') && !status.startsWith('0x')) return null;
  const s = tdx_status_parse(status);
  if (s === null) return null;
  return { name: tdx_status_name(s), hex: tdx_status_hex(s) };
}
