// Draws the timeline from what is already loaded (no fetching here: timeline_state.svelte.ts
// loads). x is the event seq. Two forms, by what the store sent for the window:
// - events (a zoomed-in window): nested slices per lane, a span from `seq` to `end`, an
//   instant one seq wide, the depth given by the parent chain within the lane;
// - buckets (zoomed out): one bar per non-empty pixel bucket, coloured by its most frequent
//   name, its height by the bucket's density (KernelShark's per-pixel bins).
// Markers (checks, contention retries) are drawn on their lane and on the axis in both forms.
// Flows (Perfetto's flow arrows) go from the selected span to the entry writes and SEAMCALLs it
// caused, each to its own lane, in both forms.
import type { RunEventDetails, RunMarker } from '../../../shared/api/runs.ts';
import type { Layer, SimEvent } from '../../../shared/event.ts';
import type { SeqRange } from './buffered_bounds.ts';
import type { Lane, LoadedPage } from './timeline_state.svelte.ts';

export const LABEL_WIDTH_PX = 150;
export const AXIS_HEIGHT_PX = 24;
export const LANE_HEIGHT_PX = 30;
const ROW_HEIGHT_PX = 13;
const TEXT_MIN_WIDTH_PX = 34;

export interface Palette {
  bg: string;
  surface: string;
  text: string;
  muted: string;
  border: string;
  accent: string;
  danger: string;
  warn: string;
  focus: string;
}

export interface RenderInput {
  ctx: CanvasRenderingContext2D;
  widthPx: number;
  heightPx: number;
  visible: SeqRange;
  lanes: readonly Lane[];
  page: LoadedPage | null;
  markers: readonly RunMarker[];
  /** Whole-run operation spans: bucket counts show where events start, not what spans them. */
  opSpans: readonly SimEvent[];
  cursor: number;
  selection: SeqRange | null;
  selectedSeq: number;
  /** The selected span and what it caused (RunEventDetails.caused), or null. */
  flows: { from: SimEvent; to: readonly SimEvent[] } | null;
  focusedLane: number;
  annotations: readonly { seq: number; text: string }[];
  palette: Palette;
}

export interface RenderStats {
  drawnSlices: number;
  drawnMarkers: number;
  drawnFlows: number;
  mode: 'events' | 'buckets' | 'empty';
}

/** Hue per layer: the colour family a slice belongs to. */
const LAYER_HUE: Record<Layer, number> = { op: 212, mmu: 176, hook: 275, tdx: 135, check: 0 };

function nameHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
  return Math.abs(h);
}

/** A slice's fill: the layer's hue, the name's shade; errors red, contention orange. */
export function sliceColour(layer: Layer, name: string, status: string): string {
  if (layer === 'check') return 'hsl(0 75% 50%)';
  if (status.startsWith('TDX_OPERAND_BUSY') || status === '-EBUSY') return 'hsl(30 90% 52%)';
  if (status.startsWith('TDX_') && status !== 'TDX_SUCCESS') return 'hsl(355 70% 55%)';
  const shade = 42 + (nameHash(name) % 5) * 6;
  return `hsl(${LAYER_HUE[layer]} 55% ${shade}%)`;
}

export class TimelineGeometry {
  constructor(readonly widthPx: number, readonly visible: SeqRange) {}
  get areaWidthPx(): number {
    return Math.max(1, this.widthPx - LABEL_WIDTH_PX);
  }
  seqToX(seq: number): number {
    return LABEL_WIDTH_PX + ((seq - this.visible.start) / Math.max(1e-9, this.visible.end - this.visible.start)) * this.areaWidthPx;
  }
  xToSeq(x: number): number {
    return this.visible.start + ((x - LABEL_WIDTH_PX) / this.areaWidthPx) * (this.visible.end - this.visible.start);
  }
  laneAt(y: number): number {
    return Math.floor((y - AXIS_HEIGHT_PX) / LANE_HEIGHT_PX);
  }
}

/** Top of a lane's first slice row (slices, spans and bucket bars start here). */
function laneRowTop(lane: number): number {
  return AXIS_HEIGHT_PX + lane * LANE_HEIGHT_PX + 2;
}

/** Whether something drawn at one seq (a marker, a flow's head, an annotation) is on screen. */
function instantOnScreen(seq: number, visible: SeqRange): boolean {
  return seq >= visible.start - 1 && seq <= visible.end;
}

export function laneIndexMap(lanes: readonly Lane[]): Map<string, number> {
  return new Map(lanes.map((l, i) => [`${l.thread}:${l.layer}`, i]));
}

/** Depth of each event within its lane: its nearest ancestor on the same lane, plus one. */
export function laneDepths(events: readonly SimEvent[]): Map<number, number> {
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  const depth = new Map<number, number>();
  for (const e of events) {
    let d = 0;
    let p = bySeq.get(e.parent);
    for (let hops = 0; p !== undefined && hops < 64; hops++) {
      if (p.layer === e.layer) {
        d = (depth.get(p.seq) ?? 0) + 1;
        break;
      }
      p = bySeq.get(p.parent);
    }
    depth.set(e.seq, d);
  }
  return depth;
}

/** The drawable events of a page: open spans from before the window, then the window's own. */
export function pageEvents(page: LoadedPage): SimEvent[] {
  if (page.window.events === null) return [];
  return [...[...page.window.openSpans].sort((a, b) => a.seq - b.seq), ...page.window.events];
}

export function renderTimeline(input: RenderInput): RenderStats {
  const { ctx, widthPx, heightPx, palette } = input;
  const g = new TimelineGeometry(widthPx, input.visible);
  ctx.fillStyle = palette.bg;
  ctx.fillRect(0, 0, widthPx, heightPx);
  drawLaneBackgrounds(ctx, g, input);
  ctx.save();
  ctx.beginPath();
  ctx.rect(LABEL_WIDTH_PX, 0, g.areaWidthPx, heightPx);
  ctx.clip();
  const lanes = laneIndexMap(input.lanes);
  let stats: RenderStats = { drawnSlices: 0, drawnMarkers: 0, drawnFlows: 0, mode: 'empty' };
  if (input.page !== null) {
    stats = input.page.window.events !== null ? drawEvents(ctx, g, lanes, input, input.page) : drawBuckets(ctx, g, lanes, input, input.page);
  }
  drawSelectionAndCursor(ctx, g, input);
  stats.drawnMarkers = drawMarkers(ctx, g, lanes, input);
  stats.drawnFlows = drawFlows(ctx, g, lanes, input);
  drawAnnotations(ctx, g, input);
  ctx.restore();
  drawAxis(ctx, g, input);
  return stats;
}

function drawLaneBackgrounds(ctx: CanvasRenderingContext2D, g: TimelineGeometry, input: RenderInput): void {
  const { palette, lanes } = input;
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  for (let i = 0; i < lanes.length; i++) {
    const y = AXIS_HEIGHT_PX + i * LANE_HEIGHT_PX;
    const first = i === 0 || lanes[i - 1].thread !== lanes[i].thread;
    ctx.fillStyle = i === input.focusedLane ? palette.focus : lanes[i].thread % 2 === 0 ? palette.surface : palette.bg;
    ctx.globalAlpha = i === input.focusedLane ? 0.25 : 1;
    ctx.fillRect(0, y, g.widthPx, LANE_HEIGHT_PX);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = palette.border;
    ctx.beginPath();
    ctx.moveTo(0, y + (first ? 0 : LANE_HEIGHT_PX));
    ctx.lineTo(g.widthPx, y + (first ? 0 : LANE_HEIGHT_PX));
    ctx.stroke();
    ctx.fillStyle = first ? palette.text : palette.muted;
    ctx.fillText(lanes[i].label, 6, y + LANE_HEIGHT_PX / 2, LABEL_WIDTH_PX - 10);
  }
  ctx.strokeStyle = palette.border;
  ctx.beginPath();
  ctx.moveTo(LABEL_WIDTH_PX - 0.5, 0);
  ctx.lineTo(LABEL_WIDTH_PX - 0.5, g.widthPx);
  ctx.stroke();
}

function drawEvents(ctx: CanvasRenderingContext2D, g: TimelineGeometry, lanes: Map<string, number>, input: RenderInput, page: LoadedPage): RenderStats {
  const events = pageEvents(page);
  const depths = laneDepths(events);
  let drawn = 0;
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  const xMin = LABEL_WIDTH_PX;
  const xMax = g.widthPx;
  for (const e of events) {
    const lane = lanes.get(`${e.thread}:${e.layer}`);
    if (lane === undefined) continue;
    const last = e.end >= e.seq ? e.end : input.visible.end;
    const x0 = g.seqToX(e.seq);
    const x1 = Math.max(x0 + 2, g.seqToX(last + 1) - 1);
    if (x1 < xMin || x0 > xMax) continue;
    const depth = Math.min(depths.get(e.seq) ?? 0, 1);
    const y = laneRowTop(lane) + depth * ROW_HEIGHT_PX;
    ctx.fillStyle = sliceColour(e.layer, e.name, e.status);
    ctx.fillRect(x0, y, x1 - x0, ROW_HEIGHT_PX - 1);
    if (e.seq === input.selectedSeq) {
      ctx.strokeStyle = input.palette.text;
      ctx.lineWidth = 2;
      ctx.strokeRect(x0 + 1, y + 1, x1 - x0 - 2, ROW_HEIGHT_PX - 3);
      ctx.lineWidth = 1;
    }
    drawn++;
    const left = Math.max(x0, xMin) + 3;
    const room = Math.min(x1, xMax) - left - 2;
    if (room >= TEXT_MIN_WIDTH_PX) {
      ctx.fillStyle = '#fff';
      ctx.fillText(e.status && e.layer === 'tdx' ? `${e.name} ${e.status}` : e.name, left, y + ROW_HEIGHT_PX / 2, room);
    }
  }
  return { drawnSlices: drawn, drawnMarkers: 0, drawnFlows: 0, mode: 'events' };
}

function drawBuckets(ctx: CanvasRenderingContext2D, g: TimelineGeometry, lanes: Map<string, number>, input: RenderInput, page: LoadedPage): RenderStats {
  const { seqStart, bucketSize } = page.window;
  const densityFull = Math.log2(1 + bucketSize);
  let drawn = drawSpans(ctx, g, lanes, input.opSpans, input.visible);
  for (const bins of page.window.lanes) {
    const lane = lanes.get(`${bins.thread}:${bins.layer}`);
    if (lane === undefined) continue;
    const laneTop = laneRowTop(lane);
    const full = LANE_HEIGHT_PX - 4;
    for (let i = 0; i < bins.counts.length; i++) {
      const count = bins.counts[i];
      if (count === 0) continue;
      const x0 = g.seqToX(seqStart + i * bucketSize);
      const x1 = Math.max(x0 + 1, g.seqToX(seqStart + (i + 1) * bucketSize));
      if (x1 < LABEL_WIDTH_PX || x0 > g.widthPx) continue;
      const h = Math.max(3, Math.round(full * Math.min(1, 0.3 + (0.7 * Math.log2(1 + count)) / Math.max(1, densityFull))));
      ctx.fillStyle = sliceColour(bins.layer, bins.topNames[i], '');
      ctx.fillRect(x0, laneTop + full - h, x1 - x0, h);
      drawn++;
    }
  }
  return { drawnSlices: drawn, drawnMarkers: 0, drawnFlows: 0, mode: 'buckets' };
}

/** Long spans as bars in their lane's top row, with their name where it fits. */
function drawSpans(ctx: CanvasRenderingContext2D, g: TimelineGeometry, lanes: Map<string, number>, spans: readonly SimEvent[], visible: SeqRange): number {
  let drawn = 0;
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  for (const e of spans) {
    const lane = lanes.get(`${e.thread}:${e.layer}`);
    const last = e.end >= e.seq ? e.end : visible.end;
    if (lane === undefined || last < visible.start || e.seq > visible.end) continue;
    const x0 = Math.max(LABEL_WIDTH_PX, g.seqToX(e.seq));
    const x1 = Math.max(x0 + 2, Math.min(g.widthPx, g.seqToX(last + 1)));
    const y = laneRowTop(lane);
    ctx.fillStyle = sliceColour(e.layer, e.name, e.status);
    ctx.fillRect(x0, y, x1 - x0, ROW_HEIGHT_PX - 1);
    if (x1 - x0 > TEXT_MIN_WIDTH_PX) {
      ctx.fillStyle = '#fff';
      ctx.fillText(e.name, x0 + 3, y + ROW_HEIGHT_PX / 2, x1 - x0 - 6);
    }
    drawn++;
  }
  return drawn;
}

function drawMarkers(ctx: CanvasRenderingContext2D, g: TimelineGeometry, lanes: Map<string, number>, input: RenderInput): number {
  let drawn = 0;
  for (const m of input.markers) {
    if (!instantOnScreen(m.seq, input.visible)) continue;
    const x = g.seqToX(m.seq + 0.5);
    ctx.fillStyle = m.kind === 'check' ? input.palette.danger : input.palette.warn;
    const lane = lanes.get(`${m.thread}:${m.layer}`);
    const y = lane === undefined ? AXIS_HEIGHT_PX : AXIS_HEIGHT_PX + lane * LANE_HEIGHT_PX + 1;
    ctx.beginPath();
    ctx.moveTo(x - 5, y);
    ctx.lineTo(x + 5, y);
    ctx.lineTo(x, y + 8);
    ctx.closePath();
    ctx.fill();
    ctx.fillRect(x - 0.5, AXIS_HEIGHT_PX - 6, 1, 6);
    drawn++;
  }
  return drawn;
}

/** The flows to draw for the details shown: none until they are the selected event's own. */
export function flowsOf(details: RunEventDetails | null, selectedSeq: number): RenderInput['flows'] {
  if (details === null || details.event.seq !== selectedSeq || details.caused.length === 0) return null;
  return { from: details.event, to: details.caused };
}

/** A lane's vertical middle of its top row, where a flow starts or ends. */
function laneRowY(lane: number): number {
  return laneRowTop(lane) + ROW_HEIGHT_PX / 2;
}

/**
 * Curved arrows from the selected span's start to each effect it caused that is on screen. The
 * curve leaves to the right and enters from the left, so arrows into the same lane stay apart.
 */
function drawFlows(ctx: CanvasRenderingContext2D, g: TimelineGeometry, lanes: Map<string, number>, input: RenderInput): number {
  const flows = input.flows;
  if (flows === null) return 0;
  const fromLane = lanes.get(`${flows.from.thread}:${flows.from.layer}`);
  if (fromLane === undefined) return 0;
  const x0 = g.seqToX(flows.from.seq) + 2;
  const y0 = laneRowY(fromLane);
  let drawn = 0;
  ctx.strokeStyle = input.palette.focus;
  ctx.fillStyle = input.palette.focus;
  ctx.globalAlpha = 0.8;
  for (const e of flows.to) {
    if (!instantOnScreen(e.seq, input.visible)) continue;
    const lane = lanes.get(`${e.thread}:${e.layer}`);
    if (lane === undefined) continue;
    const x1 = g.seqToX(e.seq + 0.5);
    const y1 = laneRowY(lane);
    const bend = Math.max(12, Math.min(60, Math.abs(x1 - x0) / 2));
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.bezierCurveTo(x0 + bend, y0, x1 - bend, y1, x1 - 4, y1);
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - 6, y1 - 3.5);
    ctx.lineTo(x1 - 6, y1 + 3.5);
    ctx.closePath();
    ctx.fill();
    drawn++;
  }
  ctx.globalAlpha = 1;
  return drawn;
}

function drawSelectionAndCursor(ctx: CanvasRenderingContext2D, g: TimelineGeometry, input: RenderInput): void {
  const { palette } = input;
  if (input.selection !== null) {
    const x0 = g.seqToX(input.selection.start);
    const x1 = g.seqToX(input.selection.end);
    ctx.fillStyle = palette.accent;
    ctx.globalAlpha = 0.15;
    ctx.fillRect(x0, AXIS_HEIGHT_PX, Math.max(1, x1 - x0), input.heightPx);
    ctx.globalAlpha = 1;
  }
  if (input.cursor >= 0) {
    const x = Math.round(g.seqToX(input.cursor + 0.5)) + 0.5;
    ctx.strokeStyle = palette.accent;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, input.heightPx);
    ctx.stroke();
    ctx.lineWidth = 1;
  }
}

function drawAnnotations(ctx: CanvasRenderingContext2D, g: TimelineGeometry, input: RenderInput): void {
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'top';
  for (const a of input.annotations) {
    if (!instantOnScreen(a.seq, input.visible)) continue;
    const x = g.seqToX(a.seq + 0.5);
    ctx.fillStyle = input.palette.focus;
    ctx.fillRect(x - 0.5, AXIS_HEIGHT_PX, 1, input.heightPx);
    ctx.fillRect(x, AXIS_HEIGHT_PX, 8, 8);
    ctx.fillStyle = input.palette.text;
    ctx.fillText(a.text.slice(0, 24), x + 10, AXIS_HEIGHT_PX + 1);
  }
}

/** A 1-2-5 step giving ticks at least `minPx` apart. */
export function tickStep(span: number, widthPx: number, minPx = 90): number {
  const raw = (span * minPx) / Math.max(1, widthPx);
  let step = 1;
  for (let i = 0; i < 60 && step < raw; i++) step *= [2, 2.5, 2][i % 3];
  return Math.max(1, Math.round(step));
}

function drawAxis(ctx: CanvasRenderingContext2D, g: TimelineGeometry, input: RenderInput): void {
  const { palette } = input;
  ctx.fillStyle = palette.surface;
  ctx.fillRect(0, 0, g.widthPx, AXIS_HEIGHT_PX - 6);
  ctx.fillStyle = palette.muted;
  ctx.font = '11px ui-monospace, monospace';
  ctx.textBaseline = 'middle';
  ctx.fillText('seq', 6, 9);
  const span = input.visible.end - input.visible.start;
  const step = tickStep(span, g.areaWidthPx);
  const first = Math.ceil(input.visible.start / step) * step;
  for (let i = 0, s = first; s <= input.visible.end && i < 200; i++, s += step) {
    const x = Math.round(g.seqToX(s)) + 0.5;
    ctx.fillRect(x, AXIS_HEIGHT_PX - 10, 1, 6);
    ctx.fillText(s.toLocaleString('en-US'), x + 3, 9);
  }
}
