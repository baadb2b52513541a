// The compare view's state: two runs, their comparison, the aligned window and the linked
// cursor. Loading is kept apart from drawing (STYLE.md 4): components read the fields; only the
// methods here call the api. Large data (events, page tables) is replaced, never mutated.
import type { Comparison, CompareAnnotation, CompareState as PairedState, CompareViewState } from '../../../shared/api/compare.ts';
import type { ApiError } from '../../../shared/api/contract.ts';
import type { SimEvent } from '../../../shared/event.ts';
import type { ApiClient } from '../lib/api_client.ts';
import { mapCursor, opAt, other, panRange, zoomRange, type Side } from './alignment.ts';

/** Operations shown when a comparison opens (zoom out with '-' to see more). */
export const OPS_VISIBLE_INITIAL = 24;

export class CompareModel {
  runA = $state(0);
  runB = $state(0);
  savedId: number | null = $state(null);
  comparison: Comparison | null = $state.raw(null);
  eventsA: SimEvent[] = $state.raw([]);
  eventsB: SimEvent[] = $state.raw([]);
  windowTruncated = $state(false);
  paired: PairedState | null = $state.raw(null);
  cursorA = $state(0);
  cursorB = $state(0);
  opFrom = $state(0);
  opTo = $state(0);
  annotations: CompareAnnotation[] = $state.raw([]);
  /** Changed since the last save or open. */
  dirty = $state(false);
  loading = $state(false);
  error: ApiError | null = $state.raw(null);
  notice = $state('');
  readonly #client: ApiClient;
  #stateRequest = 0;
  #windowRequest = 0;

  constructor(client: ApiClient) {
    this.#client = client;
  }

  opMax = $derived.by(() => Math.max(0, (this.comparison?.ops.length ?? 1) - 1));
  cursorEventA = $derived.by(() => this.eventsA.find((e) => e.seq === this.cursorA) ?? null);
  cursorEventB = $derived.by(() => this.eventsB.find((e) => e.seq === this.cursorB) ?? null);
  cursorOp = $derived.by(() => (this.comparison ? opAt(this.comparison.ops, 'a', this.cursorA) : null));

  viewState = (): CompareViewState => ({ cursorA: this.cursorA, cursorB: this.cursorB, opFrom: this.opFrom, opTo: this.opTo, annotations: this.annotations });

  /** Opens a saved comparison (by id) with its view state. */
  openSaved = async (id: number): Promise<void> => {
    const saved = await this.#client.api.getComparison({ id });
    if (!saved.ok) return void (this.error = saved.error);
    this.savedId = id;
    await this.openRuns(saved.value.runA, saved.value.runB, saved.value.viewState as CompareViewState);
  };

  /** Compares two runs; `view` restores a saved cursor, zoom and annotations. */
  openRuns = async (runA: number, runB: number, view: CompareViewState | null = null): Promise<void> => {
    this.loading = true;
    this.error = null;
    this.runA = runA;
    this.runB = runB;
    const result = await this.#client.api.compareRuns({ runA, runB });
    this.loading = false;
    if (!result.ok) return void (this.error = result.error);
    this.comparison = result.value;
    const last = result.value.ops.length - 1;
    this.opFrom = view ? Math.min(view.opFrom, last) : 0;
    this.opTo = view ? Math.min(view.opTo, last) : Math.min(last, OPS_VISIBLE_INITIAL - 1);
    this.annotations = view?.annotations ?? [];
    this.cursorA = view?.cursorA ?? 0;
    this.cursorB = view?.cursorB ?? 0;
    this.dirty = false;
    await Promise.all([this.loadWindow(), this.loadState()]);
  };

  /** The window load in flight, so a jump waits for the events it will show. */
  #windowLoad: Promise<void> = Promise.resolve();

  loadWindow = (): Promise<void> => (this.#windowLoad = this.#fetchWindow());

  #fetchWindow = async (): Promise<void> => {
    const request = ++this.#windowRequest;
    const w = await this.#client.api.compareWindow({ runA: this.runA, runB: this.runB, opFrom: this.opFrom, opTo: this.opTo });
    if (request !== this.#windowRequest) return; // overtaken by a newer zoom or pan
    if (!w.ok) return void (this.error = w.error);
    this.eventsA = w.value.a;
    this.eventsB = w.value.b;
    this.windowTruncated = w.value.truncated;
  };

  loadState = async (): Promise<void> => {
    const request = ++this.#stateRequest;
    const s = await this.#client.api.compareState({ runA: this.runA, seqA: this.cursorA, runB: this.runB, seqB: this.cursorB });
    if (request !== this.#stateRequest) return;
    if (!s.ok) return void (this.error = s.error);
    this.paired = s.value;
  };

  /** Moves the cursor of one side; the other follows through the alignment (linked cursors). */
  setCursor = (side: Side, seq: number): void => {
    if (this.comparison === null) return;
    const mapped = mapCursor(this.comparison.ops, side, seq);
    if (side === 'a') [this.cursorA, this.cursorB] = [seq, mapped];
    else [this.cursorB, this.cursorA] = [seq, mapped];
    this.dirty = true;
    void this.loadState();
  };

  /** Steps the cursor to the next or previous event of `side` in the window. */
  step = (side: Side, delta: 1 | -1): void => {
    const events = side === 'a' ? this.eventsA : this.eventsB;
    const cursor = side === 'a' ? this.cursorA : this.cursorB;
    const index = events.findIndex((e) => e.seq >= cursor);
    const next = events[Math.min(events.length - 1, Math.max(0, (index < 0 ? events.length : index) + delta))];
    if (next) this.setCursor(side, next.seq);
  };

  jumpToFirstDifference = async (): Promise<void> => {
    const d = this.comparison?.firstDifference;
    if (!d) return void (this.notice = 'The runs make the same SEAMCALLs and checks: no difference to jump to.');
    await this.#windowLoad;
    if (d.ordinal < this.opFrom || d.ordinal > this.opTo) {
      [this.opFrom, this.opTo] = panRange(this.opFrom, this.opTo, d.ordinal - Math.floor((this.opFrom + this.opTo) / 2), this.opMax);
      await this.loadWindow();
    }
    this.cursorA = d.seqA;
    this.cursorB = d.seqB;
    this.dirty = true;
    this.notice = `First difference: operation ${d.ordinal}, ${d.opLabel}.`;
    await this.loadState();
  };

  /** Zooms both timelines together (one op axis). factor < 1 zooms in. */
  zoom = (factor: number, center?: number): void => {
    const mid = center ?? this.cursorOp?.ordinal ?? (this.opFrom + this.opTo) / 2;
    [this.opFrom, this.opTo] = zoomRange(this.opFrom, this.opTo, mid, factor, this.opMax);
    this.dirty = true;
    void this.loadWindow();
  };

  pan = (fraction: number): void => {
    const delta = Math.round((this.opTo - this.opFrom + 1) * fraction) || Math.sign(fraction);
    [this.opFrom, this.opTo] = panRange(this.opFrom, this.opTo, delta, this.opMax);
    this.dirty = true;
    void this.loadWindow();
  };

  annotate = (side: Side, text: string): void => {
    const seq = side === 'a' ? this.cursorA : this.cursorB;
    this.annotations = [...this.annotations, { side, seq, text }];
    this.dirty = true;
  };

  removeAnnotation = (index: number): void => {
    this.annotations = this.annotations.filter((_, i) => i !== index);
    this.dirty = true;
  };

  /** Saves (or updates) the comparison; returns its id, or null with `error` set. */
  save = async (): Promise<number | null> => {
    const r = await this.#client.api.saveComparison({ id: this.savedId ?? undefined, runA: this.runA, runB: this.runB, viewState: this.viewState() });
    if (!r.ok) {
      this.error = r.error;
      return null;
    }
    this.savedId = r.value.id;
    this.dirty = false;
    this.notice = `Saved as comparison ${r.value.id}.`;
    return r.value.id;
  };

  swap = (): void => {
    void this.openRuns(this.runB, this.runA, { ...this.viewState(), cursorA: this.cursorB, cursorB: this.cursorA, annotations: this.annotations.map((a) => ({ ...a, side: other(a.side) })) });
  };
}
