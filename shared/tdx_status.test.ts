import { describe, expect, it } from 'vitest';
import {
  TDX_EPT_WALK_FAILED, TDX_GPA_RANGE_ALREADY_BLOCKED, TDX_OPERAND_BUSY, TDX_SEAMCALL_GP, TDX_STATUS_HEX_ONLY, TDX_SUCCESS,
  api_error_with_operand_id, tdx_operand_busy, tdx_status_code, tdx_status_from_bigint, tdx_status_hex,
  tdx_status_is_error, tdx_status_name, tdx_status_names, tdx_status_parse, tdx_status_to_bigint,
} from './tdx_status.ts';

describe('tdx_status', () => {
  const exact: ReadonlyArray<[string, string]> = [
    ['TDX_OPERAND_INVALID|RCX', '0xc000010000000001'],
    ['TDX_OPERAND_ADDR_RANGE_ERROR|RDX', '0xc000010100000002'],
    ['TDX_PAGE_METADATA_INCORRECT|R8', '0xc000030000000008'],
    ['TDX_OPERAND_BUSY|RDX', '0x8000020000000002'],
    ['TDX_OPERAND_BUSY|SEPT_TREE', '0x8000020000000092'],
    ['TDX_OPERAND_BUSY|TD_EPOCH', '0x80000200000000a9'],
    ['TDX_OPERAND_BUSY|OP_STATE', '0x80000200000000ac'],
    ['TDX_TD_KEYS_NOT_CONFIGURED', '0x8000081000000000'],
    ['TDX_EPT_WALK_FAILED|RCX', '0xc0000b0000000001'],
    ['TDX_GPA_RANGE_ALREADY_BLOCKED|RCX', '0x00000b0700000001'],
    ['TDX_EPT_ENTRY_STATE_INCORRECT|RCX', '0xc0000b0d00000001'],
    ['TDX_GPA_RANGE_NOT_BLOCKED|RCX', '0xc0000b0600000001'],
    ['TDX_TLB_TRACKING_NOT_DONE|RCX', '0xc0000b0800000001'],
    ['TDX_TLB_TRACKING_NOT_DONE|SEPT_TREE', '0xc0000b0800000092'],
    ['TDX_EPT_INVALID_PROMOTE_CONDITIONS|RCX', '0xc0000b0900000001'],
    ['TDX_EPT_PAGE_NOT_FREE|RCX', '0xc0000b0e00000001'],
    ['TDX_PREVIOUS_TLB_EPOCH_BUSY', '0x8000020100000000'],
    ['TDX_INTERRUPTED_RESTARTABLE', '0x8000000400000000'],
    ['TDX_LIFECYCLE_STATE_INCORRECT', '0xc000060700000000'],
    ['TDX_TD_ASSOCIATED_PAGES_EXIST', '0xc000040000000000'],
    ['TDX_TD_FATAL', '0xe000060400000000'],
    ['TDX_PAGE_SIZE_MISMATCH', '0xc0000b0b00000000'],
    ['TDX_PAGE_ALREADY_ACCEPTED', '0x00000b0a00000000'],
    ['TDX_HOST_PRIORITY_BUSY_TIMEOUT', '0x9000020500000000'],
    ['TDX_NON_RECOVERABLE_TD', '0x4000000200000000'],
    ['TDX_SEAMCALL_GP', '0x8000ff000000000d'],
  ];
  for (const [name, hex] of exact) {
    it(`${name} = ${hex}, both ways`, () => {
      const s = name === 'TDX_SEAMCALL_GP' ? TDX_SEAMCALL_GP : tdx_status_parse(name)!;
      expect(tdx_status_hex(s)).toBe(hex);
      expect(tdx_status_from_bigint(BigInt(hex))).toBe(s);
      expect(tdx_status_to_bigint(s)).toBe(BigInt(hex));
      expect(tdx_status_parse(hex)).toBe(s);
      if (name !== 'TDX_SEAMCALL_GP') expect(tdx_status_name(s)).toBe(name);
    });
  }

  it('classes and helpers', () => {
    expect(tdx_status_is_error(TDX_GPA_RANGE_ALREADY_BLOCKED)).toBe(false);
    expect(tdx_status_is_error(TDX_EPT_WALK_FAILED)).toBe(true);
    expect(tdx_status_is_error(TDX_SUCCESS)).toBe(false);
    expect(tdx_operand_busy(api_error_with_operand_id(TDX_OPERAND_BUSY, 0x92))).toBe(true);
    expect(tdx_operand_busy(TDX_EPT_WALK_FAILED + 1)).toBe(false);
    expect(tdx_status_code(TDX_OPERAND_BUSY + 0xa9)).toBe(TDX_OPERAND_BUSY);
    expect(tdx_status_name(TDX_SUCCESS)).toBe('TDX_SUCCESS');
  });

  it('parser: aliases, numeric operands, invalid input', () => {
    expect(tdx_status_parse('TDX_OPERAND_BUSY|SEPT')).toBe(TDX_OPERAND_BUSY + 0x92);
    expect(tdx_status_parse(' TDX_OPERAND_BUSY | 0x92 ')).toBe(TDX_OPERAND_BUSY + 0x92);
    expect(tdx_status_parse('TDX_OPERAND_BUSY|rcx')).toBe(TDX_OPERAND_BUSY + 1);
    for (const bad of ['', 'TDX_NOPE', 'TDX_OPERAND_BUSY|XYZ', 'TDX_OPERAND_BUSY|0x10000', '0x8000ff00ffff0000', '0x1ffffffffffffffff']) {
      expect(tdx_status_parse(bad)).toBeNull();
    }
    expect(TDX_STATUS_HEX_ONLY.TDX_SEAMCALL_VMFAILINVALID).toBe('0x8000ff00ffff0000');
  });

  it('every named code round-trips through its name', () => {
    for (const n of tdx_status_names()) expect(tdx_status_name(tdx_status_parse(n)!)).toBe(n);
    expect(tdx_status_names().length).toBeGreaterThan(40);
  });

  it('unknown codes print as hex', () => {
    expect(tdx_status_name(0x12345678 * 65536)).toBe('0x1234567800000000');
  });
});
