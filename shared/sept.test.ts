import { describe, expect, it } from 'vitest';
import {
  SEPTE_INIT_VALUE, SEPT_LOCK_TDEL, SEPT_LOCK_TDHP, SEPT_STATE_COUNT, SEPT_STATE_FREE, SEPT_STATE_MAPPED,
  SEPT_STATE_NAMES, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING, sept_arch_view, sept_decode, sept_entry_value,
  sept_level_state, sept_level_state_decode, sept_state_is_any_blocked, sept_state_of,
} from './sept.ts';
import { TWO_40, u64_hex } from './u64.ts';

describe('S-EPT entry values', () => {
  it('every state round-trips through its architectural value, with any lock flags', () => {
    for (let s = 0; s < SEPT_STATE_COUNT; s++) {
      for (const lock of [0, SEPT_LOCK_TDEL, SEPT_LOCK_TDHP, SEPT_LOCK_TDEL | SEPT_LOCK_TDHP]) {
        const v = sept_entry_value(s, 0x12345, lock);
        expect(sept_state_of(v)).toBe(s);
        const d = sept_decode(v);
        expect(d.stateName).toBe(SEPT_STATE_NAMES[s]);
        expect(d.tdel).toBe((lock & SEPT_LOCK_TDEL) !== 0);
        expect(d.tdhp).toBe((lock & SEPT_LOCK_TDHP) !== 0);
        expect(d.sve).toBe(true);
      }
    }
  });

  const table: ReadonlyArray<[string, number, number, string]> = [
    ['SEPTE_INIT_VALUE: FREE encoding (bits 53..55) + SVE', SEPT_STATE_FREE, 0, '0x80e0000000000000'],
    ['MAPPED 4K: RWX, WB, IPAT, PS, HPA, SVE', SEPT_STATE_MAPPED, 0x1234, '0x80000000012340f7'],
    ['PENDING: RWX 0, TDP (bit 56)', SEPT_STATE_PENDING, 0x1234, '0x81000000012340f0'],
    ['NL_MAPPED: RWX, child HPA, no PS', SEPT_STATE_NL_MAPPED, 0x1234, '0x8000000001234007'],
  ];
  for (const [name, state, pfn, hex] of table) it(name, () => expect(u64_hex(sept_entry_value(state, pfn, 0))).toBe(hex));

  it('INIT value constant', () => expect(u64_hex(SEPTE_INIT_VALUE)).toBe('0x80e0000000000000'));

  it('RCX/RDX error details', () => {
    expect(u64_hex(sept_arch_view(SEPT_STATE_FREE, 0))).toBe('0x8000000000000000');
    expect(u64_hex(sept_arch_view(SEPT_STATE_PENDING, 0x1234))).toBe('0x80000000012340f0');
    expect(u64_hex(sept_arch_view(SEPT_STATE_NL_MAPPED, 0x1234))).toBe('0x0000000000000007');
    expect(sept_level_state(1, SEPT_STATE_NL_MAPPED)).toBe(0x8401);
    expect(sept_level_state_decode(0x8401)).toEqual({ tdxLevel: 1, publicState: 0x84 });
  });

  it('an encoding the module never writes decodes as INVALID', () => {
    expect(sept_decode(2 * TWO_40).stateName).toBe('INVALID'); // TDEX (bit 53) alone
  });
});

describe('sept_state_is_any_blocked', () => {
  // sept_special_flags_lookup: any_blocked covers the three blocked states; the blocked-for-write
  // family has its own flag (any_blockedw), so BLOCK blocks them and REMOVE/DEMOTE refuse them.
  it('is true for NL_BLOCKED, BLOCKED and PENDING_BLOCKED only', () => {
    const blocked = SEPT_STATE_NAMES.filter((_, state) => sept_state_is_any_blocked(state));
    expect(blocked.sort()).toEqual(['BLOCKED', 'NL_BLOCKED', 'PENDING_BLOCKED']);
  });
});
