// One open run: the timeline, the cursor (the inspector's "focus", Pernosco's word: only a
// parameter of the queries), the selected event, the inspector's trees, the range counts and
// the annotations. Whole-run data never lands here: pages and trees are replaced ($state.raw).
//
// Loads follow "latest wins": a slow answer for a cursor the user has already left is
// dropped, and the newest cursor is asked for. The cursor, the view and the annotations are
// saved as the run's view state a moment after they change, and restored on open.
import { createContext } from 'svelte';
import type { ApiClient } from '../lib/api_client.ts';
import type {
  InspectorRow, InspectorState, InspectorTreeName, RangeKindCounts, RunEventDetails, RunRecord, RunViewState,
} from '../../../shared/api/runs.ts';
import { ANNOTATIONS_MAX, ANNOTATION_TEXT_MAX } from '../../../shared/api/runs.ts';
import type { SeqRange } from './buffered_bounds.ts';
import { downloadRun } from '../library/file_io.ts';
import { TimelineState } from './timeline_state.svelte.ts';

export interface Annotation {
  seq: number;
  text: string;
}

export interface SelectedEntry {
  tree: InspectorTreeName;
  row: InspectorRow;
}

/** Wait this long after the last change before saving the view state. */
const SAVE_DELAY_MS = 250;
/** A GFN search that misses a truncated tree asks again for this aligned window (1 GiB). */
const GFN_WINDOW = 1 << 18;

export class RunState {
  readonly run: RunRecord;
  readonly timeline: TimelineState;
  cursor = $state(-1);
  selectedSeq = $state(-1);
  details: RunEventDetails | null = $state.raw(null);
  inspector: InspectorState | null = $state.raw(null);
  rangeCounts: RangeKindCounts | null = $state.raw(null);
  annotations: Annotation[] = $state.raw([]);
  selectedEntry: SelectedEntry | null = $state.raw(null);
  /** The GFN searched for; both trees open the path to it. */
  focusGfn: number | null = $state(null);
  /** Set when the inspector shows a gfn window only (after a search in a truncated tree). */
  gfnWindow: SeqRange | null = $state.raw(null);
  message = $state('');
  readonly #client: ApiClient;
  #inspectorInFlight = false;
  #inspectorLoadedFor = '';
  #saveTimer: ReturnType<typeof setTimeout> | null = null;
  #restored = false;

  constructor(client: ApiClient, run: RunRecord) {
    this.#client = client;
    this.run = run;
    this.timeline = new TimelineState(client, run);
  }

  /** Restores the saved view state, then loads lanes, markers and the inspector. */
  open = async (): Promise<void> => {
    const saved = await this.#client.api.getViewState({ runId: this.run.id });
    if (saved.ok && saved.value !== null) this.#apply(saved.value);
    this.#restored = true;
    void this.loadInspector();
    await this.timeline.start();
  };

  #apply(state: RunViewState): void {
    this.annotations = state.annotations.slice(0, ANNOTATIONS_MAX);
    this.cursor = Math.min(state.cursor, this.run.eventCount - 1);
    if (state.visibleEnd > state.visibleStart) this.timeline.setVisible(state.visibleStart, state.visibleEnd);
  }

  viewState = (): RunViewState => ({
    version: 1,
    cursor: this.cursor,
    visibleStart: Math.max(0, Math.floor(this.timeline.visibleStart)),
    visibleEnd: Math.max(0, Math.ceil(this.timeline.visibleEnd)),
    annotations: this.annotations,
  });

  /** Saves the view state after SAVE_DELAY_MS of quiet (and at once with `now`). */
  scheduleSave = (now = false): Promise<void> | void => {
    if (!this.#restored) return;
    if (this.#saveTimer !== null) clearTimeout(this.#saveTimer);
    this.#saveTimer = null;
    const save = async () => void (await this.#client.api.putViewState({ runId: this.run.id, state: this.viewState() }));
    if (now) return save();
    this.#saveTimer = setTimeout(() => void save(), SAVE_DELAY_MS);
  };

  setCursor = (seq: number): void => {
    const next = Math.min(Math.max(-1, Math.round(seq)), this.run.eventCount - 1);
    if (next === this.cursor) return;
    this.cursor = next;
    void this.loadInspector();
    this.scheduleSave();
  };

  /** Downloads this run as its share file (the same file the Library exports). */
  exportFile = async (): Promise<void> => {
    const error = await downloadRun(this.#client, this.run.id);
    if (error !== null) this.message = error.message;
  };

  /** Selects an event: details panel, cursor on it, and the view moved to show it. */
  selectEvent = async (seq: number): Promise<void> => {
    this.selectedSeq = seq;
    this.setCursor(seq);
    this.timeline.centreOn(seq);
    const result = await this.#client.api.event({ runId: this.run.id, seq });
    if (this.selectedSeq !== seq) return;
    if (!result.ok) return void (this.message = result.error.message);
    this.details = result.value;
    const lane = this.timeline.lanes.findIndex((l) => l.thread === result.value.event.thread && l.layer === result.value.event.layer);
    if (lane >= 0) this.timeline.focusedLane = lane;
  };

  /** `.` and `,`: the next or previous event on the focused lane, from the selection or the cursor. */
  laneStep = async (dir: 1 | -1): Promise<void> => {
    const lane = this.timeline.lanes[this.timeline.focusedLane];
    if (lane === undefined) return;
    const from = this.selectedSeq >= 0 ? this.selectedSeq : Math.max(0, this.cursor);
    const result = await this.#client.api.laneStep({ runId: this.run.id, seq: from, thread: lane.thread, layer: lane.layer, dir });
    if (result.ok && result.value !== null) await this.selectEvent(result.value.seq);
    else this.message = `no ${dir > 0 ? 'later' : 'earlier'} event on ${lane.label}`;
  };

  selectRange = async (range: SeqRange | null): Promise<void> => {
    this.timeline.selection = range;
    this.rangeCounts = null;
    if (range === null) return;
    const seqFrom = Math.max(0, Math.floor(range.start));
    const seqTo = Math.min(this.run.eventCount, Math.ceil(range.end));
    const result = await this.#client.api.rangeCounts({ runId: this.run.id, seqFrom, seqTo });
    if (result.ok && this.timeline.selection === range) this.rangeCounts = result.value;
  };

  addAnnotation = (text: string): void => {
    const trimmed = text.trim().slice(0, ANNOTATION_TEXT_MAX);
    if (trimmed === '' || this.annotations.length >= ANNOTATIONS_MAX) return;
    const seq = Math.max(0, this.cursor);
    this.annotations = [...this.annotations, { seq, text: trimmed }].sort((a, b) => a.seq - b.seq);
    void this.scheduleSave(true);
  };

  removeAnnotation = (index: number): void => {
    this.annotations = this.annotations.filter((_, i) => i !== index);
    void this.scheduleSave(true);
  };

  /** Loads the trees at the cursor; a newer cursor wins over an answer still in flight. */
  loadInspector = async (): Promise<void> => {
    const key = `${this.cursor}:${this.gfnWindow?.start ?? ''}`;
    if (this.#inspectorInFlight || key === this.#inspectorLoadedFor) return;
    this.#inspectorInFlight = true;
    const seq = this.cursor;
    const window = this.gfnWindow;
    const result = await this.#client.api.stateAt(window === null ? { runId: this.run.id, seq } : { runId: this.run.id, seq, gfnStart: window.start, gfnEnd: window.end });
    this.#inspectorInFlight = false;
    if (result.ok) {
      this.inspector = result.value;
      this.#inspectorLoadedFor = key;
      this.#refreshSelectedEntry();
    } else this.message = result.error.message;
    if (`${this.cursor}:${this.gfnWindow?.start ?? ''}` !== key) await this.loadInspector();
  };

  /** Keeps the clicked entry selected across cursor moves when it still exists. */
  #refreshSelectedEntry(): void {
    const sel = this.selectedEntry;
    if (sel === null || this.inspector === null) return;
    const rows = this.inspector[sel.tree];
    const again = rows.find((r) => r.level === sel.row.level && r.gfnStart <= sel.row.gfnStart && sel.row.gfnStart < r.gfnEnd);
    this.selectedEntry = again === undefined ? null : { tree: sel.tree, row: again };
  }

  /** "Jump to the event that last wrote it" (Pernosco's dataflow, one step back). */
  jumpToLastWriter = async (tree: InspectorTreeName, row: InspectorRow): Promise<void> => {
    const seq = Math.max(0, this.cursor);
    const result = await this.#client.api.lastWriter({ runId: this.run.id, seq, tree, level: row.level, gfn: row.gfnStart });
    if (!result.ok) return void (this.message = result.error.message);
    if (result.value.seq < 0) return void (this.message = `nothing wrote ${tree} ${row.label} up to seq ${seq}`);
    await this.selectEvent(result.value.seq);
  };

  /** Finds a GFN in both trees; when a truncated tree lacks it, narrows to its 1 GiB window. */
  searchGfn = async (text: string): Promise<boolean> => {
    const gfn = parseGfn(text);
    if (gfn === null) {
      this.message = `"${text}" is not a hex GFN`;
      return false;
    }
    this.focusGfn = gfn;
    const has = (s: InspectorState | null) => s !== null && [...s.mirror, ...s.sept].some((r) => r.gfnStart <= gfn && gfn < r.gfnEnd);
    if (!has(this.inspector) && this.inspector?.truncated) {
      const start = Math.floor(gfn / GFN_WINDOW) * GFN_WINDOW;
      this.gfnWindow = { start, end: start + GFN_WINDOW };
      await this.loadInspector();
    }
    const found = has(this.inspector);
    this.message = found ? '' : `gfn 0x${gfn.toString(16)} has no entry at seq ${this.cursor}`;
    return found;
  };

  clearGfnWindow = (): void => {
    this.gfnWindow = null;
    void this.loadInspector();
  };

  dispose = (): void => {
    if (this.#saveTimer !== null) {
      clearTimeout(this.#saveTimer);
      void this.scheduleSave(true);
    }
  };
}

/** Parses `0x80000`, `80000` (hex either way); null otherwise. */
export function parseGfn(text: string): number | null {
  const t = text.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{1,13}$/.test(t)) return null;
  return parseInt(t, 16);
}

export const [useRun, setRunContext] = createContext<RunState>();
