// One simulated TD under one design: everything an operation needs, assembled once per run by
// the engine (engine.ts). Operations (ops/*.ts) receive it and the thread they run on.
import type { Scenario } from '../../shared/scenario.ts';
import type { Design } from './designs/design.ts';
import type { KvmTdx } from './designs/kvm_tdx.ts';
import type { GuestMemory } from './guest_memory.ts';
import type { HostMemory } from './host_memory.ts';
import type { KvmMmu } from './mmu/kvm_mmu.ts';
import type { SimContext } from './sim_context.ts';
import type { SimThread } from './sim_thread.ts';
import type { Td } from './tdx/td.ts';

export interface SimLimits {
  /**
   * How often a vCPU refaults locally on RET_PF_RETRY before the run is called a livelock
   * (tdx_handle_ept_violation retries until a signal or pending event, which the model lacks).
   */
  faultRetriesMax: number;
}

export interface SimVm {
  readonly ctx: SimContext;
  readonly scenario: Scenario;
  readonly design: Design;
  readonly host: HostMemory;
  readonly td: Td;
  readonly kt: KvmTdx;
  readonly mmu: KvmMmu;
  readonly memory: GuestMemory;
  readonly threads: SimThread[];
  readonly limits: SimLimits;
  /** Set by an operation that spent its budget: the run ends as a livelock with this reason. */
  livelock: string | null;
}
