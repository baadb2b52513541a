// TDX-module completion statuses (RAX after a SEAMCALL or TDCALL) and operand ids.
//
// Sources: ../reference/tdx-module.md sections 0.3 and 5.2 (module 1.5.01
// include/auto_gen/tdx_error_codes_defs.h) and ../reference/kernel-mmu.md section 6 (the
// kernel's asm/shared/tdx_errno.h). Shared with the renderer: no Node imports.
//
// Representation. A status is 64 bits: bits 63..32 are the code (error bit 63, fatal 61,
// non-recoverable 62, class 47..40, details_l1 39..32) and bits 31..0 the operand id or details.
// The module builds `code + operand` (api_error_with_operand_id). We hold a status in one exact
// JS number:
//
//     TdxStatus = RAX[63:32] * 2^16 + RAX[15:0]
//
// which is below 2^48, so exact, cheap to compare and usable as a Map key. It requires
// RAX[31:16] = 0, which holds for every status the module returns (operand ids are below 0x100).
// The one listed value that breaks it is the kernel's software code TDX_SEAMCALL_VMFAILINVALID
// (0x8000FF00FFFF0000, "SEAM not loaded"): no SEAMCALL in the model can produce it, so it appears
// only in TDX_STATUS_HEX_ONLY with its exact hex text and has no number.

/** A status in the representation described in the file comment. */
export type TdxStatus = number;

const TWO_16 = 65536;
const TWO_31 = 2147483648;

/** The status for a code given as its upper 32 bits (RAX[63:32]). */
function code(hi32: number): TdxStatus {
  return hi32 * TWO_16;
}

export const TDX_SUCCESS = 0;
export const TDX_NON_RECOVERABLE_VCPU = code(0x40000001);
/** Kernel value (tdx_errno.h). The module header has 0x60000002; see tdx-module.md 5.2. */
export const TDX_NON_RECOVERABLE_TD = code(0x40000002);
export const TDX_NON_RECOVERABLE_TD_NON_ACCESSIBLE = code(0x60000005);
export const TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE = code(0x60000007);
export const TDX_INTERRUPTED_RESUMABLE = code(0x80000003);
export const TDX_INTERRUPTED_RESTARTABLE = code(0x80000004);
export const TDX_OPERAND_INVALID = code(0xc0000100);
export const TDX_OPERAND_ADDR_RANGE_ERROR = code(0xc0000101);
export const TDX_OPERAND_BUSY = code(0x80000200);
export const TDX_PREVIOUS_TLB_EPOCH_BUSY = code(0x80000201);
export const TDX_SYS_BUSY = code(0x80000202);
export const TDX_RND_NO_ENTROPY = code(0x80000203);
export const TDX_OPERAND_BUSY_HOST_PRIORITY = code(0x80000204);
export const TDX_HOST_PRIORITY_BUSY_TIMEOUT = code(0x90000205);
export const TDX_PAGE_METADATA_INCORRECT = code(0xc0000300);
export const TDX_TD_ASSOCIATED_PAGES_EXIST = code(0xc0000400);
export const TDX_TD_FATAL = code(0xe0000604);
export const TDX_TDCS_NOT_ALLOCATED = code(0xc0000606);
export const TDX_LIFECYCLE_STATE_INCORRECT = code(0xc0000607);
export const TDX_OP_STATE_INCORRECT = code(0xc0000608);
export const TDX_VCPU_NOT_ASSOCIATED = code(0x80000702);
export const TDX_KEY_GENERATION_FAILED = code(0x80000800);
export const TDX_TD_KEYS_NOT_CONFIGURED = code(0x80000810);
export const TDX_KEY_STATE_INCORRECT = code(0xc0000811);
export const TDX_KEY_CONFIGURED = code(0x00000815);
export const TDX_WBCACHE_NOT_COMPLETE = code(0x80000817);
export const TDX_NO_HKID_READY_TO_WBCACHE = code(0x00000821);
export const TDX_FLUSHVP_NOT_DONE = code(0x80000824);
export const TDX_EPT_WALK_FAILED = code(0xc0000b00);
export const TDX_EPT_ENTRY_FREE = code(0xc0000b01);
export const TDX_EPT_ENTRY_NOT_FREE = code(0xc0000b02);
export const TDX_EPT_ENTRY_NOT_PRESENT = code(0xc0000b03);
export const TDX_EPT_ENTRY_NOT_LEAF = code(0xc0000b04);
export const TDX_EPT_ENTRY_LEAF = code(0xc0000b05);
export const TDX_GPA_RANGE_NOT_BLOCKED = code(0xc0000b06);
/** Bit 63 clear: a warning-class status, not an error (tdx-module.md 1.3 note 2). */
export const TDX_GPA_RANGE_ALREADY_BLOCKED = code(0x00000b07);
export const TDX_TLB_TRACKING_NOT_DONE = code(0xc0000b08);
export const TDX_EPT_INVALID_PROMOTE_CONDITIONS = code(0xc0000b09);
/** Guest (TDCALL) status; bit 63 clear. */
export const TDX_PAGE_ALREADY_ACCEPTED = code(0x00000b0a);
/** Guest (TDCALL) status. */
export const TDX_PAGE_SIZE_MISMATCH = code(0xc0000b0b);
export const TDX_GPA_RANGE_BLOCKED = code(0xc0000b0c);
export const TDX_EPT_ENTRY_STATE_INCORRECT = code(0xc0000b0d);
export const TDX_EPT_PAGE_NOT_FREE = code(0xc0000b0e);
export const TDX_L2_SEPT_PAGE_NOT_PROVIDED = code(0xc0000b12);
export const TDX_METADATA_FIELD_NOT_READABLE = code(0xc0000c02);
/** Kernel software codes (tdx_errno.h): TDX_ERROR | GENMASK(47,40), plus details. */
export const TDX_SW_ERROR = code(0x8000ff00);
export const TDX_SEAMCALL_GP = TDX_SW_ERROR + 13;
export const TDX_SEAMCALL_UD = TDX_SW_ERROR + 6;

/** Statuses whose exact value does not fit the number representation (see the file comment). */
export const TDX_STATUS_HEX_ONLY: Readonly<Record<string, string>> = {
  TDX_SEAMCALL_VMFAILINVALID: '0x8000ff00ffff0000',
};

/** Operand ids (RAX[31:0] on an operand error): x86 register order, then module objects. */
export const OPERAND_ID_RAX = 0;
export const OPERAND_ID_RCX = 1;
export const OPERAND_ID_RDX = 2;
export const OPERAND_ID_RBX = 3;
export const OPERAND_ID_RBP = 5;
export const OPERAND_ID_RSI = 6;
export const OPERAND_ID_RDI = 7;
export const OPERAND_ID_R8 = 8;
export const OPERAND_ID_R9 = 9;
export const OPERAND_ID_R10 = 10;
export const OPERAND_ID_R11 = 11;
export const OPERAND_ID_R12 = 12;
export const OPERAND_ID_R13 = 13;
export const OPERAND_ID_R14 = 14;
export const OPERAND_ID_R15 = 15;
export const OPERAND_ID_TDR = 0x80;
/** The S-EPT tree lock (TDCS secure_ept_lock); the kernel calls it TDX_OPERAND_ID_SEPT. */
export const OPERAND_ID_SEPT_TREE = 0x92;
export const OPERAND_ID_SEPT_ENTRY = 0x93;
export const OPERAND_ID_TD_EPOCH = 0xa9;
export const OPERAND_ID_OP_STATE = 0xac;
export const OPERAND_ID_KOT = 0xba;

const STATUS_NAMES: ReadonlyArray<readonly [string, TdxStatus]> = [
  ['TDX_SUCCESS', TDX_SUCCESS],
  ['TDX_NON_RECOVERABLE_VCPU', TDX_NON_RECOVERABLE_VCPU],
  ['TDX_NON_RECOVERABLE_TD', TDX_NON_RECOVERABLE_TD],
  ['TDX_NON_RECOVERABLE_TD_NON_ACCESSIBLE', TDX_NON_RECOVERABLE_TD_NON_ACCESSIBLE],
  ['TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE', TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE],
  ['TDX_INTERRUPTED_RESUMABLE', TDX_INTERRUPTED_RESUMABLE],
  ['TDX_INTERRUPTED_RESTARTABLE', TDX_INTERRUPTED_RESTARTABLE],
  ['TDX_OPERAND_INVALID', TDX_OPERAND_INVALID],
  ['TDX_OPERAND_ADDR_RANGE_ERROR', TDX_OPERAND_ADDR_RANGE_ERROR],
  ['TDX_OPERAND_BUSY', TDX_OPERAND_BUSY],
  ['TDX_PREVIOUS_TLB_EPOCH_BUSY', TDX_PREVIOUS_TLB_EPOCH_BUSY],
  ['TDX_SYS_BUSY', TDX_SYS_BUSY],
  ['TDX_RND_NO_ENTROPY', TDX_RND_NO_ENTROPY],
  ['TDX_OPERAND_BUSY_HOST_PRIORITY', TDX_OPERAND_BUSY_HOST_PRIORITY],
  ['TDX_HOST_PRIORITY_BUSY_TIMEOUT', TDX_HOST_PRIORITY_BUSY_TIMEOUT],
  ['TDX_PAGE_METADATA_INCORRECT', TDX_PAGE_METADATA_INCORRECT],
  ['TDX_TD_ASSOCIATED_PAGES_EXIST', TDX_TD_ASSOCIATED_PAGES_EXIST],
  ['TDX_TD_FATAL', TDX_TD_FATAL],
  ['TDX_TDCS_NOT_ALLOCATED', TDX_TDCS_NOT_ALLOCATED],
  ['TDX_LIFECYCLE_STATE_INCORRECT', TDX_LIFECYCLE_STATE_INCORRECT],
  ['TDX_OP_STATE_INCORRECT', TDX_OP_STATE_INCORRECT],
  ['TDX_VCPU_NOT_ASSOCIATED', TDX_VCPU_NOT_ASSOCIATED],
  ['TDX_KEY_GENERATION_FAILED', TDX_KEY_GENERATION_FAILED],
  ['TDX_TD_KEYS_NOT_CONFIGURED', TDX_TD_KEYS_NOT_CONFIGURED],
  ['TDX_KEY_STATE_INCORRECT', TDX_KEY_STATE_INCORRECT],
  ['TDX_KEY_CONFIGURED', TDX_KEY_CONFIGURED],
  ['TDX_WBCACHE_NOT_COMPLETE', TDX_WBCACHE_NOT_COMPLETE],
  ['TDX_NO_HKID_READY_TO_WBCACHE', TDX_NO_HKID_READY_TO_WBCACHE],
  ['TDX_FLUSHVP_NOT_DONE', TDX_FLUSHVP_NOT_DONE],
  ['TDX_EPT_WALK_FAILED', TDX_EPT_WALK_FAILED],
  ['TDX_EPT_ENTRY_FREE', TDX_EPT_ENTRY_FREE],
  ['TDX_EPT_ENTRY_NOT_FREE', TDX_EPT_ENTRY_NOT_FREE],
  ['TDX_EPT_ENTRY_NOT_PRESENT', TDX_EPT_ENTRY_NOT_PRESENT],
  ['TDX_EPT_ENTRY_NOT_LEAF', TDX_EPT_ENTRY_NOT_LEAF],
  ['TDX_EPT_ENTRY_LEAF', TDX_EPT_ENTRY_LEAF],
  ['TDX_GPA_RANGE_NOT_BLOCKED', TDX_GPA_RANGE_NOT_BLOCKED],
  ['TDX_GPA_RANGE_ALREADY_BLOCKED', TDX_GPA_RANGE_ALREADY_BLOCKED],
  ['TDX_TLB_TRACKING_NOT_DONE', TDX_TLB_TRACKING_NOT_DONE],
  ['TDX_EPT_INVALID_PROMOTE_CONDITIONS', TDX_EPT_INVALID_PROMOTE_CONDITIONS],
  ['TDX_PAGE_ALREADY_ACCEPTED', TDX_PAGE_ALREADY_ACCEPTED],
  ['TDX_PAGE_SIZE_MISMATCH', TDX_PAGE_SIZE_MISMATCH],
  ['TDX_GPA_RANGE_BLOCKED', TDX_GPA_RANGE_BLOCKED],
  ['TDX_EPT_ENTRY_STATE_INCORRECT', TDX_EPT_ENTRY_STATE_INCORRECT],
  ['TDX_EPT_PAGE_NOT_FREE', TDX_EPT_PAGE_NOT_FREE],
  ['TDX_L2_SEPT_PAGE_NOT_PROVIDED', TDX_L2_SEPT_PAGE_NOT_PROVIDED],
  ['TDX_METADATA_FIELD_NOT_READABLE', TDX_METADATA_FIELD_NOT_READABLE],
  ['TDX_SW_ERROR', TDX_SW_ERROR],
];

const OPERAND_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['RAX', OPERAND_ID_RAX], ['RCX', OPERAND_ID_RCX], ['RDX', OPERAND_ID_RDX], ['RBX', OPERAND_ID_RBX],
  ['RBP', OPERAND_ID_RBP], ['RSI', OPERAND_ID_RSI], ['RDI', OPERAND_ID_RDI], ['R8', OPERAND_ID_R8],
  ['R9', OPERAND_ID_R9], ['R10', OPERAND_ID_R10], ['R11', OPERAND_ID_R11], ['R12', OPERAND_ID_R12],
  ['R13', OPERAND_ID_R13], ['R14', OPERAND_ID_R14], ['R15', OPERAND_ID_R15], ['TDR', OPERAND_ID_TDR],
  ['SEPT_TREE', OPERAND_ID_SEPT_TREE], ['SEPT_ENTRY', OPERAND_ID_SEPT_ENTRY],
  ['TD_EPOCH', OPERAND_ID_TD_EPOCH], ['OP_STATE', OPERAND_ID_OP_STATE], ['KOT', OPERAND_ID_KOT],
];

const nameByCode = new Map<TdxStatus, string>(STATUS_NAMES.map(([n, s]) => [s, n]));
const codeByName = new Map<string, TdxStatus>(STATUS_NAMES);
const operandNameById = new Map<number, string>(OPERAND_NAMES.map(([n, id]) => [id, n]));
/** Parser aliases: the kernel's name for the tree-lock operand. */
const operandIdByName = new Map<string, number>([...OPERAND_NAMES, ['SEPT', OPERAND_ID_SEPT_TREE]]);

/** api_error_with_operand_id(code, operand): the module adds the operand id to the code. */
export function api_error_with_operand_id(status: TdxStatus, operandId: number): TdxStatus {
  return status + operandId;
}

/** RAX[63:32] as an unsigned 32-bit integer. */
export function tdx_status_hi32(s: TdxStatus): number {
  return Math.floor(s / TWO_16);
}

/** The operand id / details part, RAX[15:0]. */
export function tdx_status_operand(s: TdxStatus): number {
  // `&` takes s modulo 2^32, so this is s % 2^16 exactly; `%` itself on a value this large is a
  // floating-point remainder, tens of times slower, and every SEAMCALL's status is tested.
  return s & 0xffff;
}

/** `s & TDX_SEAMCALL_STATUS_MASK` (0xFFFFFFFF00000000): the code without its operand. */
export function tdx_status_code(s: TdxStatus): TdxStatus {
  return s - tdx_status_operand(s);
}

/** Bit 63: an error (as opposed to success or a warning such as ALREADY_BLOCKED). */
export function tdx_status_is_error(s: TdxStatus): boolean {
  return tdx_status_hi32(s) >= TWO_31;
}

/** The kernel's tdx_operand_busy(err): the code is TDX_OPERAND_BUSY, whatever the operand. */
export function tdx_operand_busy(s: TdxStatus): boolean {
  return tdx_status_code(s) === TDX_OPERAND_BUSY;
}

/** Full 64-bit RAX as 0x-prefixed, 16-digit lowercase hex. */
export function tdx_status_hex(s: TdxStatus): string {
  const hi = tdx_status_hi32(s).toString(16).padStart(8, '0');
  const lo = tdx_status_operand(s).toString(16).padStart(8, '0');
  return `0x${hi}${lo}`;
}

/**
 * A readable name: `TDX_OPERAND_BUSY|RCX`, `TDX_SUCCESS`, `TDX_EPT_WALK_FAILED|0x5` for an
 * unnamed operand, or the hex text for an unknown code. Operand 0 (RAX) prints bare, as the
 * module's own base codes carry operand 0.
 */
export function tdx_status_name(s: TdxStatus): string {
  let name = nameCache.get(s);
  if (name === undefined) {
    name = statusNameOf(s);
    nameCache.set(s, name);
  }
  return name;
}

/**
 * tdx_status_name's answers so far: the simulation names the status of every SEAMCALL, and
 * building `TDX_OPERAND_BUSY|RCX` anew each time is a string per call. Statuses are few (codes
 * times operand ids), so the cache stays small.
 */
const nameCache = new Map<TdxStatus, string>();

function statusNameOf(s: TdxStatus): string {
  const base = nameByCode.get(tdx_status_code(s));
  if (base === undefined) return tdx_status_hex(s);
  const operand = tdx_status_operand(s);
  if (operand === 0) return base;
  const operandName = operandNameById.get(operand) ?? `0x${operand.toString(16)}`;
  return `${base}|${operandName}`;
}

/**
 * Parses `TDX_OPERAND_BUSY`, `TDX_OPERAND_BUSY|RCX`, `TDX_OPERAND_BUSY|SEPT`, an operand as a
 * number (`|0x92`), or a 16-digit hex status. Returns null when the text names nothing we know.
 */
export function tdx_status_parse(text: string): TdxStatus | null {
  const t = text.trim();
  if (/^0x[0-9a-fA-F]{1,16}$/.test(t)) return tdx_status_from_bigint(BigInt(t));
  const bar = t.indexOf('|');
  const baseName = bar < 0 ? t : t.slice(0, bar).trim();
  const base = codeByName.get(baseName);
  if (base === undefined) return null;
  if (bar < 0) return base;
  const opText = t.slice(bar + 1).trim();
  let operand = operandIdByName.get(opText.toUpperCase());
  if (operand === undefined && /^(0x[0-9a-fA-F]{1,4}|[0-9]{1,5})$/.test(opText)) operand = Number(opText);
  if (operand === undefined || operand >= TWO_16) return null;
  return base + operand;
}

/** The number form of an exact 64-bit status; null if RAX[31:16] is not zero. */
export function tdx_status_from_bigint(v: bigint): TdxStatus | null {
  if (v < 0n || v >> 64n !== 0n) return null;
  if (((v >> 16n) & 0xffffn) !== 0n) return null;
  return Number(v >> 32n) * TWO_16 + Number(v & 0xffffn);
}

/** The exact 64-bit value of a status. */
export function tdx_status_to_bigint(s: TdxStatus): bigint {
  return (BigInt(tdx_status_hi32(s)) << 32n) | BigInt(tdx_status_operand(s));
}

/** Every named code, for UIs and scenario validation (names without an operand). */
export function tdx_status_names(): string[] {
  return STATUS_NAMES.map(([n]) => n);
}
