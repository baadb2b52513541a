// Light and dark themes: the choice lives on <html data-theme>, the colours in app.css as CSS
// variables, and the user's toggle is remembered in localStorage. With nothing saved, the
// system preference decides.
export type ThemeName = 'light' | 'dark';

const STORAGE_KEY = 'septwb.theme';

export interface ThemeHost {
  storage: Pick<Storage, 'getItem' | 'setItem'> | null;
  prefersDark: boolean;
  /** Where data-theme is written; null in tests without a document. */
  root: HTMLElement | null;
}

export class ThemeState {
  #name: ThemeName = $state('light');
  readonly #host: ThemeHost;

  constructor(host: ThemeHost) {
    this.#host = host;
    const saved = host.storage?.getItem(STORAGE_KEY);
    this.#name = saved === 'light' || saved === 'dark' ? saved : host.prefersDark ? 'dark' : 'light';
    this.#apply();
  }

  get name(): ThemeName {
    return this.#name;
  }

  toggle = (): void => {
    this.#name = this.#name === 'light' ? 'dark' : 'light';
    this.#host.storage?.setItem(STORAGE_KEY, this.#name);
    this.#apply();
  };

  #apply(): void {
    if (this.#host.root) this.#host.root.dataset.theme = this.#name;
  }
}

export function browserThemeHost(): ThemeHost {
  let storage: ThemeHost['storage'] = null;
  try {
    storage = window.localStorage;
  } catch {
    storage = null; // storage can be disabled; the theme still toggles for this session
  }
  return { storage, prefersDark: window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false, root: document.documentElement };
}
