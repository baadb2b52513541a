// Queries of the Run view that the general ones (queries.ts) do not answer: the inspector's two
// trees built, merged and compared in main (so the renderer never holds a whole table), counts
// by kind over a range, the timeline's markers, an entry's next write, and the spans still open
// at the left edge of a timeline window.
//
// Tree model (Trace Compass's attribute tree; gdb-pt-dump's merged ranges): an entry at
// (level, gfn) is a child of the non-leaf entry at (level + 1, gfn aligned down to its span).
// Contiguous sibling leaves whose attributes match and whose pfns follow each other become one
// row. Disagreement follows the invariant checker's rules (PRODUCT.md section 2): a present
// mirror leaf needs a MAPPED or PENDING S-EPT leaf with the same pfn at the same level, a mirror
// non-leaf needs NL_MAPPED, and an S-EPT entry with no present mirror entry is a disagreement.
// A frozen mirror entry is mid-update, so neither side is marked there.
import { LAYERS, LAYER_ID, TREE_ID, type SimEvent, type Tree } from '../../shared/event.ts';
import {
  INSPECTOR_ROWS_MAX, MARKERS_MAX, type InspectorRow, type InspectorState, type InspectorTreeName,
  type RangeKindCounts, type RunMarker,
} from '../../shared/api/runs.ts';
import { SEPT_STATE_MAPPED, SEPT_STATE_NAMES, SEPT_STATE_NL_MAPPED, SEPT_STATE_PENDING, sept_state_is_leaf, sept_state_of } from '../../shared/sept.ts';
import { KVM_PAGES_PER_HPAGE, is_frozen_spte, is_last_spte, is_large_pte, is_shadow_present_pte, spte_to_pfn } from '../../shared/spte.ts';
import { TWO_40, type U64 } from '../../shared/u64.ts';
import { eventKey, prepared, type ReadableDB } from './db.ts';
import { eventAt, runStrings } from './events_read.ts';
import { isEmptyValue } from './page_state.ts';
import { stateAtColumns, stateRange } from './state_query.ts';

/** One tree's entries, sorted by (level desc, gfn). */
export interface EntryColumns {
  level: ArrayLike<number>;
  gfn: ArrayLike<number>;
  value: ArrayLike<number>;
}

interface Entry {
  level: number;
  gfn: number;
  value: U64;
  removed: boolean;
}

const LEVEL_NAMES = ['', '4K', '2M', '1G', '512G', '256T'];

export function levelName(level: number): string {
  return LEVEL_NAMES[level] ?? `L${level}`;
}

function key(level: number, gfn: number): number {
  return gfn * 8 + level;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Whether an entry has a table under it (so rows follow it with depth + 1). */
function isNonLeaf(tree: InspectorTreeName, e: Entry): boolean {
  if (e.removed || e.level === 1) return false;
  if (tree === 'mirror') return is_shadow_present_pte(e.value) && !is_large_pte(e.value);
  const state = sept_state_of(e.value);
  return state >= 0 && !sept_state_is_leaf(state);
}

/** The entry with the pfn bits cleared: two entries merge when this matches. */
function attributesOf(v: U64): number {
  return (v % 4096) + Math.floor(v / TWO_40) * TWO_40;
}

/** The pfn an entry holds (bits 51:12, kept up to bit 39 by the packing), 0 for a non-present SPTE. */
function pfnOf(tree: InspectorTreeName, v: U64): number {
  if (tree === 'mirror') return is_shadow_present_pte(v) ? spte_to_pfn(v) : 0;
  return Math.floor((v % TWO_40) / 4096);
}

function mirrorKind(v: U64, level: number): string {
  if (is_frozen_spte(v)) return 'frozen';
  if (!is_shadow_present_pte(v)) return 'other';
  if (!is_last_spte(v, level)) return 'non-leaf';
  return level > 1 ? 'huge' : 'leaf';
}

function kindOf(tree: InspectorTreeName, e: Entry): string {
  if (tree === 'mirror') return mirrorKind(e.value, e.level);
  return SEPT_STATE_NAMES[sept_state_of(e.value)] ?? 'INVALID';
}

/** Which entries of each tree disagree with the other tree (keys as key(level, gfn)). */
export function findMismatches(mirror: Map<number, U64>, sept: Map<number, U64>): Set<number> {
  const out = new Set<number>();
  for (const [k, m] of mirror) {
    if (is_frozen_spte(m) || !is_shadow_present_pte(m)) continue;
    const s = sept.get(k);
    const state = s === undefined ? -1 : sept_state_of(s);
    const level = k % 8;
    const ok = is_last_spte(m, level)
      ? (state === SEPT_STATE_MAPPED || state === SEPT_STATE_PENDING) && pfnOf('sept', s!) === spte_to_pfn(m)
      : state === SEPT_STATE_NL_MAPPED;
    if (!ok) out.add(k);
  }
  for (const k of sept.keys()) {
    const m = mirror.get(k);
    if (m !== undefined && is_frozen_spte(m)) continue;
    if (m === undefined || !is_shadow_present_pte(m)) out.add(k);
  }
  return out;
}

function entriesOf(cols: EntryColumns, tree: number, removed: Entry[]): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < cols.gfn.length; i++) {
    if (isEmptyValue(tree, cols.value[i])) continue;
    out.push({ level: cols.level[i], gfn: cols.gfn[i], value: cols.value[i], removed: false });
  }
  if (removed.length === 0) return out; // the store answers sorted by (level desc, gfn)
  for (const r of removed) out.push(r);
  return out.sort((a, b) => b.level - a.level || a.gfn - b.gfn);
}

/**
 * Values of the entries reachable from the top level. An entry under no present non-leaf is in
 * a table not linked (yet, or any more): KVM fills a split's child page before linking it
 * (tdp_mmu_split_huge_page), so such entries are shown but never compared.
 */
function linkedValues(tree: InspectorTreeName, entries: Entry[]): Map<number, U64> {
  const m = new Map<number, U64>();
  const linkedNonLeaf = new Set<number>();
  const topLevel = entries.length === 0 ? 0 : entries[0].level;
  for (const e of entries) {
    if (e.removed) continue;
    const span = KVM_PAGES_PER_HPAGE(e.level + 1);
    const k = key(e.level, e.gfn);
    if (e.level !== topLevel && !linkedNonLeaf.has(key(e.level + 1, Math.floor(e.gfn / span) * span))) continue;
    m.set(k, e.value);
    if (isNonLeaf(tree, e)) linkedNonLeaf.add(k);
  }
  return m;
}

interface BuildContext {
  tree: InspectorTreeName;
  children: Map<number, Entry[]>;
  changed: Set<number>;
  mismatched: Set<number>;
  rows: InspectorRow[];
  rowsMax: number;
}

function rowOf(c: BuildContext, e: Entry, depth: number): InspectorRow {
  const k = key(e.level, e.gfn);
  const nonLeaf = isNonLeaf(c.tree, e);
  return {
    depth,
    level: e.level,
    gfnStart: e.gfn,
    gfnEnd: e.gfn + KVM_PAGES_PER_HPAGE(e.level),
    count: 1,
    value: e.value,
    valueLast: e.value,
    leaf: !nonLeaf,
    kind: e.removed ? 'removed' : kindOf(c.tree, e),
    label: '',
    changed: c.changed.has(k),
    removed: e.removed,
    mismatch: c.mismatched.has(k),
  };
}

/** Whether `e` extends the merged leaf row `r` (same flags and attributes, pfns in sequence). */
function extendsRow(c: BuildContext, r: InspectorRow, e: Entry): boolean {
  if (!r.leaf || r.level !== e.level || r.gfnEnd !== e.gfn || r.removed !== e.removed || isNonLeaf(c.tree, e)) return false;
  // Equal attributes (all bits but the pfn) mean the same kind, so only the flags remain.
  if (attributesOf(r.valueLast) !== attributesOf(e.value)) return false;
  const k = key(e.level, e.gfn);
  if (r.changed !== c.changed.has(k) || r.mismatch !== c.mismatched.has(k)) return false;
  const pfnLast = pfnOf(c.tree, r.valueLast);
  const pfn = pfnOf(c.tree, e.value);
  return pfn === 0 ? pfnLast === 0 : pfn === pfnLast + KVM_PAGES_PER_HPAGE(e.level);
}

/** Emits the rows of `siblings` and their subtrees in pre-order. Returns false once rowsMax is hit. */
function emit(c: BuildContext, siblings: Entry[], depth: number): boolean {
  let last: InspectorRow | null = null;
  for (const e of siblings) {
    if (last !== null && extendsRow(c, last, e)) {
      last.count++;
      last.gfnEnd = e.gfn + KVM_PAGES_PER_HPAGE(e.level);
      last.valueLast = e.value;
      continue;
    }
    if (c.rows.length >= c.rowsMax) return false;
    const row = rowOf(c, e, depth);
    c.rows.push(row);
    last = row;
    if (!row.leaf) {
      const kids = c.children.get(key(e.level, e.gfn));
      if (kids !== undefined && !emit(c, kids, depth + 1)) return false;
      last = null;
    }
  }
  return true;
}

/** Pre-order rows of one tree, leaves merged, with labels. */
export function buildTreeRows(tree: InspectorTreeName, entries: Entry[], changed: Set<number>, mismatched: Set<number>, rowsMax: number): { rows: InspectorRow[]; truncated: boolean } {
  const present = new Map<number, Entry>();
  for (const e of entries) if (!e.removed) present.set(key(e.level, e.gfn), e);
  const children = new Map<number, Entry[]>();
  const roots: Entry[] = [];
  for (const e of entries) {
    const span = KVM_PAGES_PER_HPAGE(e.level + 1);
    const parentKey = key(e.level + 1, Math.floor(e.gfn / span) * span);
    const parent = present.get(parentKey);
    if (parent === undefined || !isNonLeaf(tree, parent)) {
      roots.push(e);
      continue;
    }
    let list = children.get(parentKey);
    if (list === undefined) children.set(parentKey, (list = []));
    list.push(e);
  }
  const c: BuildContext = { tree, children, changed, mismatched, rows: [], rowsMax };
  const complete = emit(c, roots, 0);
  const topLevel = entries.length === 0 ? 0 : entries[0].level;
  for (const r of c.rows) r.label = (r.depth === 0 && r.level < topLevel ? '(unlinked) ' : '') + labelOf(tree, r);
  return { rows: c.rows, truncated: !complete };
}

/** The row's text, in KVM's and the module's words (kvm_mmu_page "sp gfn .. l.." header; S-EPT state). */
export function labelOf(tree: InspectorTreeName, r: InspectorRow): string {
  const range = r.count === 1 ? `gfn ${hex(r.gfnStart)}` : `gfn ${hex(r.gfnStart)}-${hex(r.gfnEnd - 1)} (${r.count}x${levelName(r.level)})`;
  const head = `${levelName(r.level)} ${range}`;
  const pfnFirst = pfnOf(tree, r.value);
  const pfnLast = pfnOf(tree, r.valueLast);
  const pfns = pfnFirst === 0 ? '' : r.count === 1 ? ` pfn ${hex(pfnFirst)}` : ` pfn ${hex(pfnFirst)}-${hex(pfnLast)}`;
  if (tree === 'sept') return `${head} ${r.removed ? 'removed' : r.kind}${pfns}`;
  if (r.removed) return `${head} removed${pfns}`;
  if (!r.leaf) return `${head} -> sp gfn ${r.gfnStart.toString(16)} l${r.level - 1} mirror${pfns}`;
  return `${head} ${r.kind}${pfns}`;
}

/** Entries the event at `seq` wrote, and those it emptied (as removed entries with their old value). */
function writesAt(db: ReadableDB, runId: number, seq: number): { changed: Map<number, Set<number>>; removed: Map<number, Entry[]> } {
  const changed = new Map<number, Set<number>>([[TREE_ID.mirror, new Set()], [TREE_ID.sept, new Set()]]);
  const removed = new Map<number, Entry[]>([[TREE_ID.mirror, []], [TREE_ID.sept, []]]);
  const e = seq >= 0 ? eventAt(db, runId, seq) : null;
  if (e === null || (e.tree !== 'mirror' && e.tree !== 'sept')) return { changed, removed };
  const t = TREE_ID[e.tree];
  changed.get(t)!.add(key(e.level, e.gfn));
  const emptied = e.new === null || isEmptyValue(t, e.new);
  if (emptied && e.old !== null && !isEmptyValue(t, e.old)) removed.get(t)!.push({ level: e.level, gfn: e.gfn, value: e.old, removed: true });
  return { changed, removed };
}

function columnsOf(list: { level: number; gfn: number; value: number }[]): EntryColumns {
  return { level: list.map((e) => e.level), gfn: list.map((e) => e.gfn), value: list.map((e) => e.value) };
}

/**
 * The inspector at `seq` (state after the writes with seq <= `seq`; -1 is the empty start):
 * both trees as merged pre-order rows, the cursor event's writes marked, disagreements marked.
 * With a gfn window only entries in [gfnStart, gfnEnd) are read (a GFN search on a big run).
 */
export function inspectorState(db: ReadableDB, runId: number, seq: number, window?: { gfnStart: number; gfnEnd: number }, rowsMax = INSPECTOR_ROWS_MAX): InspectorState {
  let mirrorCols: EntryColumns;
  let septCols: EntryColumns;
  let truncated = false;
  if (seq < 0) {
    mirrorCols = septCols = { level: [], gfn: [], value: [] };
  } else if (window === undefined) {
    const cols = stateAtColumns(db, runId, seq);
    mirrorCols = cols.mirror;
    septCols = cols.sept;
  } else {
    const r = stateRange(db, runId, { seq, gfnStart: window.gfnStart, gfnEnd: window.gfnEnd, rowsMax: rowsMax * 64, trees: ['mirror', 'sept'] });
    mirrorCols = columnsOf(r.mirror);
    septCols = columnsOf(r.sept);
    truncated = r.truncated;
  }
  const w = writesAt(db, runId, seq);
  const mirror = entriesOf(mirrorCols, TREE_ID.mirror, w.removed.get(TREE_ID.mirror)!);
  const sept = entriesOf(septCols, TREE_ID.sept, w.removed.get(TREE_ID.sept)!);
  const mismatched = findMismatches(linkedValues('mirror', mirror), linkedValues('sept', sept));
  const m = buildTreeRows('mirror', mirror, w.changed.get(TREE_ID.mirror)!, mismatched, rowsMax);
  const s = buildTreeRows('sept', sept, w.changed.get(TREE_ID.sept)!, mismatched, rowsMax);
  return { seq, mirror: m.rows, sept: s.rows, truncated: truncated || m.truncated || s.truncated, mismatchCount: mismatched.size };
}

/** Counts by (layer, name, status) over [seqFrom, seqTo): one grouped scan of the range. */
export function rangeKindCounts(db: ReadableDB, runId: number, seqFrom: number, seqTo: number): RangeKindCounts {
  const from = Math.max(0, seqFrom);
  const to = Math.max(from, seqTo);
  const rows = prepared(db, 'SELECT layer, name, status, count(*) FROM events WHERE key >= ? AND key < ? GROUP BY layer, name, status').raw(true).all(eventKey(runId, from), eventKey(runId, to)) as [number, number, number, number][];
  const strings = runStrings(db, runId);
  let events = 0;
  const out = rows.map(([layer, name, status, count]) => {
    events += count;
    return { layer: LAYERS[layer], name: strings[name], status: strings[status], count };
  });
  out.sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { seqFrom: from, seqTo: to, events, rows: out };
}

/** Status texts that mark a contention retry: -EBUSY and TDX_OPERAND_BUSY with any operand. */
export function isBusyStatus(status: string): boolean {
  return status === '-EBUSY' || status.startsWith('TDX_OPERAND_BUSY');
}

/** Checks (layer `check`) and contention retries, in seq order, at most MARKERS_MAX. */
export function runMarkers(db: ReadableDB, runId: number): { markers: RunMarker[]; truncated: boolean } {
  const strings = runStrings(db, runId);
  const busyIds: number[] = [];
  for (let i = 0; i < strings.length; i++) if (isBusyStatus(strings[i])) busyIds.push(i);
  const busyList = busyIds.length === 0 ? '-1' : busyIds.join(',');
  const rows = prepared(db, `SELECT key, thread, layer, name, status FROM events WHERE key >= ? AND key < ? AND (layer = ${LAYER_ID.check} OR status IN (${busyList})) ORDER BY key LIMIT ?`)
    .raw(true)
    .all(eventKey(runId, 0), eventKey(runId + 1, 0), MARKERS_MAX + 1) as [number, number, number, number, number][];
  const base = eventKey(runId, 0);
  const markers = rows.slice(0, MARKERS_MAX).map(([k, thread, layer, name, status]): RunMarker => ({
    seq: k - base,
    thread,
    layer: LAYERS[layer],
    kind: layer === LAYER_ID.check ? 'check' : 'busy',
    name: strings[name],
    status: strings[status],
  }));
  return { markers, truncated: rows.length > MARKERS_MAX };
}

/** seq of the first write to (tree, level, gfn) after `seq`, within `scanMax` events, else -1. */
export function nextWrite(db: ReadableDB, runId: number, seq: number, tree: Tree, level: number, gfn: number, scanMax: number): number {
  const r = prepared(db, 'SELECT min(key) AS key FROM events WHERE key > ? AND key <= ? AND tree = ? AND level = ? AND gfn = ?')
    .get(eventKey(runId, seq), eventKey(runId, seq + scanMax), TREE_ID[tree], level, gfn) as { key: number | null };
  return r.key === null ? -1 : r.key - eventKey(runId, 0);
}

/** At most this many spans are returned as open at a window's left edge. */
export const OPEN_SPANS_MAX = 64;

/**
 * Spans that begin before `seqFrom` and enclose the first event of a thread in `events` (the
 * window's events): without them a window inside a long op would show no op slice.
 */
export function openSpansAt(db: ReadableDB, runId: number, seqFrom: number, events: readonly SimEvent[]): SimEvent[] {
  const seen = new Set<number>();
  const out: SimEvent[] = [];
  for (const e of events) {
    if (seen.has(e.thread)) continue;
    seen.add(e.thread);
    let parent = e.parent;
    while (parent >= 0 && out.length < OPEN_SPANS_MAX) {
      if (parent >= seqFrom) {
        const inside = events[parent - events[0].seq];
        parent = inside === undefined ? -1 : inside.parent;
        continue;
      }
      const p = eventAt(db, runId, parent);
      if (p === null) break;
      out.push(p);
      parent = p.parent;
    }
  }
  return out;
}
