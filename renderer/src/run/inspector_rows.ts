// Which inspector rows are shown: a pre-order list (main's InspectorRow) folded by the user's
// toggles. By default the top OPEN_DEPTH_DEFAULT depths are open, and so is every row on the way to something
// worth seeing: an entry the cursor event changed or removed, a disagreement with the other
// tree, or the GFN searched for (its path opens in both trees).
import type { InspectorRow } from '../../../shared/api/runs.ts';

export interface ShownRow {
  row: InspectorRow;
  key: string;
  open: boolean;
  hasChildren: boolean;
  /** The deepest row holding the searched GFN. */
  found: boolean;
}

/** Rows shown at most; the rest are counted, not drawn. */
export const SHOWN_ROWS_MAX = 1500;
/** Depths open by default: root, 1G and 2M tables, so the leaves under a 2M table show. */
export const OPEN_DEPTH_DEFAULT = 3;

export function rowKey(r: InspectorRow): string {
  return `${r.level}:${r.gfnStart}`;
}

function holds(r: InspectorRow, gfn: number | null): boolean {
  return gfn !== null && r.gfnStart <= gfn && gfn < r.gfnEnd;
}

export function shownRows(rows: readonly InspectorRow[], toggled: ReadonlySet<string>, focusGfn: number | null, openDepth = OPEN_DEPTH_DEFAULT): { shown: ShownRow[]; hidden: number } {
  const n = rows.length;
  const hasChildren = new Array<boolean>(n).fill(false);
  const leadsSomewhere = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  let foundIndex = -1;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    while (stack.length > 0 && rows[stack[stack.length - 1]].depth >= r.depth) stack.pop();
    if (stack.length > 0) hasChildren[stack[stack.length - 1]] = true;
    const notable = r.changed || r.removed || r.mismatch || holds(r, focusGfn);
    if (holds(r, focusGfn) && (foundIndex < 0 || rows[foundIndex].depth < r.depth)) foundIndex = i;
    if (notable) for (const a of stack) leadsSomewhere[a] = true;
    stack.push(i);
  }
  const shown: ShownRow[] = [];
  let hidden = 0;
  let closedDepth = Infinity;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (r.depth > closedDepth) continue;
    closedDepth = Infinity;
    const key = rowKey(r);
    const byDefault = r.depth < openDepth || leadsSomewhere[i];
    const open = hasChildren[i] && (toggled.has(key) ? !byDefault : byDefault);
    if (!open) closedDepth = r.depth;
    if (shown.length >= SHOWN_ROWS_MAX) {
      hidden++;
      continue;
    }
    shown.push({ row: r, key, open, hasChildren: hasChildren[i], found: i === foundIndex });
  }
  return { shown, hidden };
}
