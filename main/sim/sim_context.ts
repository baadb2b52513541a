// What every part of the simulation shares during one run: the event stream, the counters,
// and the VM's health as KVM sees it (bugged, host crashed). The modeled kernel checks in
// checks.ts write here; the engine reads it to end the run.
import { EventSink } from './event_sink.ts';
import { newMetrics, type Metrics } from './metrics.ts';

export interface HostBug {
  site: string;
  reason: string;
}

export class SimContext {
  readonly events: EventSink;
  readonly metrics: Metrics = newMetrics();
  /** KVM_BUG_ON fired: kvm->vm_bugged, the VM is dead; vCPUs stop at their next entry. */
  vmBugged = false;
  /** BUG() fired: the host is down and the run ends at once. */
  hostBug: HostBug | null = null;
  /** Sites whose WARN_ON_ONCE has fired already. */
  readonly warnedOnce = new Set<string>();

  constructor(events: EventSink) {
    this.events = events;
  }

  /** Records the first moment KVM or the module noticed a problem (for detection latency). */
  noteDetection(seq: number): void {
    const m = this.metrics;
    if (m.firstDetectionSeq < 0) {
      m.firstDetectionSeq = seq;
      m.firstDetectionStep = this.events.step;
    }
  }
}
