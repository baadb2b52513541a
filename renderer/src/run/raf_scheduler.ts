// The app's one animation-frame loop (Perfetto's core/raf_scheduler.ts): in each frame the
// queued actions (pan, zoom, cursor moves) run first, then the canvas redraws. Views never call
// requestAnimationFrame themselves; they queue an action or ask for a redraw, and several
// requests within one frame cost one frame.
//
// Lifecycle: a canvas renderer is called once per frame in which a redraw was requested, after
// every action of that frame, and never after its unsubscribe function ran.

export type FrameCallback = () => void;

/** Frame durations kept for the perf figures (the bench reads them). */
const FRAME_STATS_MAX = 2048;

export class RafScheduler {
  readonly #actions: FrameCallback[] = [];
  readonly #canvasRenderers = new Set<FrameCallback>();
  #redrawRequested = false;
  #frameRequested = false;
  readonly #frameMs: number[] = [];
  readonly #host: Pick<Window, 'requestAnimationFrame'> & { performance: Pick<Performance, 'now'> };

  constructor(host: Pick<Window, 'requestAnimationFrame'> & { performance: Pick<Performance, 'now'> }) {
    this.#host = host;
  }

  /** Runs `action` at the start of the next frame, then redraws. */
  scheduleAction = (action: FrameCallback): void => {
    this.#actions.push(action);
    this.scheduleRedraw();
  };

  /** Redraws the canvases in the next frame (no DOM work). */
  scheduleRedraw = (): void => {
    this.#redrawRequested = true;
    this.#requestFrame();
  };

  /** Adds a canvas renderer; returns the function that removes it. */
  addCanvasRenderer = (render: FrameCallback): (() => void) => {
    this.#canvasRenderers.add(render);
    this.scheduleRedraw();
    return () => this.#canvasRenderers.delete(render);
  };

  /** Durations (ms) of the last frames: actions plus redraws. */
  frameTimesMs = (): number[] => [...this.#frameMs];

  #requestFrame(): void {
    if (this.#frameRequested) return;
    this.#frameRequested = true;
    this.#host.requestAnimationFrame(() => this.#frame());
  }

  #frame(): void {
    this.#frameRequested = false;
    const started = this.#host.performance.now();
    // Actions queued by an action run in the next frame: a bounded amount of work per frame.
    const actions = this.#actions.splice(0, this.#actions.length);
    for (const action of actions) action();
    if (this.#redrawRequested) {
      this.#redrawRequested = false;
      for (const render of this.#canvasRenderers) render();
    }
    this.#frameMs.push(this.#host.performance.now() - started);
    if (this.#frameMs.length > FRAME_STATS_MAX) this.#frameMs.splice(0, this.#frameMs.length - FRAME_STATS_MAX);
  }
}

let appScheduler: RafScheduler | null = null;

/** The app's scheduler, created on first use in the window. */
export function appRaf(): RafScheduler {
  if (appScheduler === null) appScheduler = new RafScheduler(window);
  return appScheduler;
}
