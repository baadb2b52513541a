// A simulated kernel context: a vCPU thread (KVM_RUN and its fault handling) or a host
// context (an ioctl, guest_memfd, VM teardown). Holds what lockdep would know about it.

export const MMU_LOCK_NONE = 0;
export const MMU_LOCK_READ = 1;
export const MMU_LOCK_WRITE = 2;
export type MmuLockMode = typeof MMU_LOCK_NONE | typeof MMU_LOCK_READ | typeof MMU_LOCK_WRITE;

export interface SimThread {
  /** Index in the run's thread list; events carry it. */
  readonly id: number;
  /** Scenario name: vcpu0, vcpu1, ioctl, teardown... */
  readonly name: string;
  /** vCPU index for vcpuN threads, -1 for host contexts. */
  readonly vcpu: number;
  /** How this thread holds kvm->mmu_lock right now. */
  mmuLock: MmuLockMode;
  /** rcu_read_lock() nesting depth. */
  rcuDepth: number;
}

export function newSimThread(id: number, name: string, vcpu: number): SimThread {
  return { id, name, vcpu, mmuLock: MMU_LOCK_NONE, rcuDepth: 0 };
}
