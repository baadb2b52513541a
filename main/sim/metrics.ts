// Per-run counters (PRODUCT.md section 2, "Metrics per run"). Plain objects keyed by name so
// they serialise as they are into the CLI's --json and the store.

export interface Metrics {
  /** Hook calls, keyed "hook@call_site". */
  hookCalls: Record<string, number>;
  /** SEAMCALLs by leaf, then by status name. */
  seamcalls: Record<string, Record<string, number>>;
  /** Retries after contention: RET_PF_RETRY, cmpxchg failures, BUSY retries. */
  retries: number;
  /** kvm_make_all_cpus_request(KVM_REQ_OUTSIDE_GUEST_MODE) calls. */
  kicks: number;
  /** KVM_BUG_ON / TDX_BUG_ON / BUG() hits, in order. */
  bugs: { kind: string; site: string; reason: string; seq: number; step: number }[];
  /** WARN hits by site. */
  warns: Record<string, number>;
  /** Invariant-checker findings (divergences), and the first one's position. */
  divergences: number;
  firstDivergenceSeq: number;
  firstDivergenceStep: number;
  /** First point where KVM or the module noticed something was wrong (a BUG/WARN/error). */
  firstDetectionSeq: number;
  firstDetectionStep: number;
  /** Steps from first divergence to first detection; -1 if no divergence or never detected. */
  detectionLatency: number;
  steps: number;
  events: number;
}

export function newMetrics(): Metrics {
  return {
    hookCalls: {},
    seamcalls: {},
    retries: 0,
    kicks: 0,
    bugs: [],
    warns: {},
    divergences: 0,
    firstDivergenceSeq: -1,
    firstDivergenceStep: -1,
    firstDetectionSeq: -1,
    firstDetectionStep: -1,
    detectionLatency: -1,
    steps: 0,
    events: 0,
  };
}

/** "hook@call_site" keys by hook, then site: built once, not on every hook call. */
const hookCallKeys = new Map<string, Map<string, string>>();

/**
 * countHookCall's last hook, site and key: a run calls the same hook from the same site fault
 * after fault, and two string compares (the same constants: a pointer compare) are cheaper than
 * the two Map look-ups.
 */
let lastHook = '';
let lastSite = '';
let lastHookKey = '';

export function countHookCall(m: Metrics, hook: string, site: string): void {
  if (hook !== lastHook || site !== lastSite) {
    let bySite = hookCallKeys.get(hook);
    if (bySite === undefined) {
      bySite = new Map();
      hookCallKeys.set(hook, bySite);
    }
    let key = bySite.get(site);
    if (key === undefined) {
      key = `${hook}@${site}`;
      bySite.set(site, key);
    }
    lastHook = hook;
    lastSite = site;
    lastHookKey = key;
  }
  m.hookCalls[lastHookKey] = (m.hookCalls[lastHookKey] ?? 0) + 1;
}

export function countSeamcall(m: Metrics, leaf: string, status: string): void {
  let byStatus = m.seamcalls[leaf];
  if (byStatus === undefined) {
    byStatus = {};
    m.seamcalls[leaf] = byStatus;
  }
  byStatus[status] = (byStatus[status] ?? 0) + 1;
}
