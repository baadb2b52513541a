// Which component each place shows: one line per place.
import type { Component } from 'svelte';
import type { PlaceId } from './lib/places.svelte.ts';
import LibraryPlace from './library/LibraryPlace.svelte';
import RunView from './run/RunView.svelte';
import ComparePlace from './compare/ComparePlace.svelte';

export const PLACE_COMPONENTS: Record<PlaceId, Component> = {
  library: LibraryPlace,
  run: RunView,
  compare: ComparePlace,
};
