// The timeline's state: what is visible, what is loaded, and the lanes. Loading is kept apart
// from drawing (Perfetto's track.ts): `onUpdate()` (async, called each frame by the canvas
// loop) fetches the buffered window when the view has left it, and `timeline_render.ts` draws
// only what is loaded. Loaded pages are replaced whole ($state.raw), never mutated; the run's
// events are never all held here.
//
// The load pipeline (Perfetto's track_render_pipeline.ts): at most one load in flight; a load
// whose result no longer covers the visible range at the wanted resolution is dropped
// ('aborted') and the latest bounds are fetched instead; until then the previous page stays on
// screen (double buffering), drawn at the new scale.
import type { ApiClient } from '../lib/api_client.ts';
import type { EventsWindow, RunMarker } from '../../../shared/api/runs.ts';
import { LAYERS, type Layer, type SimEvent } from '../../../shared/event.ts';
import { boundsCover, boundsKey, bufferedBounds, type FetchBounds, type SeqRange } from './buffered_bounds.ts';

export interface Lane {
  thread: number;
  layer: Layer;
  label: string;
}

export interface LoadedPage {
  bounds: FetchBounds;
  window: EventsWindow & { openSpans: SimEvent[] };
}

export type LoadOutcome = 'updated' | 'aborted' | 'unchanged';

/** Zoom never goes below this many events across the view. */
export const VISIBLE_SPAN_MIN = 8;
/** A W/S press zooms by this factor; A/D pans by this share of the view. */
export const ZOOM_STEP = 1.5;
export const PAN_SHARE = 0.25;
/** Operation spans fetched for the zoomed-out view. */
export const OP_SPANS_MAX = 5000;

export class TimelineState {
  readonly runId: number;
  readonly eventCount: number;
  readonly threadNames: readonly string[];
  visibleStart = $state(0);
  visibleEnd = $state(1);
  widthPx = $state(800);
  lanes: Lane[] = $state.raw([]);
  page: LoadedPage | null = $state.raw(null);
  markers: RunMarker[] = $state.raw([]);
  /** Operation spans of the whole run (few: one per scenario op), drawn when zoomed out. */
  opSpans: SimEvent[] = $state.raw([]);
  focusedLane = $state(0);
  selection: SeqRange | null = $state.raw(null);
  loadsAborted = 0;
  readonly #client: ApiClient;
  #inFlight: FetchBounds | null = null;
  #onLoaded: () => void = () => {};
  #firstPageLanded: () => void = () => {};
  readonly #firstPage = new Promise<void>((resolve) => (this.#firstPageLanded = resolve));

  constructor(client: ApiClient, run: { id: number; eventCount: number; threadNames: readonly string[] }) {
    this.#client = client;
    this.runId = run.id;
    this.eventCount = Math.max(1, run.eventCount);
    this.threadNames = run.threadNames;
    this.visibleEnd = this.eventCount;
  }

  /** Called when a load lands (the canvas asks for a redraw). */
  set onLoaded(callback: () => void) {
    this.#onLoaded = callback;
  }

  get visible(): SeqRange {
    return { start: this.visibleStart, end: this.visibleEnd };
  }

  /** Sets the view, clamped to the run and to VISIBLE_SPAN_MIN. */
  setVisible = (start: number, end: number): void => {
    const span = Math.min(this.eventCount, Math.max(VISIBLE_SPAN_MIN, end - start));
    const s = Math.min(Math.max(0, start), this.eventCount - span);
    this.visibleStart = s;
    this.visibleEnd = s + span;
  };

  /** Zooms by `factor` (>1 zooms out) keeping `anchor` (a seq) at the same place on screen. */
  zoomAt = (factor: number, anchor: number): void => {
    const start = this.visibleStart;
    const end = this.visibleEnd;
    const ratio = (anchor - start) / Math.max(1e-9, end - start);
    const span = (end - start) * factor;
    this.setVisible(anchor - ratio * span, anchor - ratio * span + span);
  };

  panBy = (deltaSeq: number): void => this.setVisible(this.visibleStart + deltaSeq, this.visibleEnd + deltaSeq);

  fitAll = (): void => this.setVisible(0, this.eventCount);

  /** Fits the range selection, or centres `seq` when there is none (Perfetto's F). */
  fitSelection = (seq: number): void => {
    if (this.selection !== null) {
      const pad = Math.max(1, (this.selection.end - this.selection.start) * 0.05);
      this.setVisible(this.selection.start - pad, this.selection.end + pad);
    } else if (seq >= 0) this.centreOn(seq);
  };

  /** Keeps the span and puts `seq` in the middle, if it is not already in view. */
  centreOn = (seq: number): void => {
    if (seq >= this.visibleStart && seq < this.visibleEnd) return;
    const span = this.visibleEnd - this.visibleStart;
    this.setVisible(seq - span / 2, seq + span / 2);
  };

  focusLane = (delta: number): void => {
    if (this.lanes.length === 0) return;
    this.focusedLane = Math.min(this.lanes.length - 1, Math.max(0, this.focusedLane + delta));
  };

  /** Loads the lane list (the whole run in one bucket) and the markers. */
  start = async (): Promise<void> => {
    const overview = await this.#client.api.eventsWindow({ runId: this.runId, seqFrom: 0, seqTo: this.eventCount, buckets: 1 });
    if (overview.ok) this.lanes = lanesOf(overview.value, this.threadNames);
    this.#onLoaded();
    // Markers and op spans scan the whole run in main, which answers one call at a time: ask
    // after the first window has landed, so they never hold up the first paint.
    await this.#firstPage;
    const [markers, ops] = await Promise.all([
      this.#client.api.markers({ runId: this.runId }),
      this.#client.api.searchEvents({ runId: this.runId, layer: 'op', limit: OP_SPANS_MAX }),
    ]);
    if (markers.ok) this.markers = markers.value.markers;
    if (ops.ok) this.opSpans = ops.value.filter((e) => e.end !== e.seq);
    this.#onLoaded();
  };

  /**
   * Starts a load when the view has left the loaded window; never waits. Returns what it did:
   * 'unchanged' (loaded or in flight already covers the view) or 'updated' (a load started).
   */
  onUpdate = (): LoadOutcome => {
    const visible = this.visible;
    const wanted = bufferedBounds(visible, this.widthPx, this.eventCount);
    if (this.page !== null && boundsCover(this.page.bounds, wanted, visible)) return 'unchanged';
    if (this.#inFlight !== null) return 'unchanged';
    this.#inFlight = wanted;
    void this.#load(wanted);
    return 'updated';
  };

  async #load(bounds: FetchBounds): Promise<void> {
    const result = await this.#client.api.eventsWindow({ runId: this.runId, seqFrom: bounds.seqFrom, seqTo: bounds.seqTo, buckets: bounds.buckets });
    this.#inFlight = null;
    const visible = this.visible;
    const wanted = bufferedBounds(visible, this.widthPx, this.eventCount);
    if (!result.ok) return;
    if (!boundsCover(bounds, wanted, visible) && this.page !== null && boundsKey(bounds) !== boundsKey(wanted)) {
      // The view has moved past this load: drop it ('aborted') and fetch the latest bounds.
      this.loadsAborted++;
      this.onUpdate();
      return;
    }
    this.page = { bounds, window: result.value };
    this.#firstPageLanded();
    this.#onLoaded();
  }
}

/** Lanes in thread order, then layer order (op, mmu, hook, tdx, check). */
export function lanesOf(window: EventsWindow, threadNames: readonly string[]): Lane[] {
  const present = new Set(window.lanes.filter((l) => l.counts.some((c) => c > 0)).map((l) => `${l.thread}:${l.layer}`));
  const threads = [...new Set(window.lanes.map((l) => l.thread))].sort((a, b) => a - b);
  const out: Lane[] = [];
  for (const thread of threads) {
    for (const layer of LAYERS) {
      if (!present.has(`${thread}:${layer}`)) continue;
      out.push({ thread, layer, label: `${threadNames[thread] ?? `thread ${thread}`} · ${layer}` });
    }
  }
  return out;
}
