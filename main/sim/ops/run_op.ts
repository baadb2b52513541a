// Runs one scenario operation on a thread: an `op` span around the KVM path it maps to, its
// events tagged with the operation's ordinal so two designs' runs align step by step.
import { GUEST_OPS, PG_LEVEL_OF, type Op } from '../../../shared/scenario.ts';
import type { Proc } from '../proc.ts';
import type { SimThread } from '../sim_thread.ts';
import type { SimVm } from '../sim_vm.ts';
import { op_accept } from './accept.ts';
import { op_fault_range, op_populate, tdx_handle_ept_violation } from './fault.ts';
import { op_finalize, op_teardown } from './lifecycle.ts';
import { op_convert, op_memslot_create, op_memslot_delete, op_punch_hole } from './memory.ts';
import { op_age_leaf, op_map_under_write_lock, op_promote, op_wrprot_leaf, op_zap_nonleaf_shared } from './probes.ts';
import { op_vcpu_enter, op_vcpu_exit } from './vcpu.ts';
import { op_split, op_zap_range } from './zap.ts';

/** The KVM entry point each operation models, shown as the op event's detail. */
export const OP_KERNEL_PATH: Readonly<Record<Op['op'], string>> = {
  fault: 'tdx_handle_ept_violation',
  'fault-range': 'tdx_handle_ept_violation (per page)',
  accept: 'TDG.MEM.PAGE.ACCEPT',
  populate: 'KVM_TDX_INIT_MEM_REGION',
  finalize: 'KVM_TDX_FINALIZE_VM',
  convert: 'KVM_SET_MEMORY_ATTRIBUTES',
  'punch-hole': 'kvm_gmem_punch_hole',
  'memslot-delete': 'kvm_arch_flush_shadow_memslot',
  'memslot-create': 'KVM_SET_USER_MEMORY_REGION2',
  split: 'tdp_mmu_split_huge_pages_root',
  'zap-range': 'kvm_tdp_mmu_unmap_gfn_range',
  'vcpu-enter': 'tdx_vcpu_run',
  'vcpu-exit': 'TD exit',
  teardown: 'kvm_destroy_vm',
  'wrprot-leaf': 'write-protect leaf',
  'age-leaf': 'kvm_tdp_mmu_age_spte',
  'zap-nonleaf-shared': 'kvm_tdp_mmu_zap_possible_nx_huge_page',
  'map-under-write-lock': 'tdp_mmu_iter_set_spte (map)',
  promote: 'huge page recovery (promotion)',
};

function opGfn(op: Op): number {
  return 'gfn' in op ? op.gfn : -1;
}

export function* runOp(vm: SimVm, t: SimThread, op: Op, ordinal: number): Proc<void> {
  const events = vm.ctx.events;
  events.setOp(t.id, ordinal);
  const level = 'level' in op && typeof op.level === 'string' ? PG_LEVEL_OF[op.level] : 0;
  events.begin(t.id, 'op', op.op, opGfn(op), level, OP_KERNEL_PATH[op.op]);
  // A dead VM runs nothing but its destruction (kvm_vm_ioctl returns -EIO once vm_dead). Before
  // KVM_TDX_FINALIZE_VM no vCPU runs (tdx_vcpu_pre_run: -EINVAL), so the guest's operations
  // fail at once; memory is mapped with `populate` then.
  const status = vm.ctx.vmBugged && op.op !== 'teardown' ? 'vm-dead'
    : GUEST_OPS.has(op.op) && vm.kt.state !== 'runnable' ? '-EINVAL'
    : yield* dispatch(vm, t, op);
  events.end(t.id, status);
  events.setOp(t.id, -1);
}

function* dispatch(vm: SimVm, t: SimThread, op: Op): Proc<string> {
  switch (op.op) {
    case 'fault':
      return yield* tdx_handle_ept_violation(vm, t, op.gfn, PG_LEVEL_OF[op.level], op.private);
    case 'fault-range':
      return yield* op_fault_range(vm, t, op.gfn, op.pages, PG_LEVEL_OF[op.level], op.private);
    case 'accept':
      return yield* op_accept(vm, t, op.gfn, PG_LEVEL_OF[op.level]);
    case 'populate':
      return yield* op_populate(vm, t, op.gfn, op.pages);
    case 'finalize':
      return yield* op_finalize(vm, t);
    case 'convert':
      return yield* op_convert(vm, t, op.gfn, op.pages, op.to);
    case 'punch-hole':
      return yield* op_punch_hole(vm, t, op.gfn, op.pages);
    case 'memslot-delete':
      return yield* op_memslot_delete(vm, t, op.slot);
    case 'memslot-create':
      return yield* op_memslot_create(vm, t, op.slot);
    case 'split':
      return yield* op_split(vm, t, op.gfn, op.pages);
    case 'zap-range':
      return yield* op_zap_range(vm, t, op.gfn, op.pages, op.tables);
    case 'vcpu-enter':
      return yield* op_vcpu_enter(vm, t, op.zeroStep);
    case 'vcpu-exit':
      return yield* op_vcpu_exit(vm, t);
    case 'teardown':
      return yield* op_teardown(vm, t, op.variant);
    case 'wrprot-leaf':
      return yield* op_wrprot_leaf(vm, t, op.gfn, op.lock);
    case 'age-leaf':
      return yield* op_age_leaf(vm, t, op.gfn);
    case 'zap-nonleaf-shared':
      return yield* op_zap_nonleaf_shared(vm, t, op.gfn, PG_LEVEL_OF[op.level]);
    case 'map-under-write-lock':
      return yield* op_map_under_write_lock(vm, t, op.gfn);
    case 'promote':
      return yield* op_promote(vm, t, op.gfn);
    default:
      return assertUnreachable(op);
  }
}

function assertUnreachable(x: never): never {
  throw new Error(`runOp: unknown operation ${JSON.stringify(x)}`);
}
