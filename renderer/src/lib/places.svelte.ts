// The three places of the workbench (PRODUCT.md section 4) and which one is open. The place
// is kept in the URL hash (#/library, #/run, #/compare) so reload and back/forward keep it.
export const PLACE_IDS = ['library', 'run', 'compare'] as const;
export type PlaceId = (typeof PLACE_IDS)[number];

export const PLACE_LABELS: Record<PlaceId, string> = { library: 'Library', run: 'Run', compare: 'Compare' };

export function placeFromHash(hash: string): PlaceId {
  const id = hash.replace(/^#\/?/, '').split('/')[0];
  return (PLACE_IDS as readonly string[]).includes(id) ? (id as PlaceId) : 'library';
}

export class PlacesState {
  current: PlaceId = $state('library');

  constructor(hash: string) {
    this.current = placeFromHash(hash);
  }

  open = (id: PlaceId): void => {
    this.current = id;
  };

  /** Moves by `delta` places, wrapping (arrow keys on the tab list). */
  step = (delta: number): PlaceId => {
    const index = PLACE_IDS.indexOf(this.current);
    const next = PLACE_IDS[(index + delta + PLACE_IDS.length) % PLACE_IDS.length];
    this.current = next;
    return next;
  };
}
