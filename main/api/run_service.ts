// The Runs area (shared/api/runs.ts): stored runs and the Run view's queries, over the store.
// Every answer is bounded by the call's arguments (buckets, rows, limit), so the renderer can
// open a 1,000,000-event run without main ever shipping it whole.
import type { RunsApi, RunViewState } from '../../shared/api/runs.ts';
import { FLOWS_MAX, RELATED_SCAN_EVENTS } from '../../shared/api/runs.ts';
import { err, ok, type Result } from '../../shared/api/contract.ts';
import type { SimEvent } from '../../shared/event.ts';
import { eventAt } from '../store/events_read.ts';
import { eventWithParents, eventsWindow, lastWriter, nextEvent, prevEvent, searchEvents } from '../store/queries.ts';
import { InspectorIndexes } from '../store/inspector_index.ts';
import { inspectorState } from '../store/inspector_state.ts';
import { causedEvents, nextWrite, openSpansAt, rangeKindCounts, runMarkers } from '../store/run_view_queries.ts';
import { exportRunText, importRunText } from '../store/share.ts';
import type { Store } from '../store/store.ts';
import type { ApiEventHub } from './event_hub.ts';

export interface RunServiceDeps {
  store: Store;
  events: ApiEventHub;
  appVersion: string;
  /** Sweep a run's inspector checkpoints in background slices (default true; tests may turn it off). */
  inspectorBackground?: boolean;
}

/** Runs larger than this (estimated at EXPORT_BYTES_PER_EVENT) are refused as text: use the CLI. */
export const EXPORT_TEXT_BYTES_MAX = 256 * 1024 * 1024;
const EXPORT_BYTES_PER_EVENT = 120;

export function createRunService(deps: RunServiceDeps): RunsApi {
  const { store } = deps;
  const db = store.readable;
  // The inspector's checkpoints per run (inspector_index.ts): a cursor anywhere reads one
  // checkpoint and at most CHECKPOINT_EVENTS events. Built by a sweep that runs in the
  // background after the first look at a run.
  const indexes = new InspectorIndexes(db, { background: deps.inspectorBackground ?? true });
  /** Runs the body when the run exists, else `not-found` naming the argument. */
  const withRun = async <T>(runId: number, path: string, body: (eventCount: number) => Result<T>): Promise<Result<T>> => {
    const run = store.getRun(runId);
    if (run === null) return err('not-found', `no run with id ${runId}`, path);
    return body(run.eventCount);
  };
  return {
    listRuns: async ({ scenarioId }) => ok(store.listRuns(scenarioId)),
    getRun: async ({ id }) => {
      const run = store.getRun(id);
      return run === null ? err('not-found', `no run with id ${id}`, 'args.id') : ok(run);
    },
    deleteRun: ({ id }) =>
      withRun(id, 'args.id', () => {
        store.deleteRun(id);
        indexes.forget(id);
        return ok({ deleted: true as const });
      }),
    eventsWindow: ({ runId, seqFrom, seqTo, buckets }) =>
      withRun(runId, 'args.runId', () => {
        if (seqTo <= seqFrom) return err('bad-input', `seqTo (${seqTo}) must be after seqFrom (${seqFrom})`, 'args.seqTo');
        const window = eventsWindow(db, runId, seqFrom, seqTo, buckets);
        const openSpans = window.events === null || window.events.length === 0 ? [] : openSpansAt(db, runId, seqFrom, window.events);
        return ok({ ...window, openSpans });
      }),
    event: ({ runId, seq }) =>
      withRun(runId, 'args.runId', () => {
        const found = eventWithParents(db, runId, seq);
        if (found === null) return err('not-found', `run ${runId} has no event ${seq}`, 'args.seq');
        const run = store.getRun(runId)!;
        const { prevWrite, nextWrite: next } = neighbourWrites(runId, found.event);
        const caused = causedEvents(db, runId, found.event, FLOWS_MAX, RELATED_SCAN_EVENTS);
        return ok({
          ...found,
          threadName: run.threadNames[found.event.thread] ?? `thread ${found.event.thread}`,
          prevWrite,
          nextWrite: next,
          caused: caused.events,
          causedTruncated: caused.truncated,
        });
      }),
    stateAt: ({ runId, seq, gfnStart, gfnEnd }) =>
      withRun(runId, 'args.runId', (eventCount) => {
        if ((gfnStart === undefined) !== (gfnEnd === undefined)) return err('bad-input', 'give both gfnStart and gfnEnd, or neither', 'args.gfnEnd');
        if (gfnStart !== undefined && gfnEnd! <= gfnStart) return err('bad-input', 'gfnEnd must be after gfnStart', 'args.gfnEnd');
        const at = Math.min(seq, eventCount - 1);
        const index = indexes.of(runId, eventCount);
        const state = inspectorState(db, index, at, gfnStart === undefined ? undefined : { gfnStart, gfnEnd: gfnEnd! });
        indexes.sweepLater(index);
        return ok(state);
      }),
    lastWriter: ({ runId, seq, tree, level, gfn }) => withRun(runId, 'args.runId', () => ok({ seq: lastWriter(db, runId, seq, tree, level, gfn) })),
    searchEvents: ({ runId, ...query }) => withRun(runId, 'args.runId', () => ok(searchEvents(db, runId, query))),
    laneStep: ({ runId, seq, thread, layer, dir }) =>
      withRun(runId, 'args.runId', () => {
        if (dir === 0) return err('bad-input', 'dir must be 1 or -1', 'args.dir');
        return ok(dir > 0 ? nextEvent(db, runId, seq, thread, layer) : prevEvent(db, runId, seq, thread, layer));
      }),
    rangeCounts: ({ runId, seqFrom, seqTo }) =>
      withRun(runId, 'args.runId', () => {
        if (seqTo < seqFrom) return err('bad-input', `seqTo (${seqTo}) is before seqFrom (${seqFrom})`, 'args.seqTo');
        return ok(rangeKindCounts(db, runId, seqFrom, seqTo));
      }),
    markers: ({ runId }) => withRun(runId, 'args.runId', () => ok(runMarkers(db, runId))),
    getViewState: ({ runId }) => withRun(runId, 'args.runId', () => ok(viewStateOf(store.getViewState(runId)))),
    putViewState: ({ runId, state }) =>
      withRun(runId, 'args.runId', () => {
        store.putViewState(runId, state);
        return ok({ saved: true as const });
      }),
    exportRun: ({ id }) =>
      withRun(id, 'args.id', (eventCount) => {
        if (eventCount * EXPORT_BYTES_PER_EVENT > EXPORT_TEXT_BYTES_MAX) {
          return err('conflict', `run ${id} has ${eventCount} events, too many to export as text here: use "septwb runs export"`, 'args.id');
        }
        return ok({ fileName: `septwb-run-${id}.septwb-run.jsonl`, text: exportRunText(db, id, deps.appVersion) });
      }),
    importRun: async ({ text }) => {
      const result = importRunText(store.writable, text);
      if (!result.ok) return err('bad-input', `${result.error.code}: ${result.error.message}`, `args.text: ${result.error.path}`);
      return ok({ runId: result.runId, scenarioId: result.scenarioId });
    },
  };

  /** The writes to the event's entry just before and just after it (null when it wrote nothing). */
  function neighbourWrites(runId: number, e: SimEvent): { prevWrite: SimEvent | null; nextWrite: SimEvent | null } {
    if (e.tree === 'none' || e.level < 1) return { prevWrite: null, nextWrite: null };
    const prevSeq = e.seq === 0 ? -1 : lastWriter(db, runId, e.seq - 1, e.tree, e.level, e.gfn);
    const nextSeq = nextWrite(db, runId, e.seq, e.tree, e.level, e.gfn, RELATED_SCAN_EVENTS);
    return { prevWrite: prevSeq < 0 ? null : eventAt(db, runId, prevSeq), nextWrite: nextSeq < 0 ? null : eventAt(db, runId, nextSeq) };
  }
}

/** A stored view state of the current version, else null (an older or foreign shape is ignored). */
function viewStateOf(stored: unknown): RunViewState | null {
  if (typeof stored !== 'object' || stored === null) return null;
  const s = stored as Partial<RunViewState>;
  if (s.version !== 1 || typeof s.cursor !== 'number' || !Array.isArray(s.annotations)) return null;
  return s as RunViewState;
}
