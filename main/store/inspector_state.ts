// The inspector's answer at a cursor: both trees as merged pre-order rows, with the cursor
// event's writes and the disagreements marked. This is the one place that puts the checkpoint
// index, the disagreement sweep and the rows together, so the Run view asks one question.
import { TREE_ID } from '../../shared/event.ts';
import { INSPECTOR_ROWS_MAX, type InspectorState } from '../../shared/api/runs.ts';
import type { ReadableDB } from './db.ts';
import { eventAt } from './events_read.ts';
import { findDisagreements } from './inspector_disagreements.ts';
import type { InspectorIndex } from './inspector_index.ts';
import type { EntryRanges } from './inspector_ranges.ts';
import { clipRanges, treeRows, type CursorWrite } from './inspector_tree_rows.ts';
import { isEmptyValue } from './page_state.ts';

/** The entries the event at `seq` wrote, per tree (null when it wrote none there). */
function cursorWrites(db: ReadableDB, runId: number, seq: number): { mirror: CursorWrite | null; sept: CursorWrite | null } {
  const out: { mirror: CursorWrite | null; sept: CursorWrite | null } = { mirror: null, sept: null };
  const e = seq >= 0 ? eventAt(db, runId, seq) : null;
  if (e === null || (e.tree !== 'mirror' && e.tree !== 'sept')) return out;
  const t = TREE_ID[e.tree];
  const emptied = e.new === null || isEmptyValue(t, e.new);
  out[e.tree] = { level: e.level, gfn: e.gfn, removedValue: emptied && e.old !== null && !isEmptyValue(t, e.old) ? e.old : null };
  return out;
}

/**
 * The inspector at `seq` (state after the writes with seq <= `seq`; -1 is the empty start):
 * both trees as merged pre-order rows, the cursor event's writes marked, disagreements marked
 * (over the whole state, also with a window). With a gfn window only entries whose span meets
 * [gfnStart, gfnEnd) are shown, with the tables above them.
 */
export function inspectorState(db: ReadableDB, index: InspectorIndex, seq: number, window?: { gfnStart: number; gfnEnd: number }, rowsMax = INSPECTOR_ROWS_MAX): InspectorState {
  const at = index.rangesAt(db, seq);
  const w = cursorWrites(db, index.runId, seq);
  const dis = findDisagreements(at.mirror, at.sept);
  const shown = (r: EntryRanges) => (window === undefined ? r : clipRanges(r, window.gfnStart, window.gfnEnd));
  const m = treeRows('mirror', shown(at.mirror), w.mirror, dis, rowsMax);
  const s = treeRows('sept', shown(at.sept), w.sept, dis, rowsMax);
  return { seq, mirror: m.rows, sept: s.rows, truncated: m.truncated || s.truncated, mismatchCount: dis.entries };
}
