// Which component each place shows. The Run and Compare views are placeholders until their
// owners add them: replace the one line of that place with the new component.
import type { Component } from 'svelte';
import type { PlaceId } from './lib/places.svelte.ts';
import LibraryPlace from './places/LibraryPlace.svelte';
import RunPlace from './places/RunPlace.svelte';
import ComparePlace from './places/ComparePlace.svelte';

export const PLACE_COMPONENTS: Record<PlaceId, Component> = {
  library: LibraryPlace,
  run: RunPlace,
  compare: ComparePlace,
};
