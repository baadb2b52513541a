// One benchmark figure, as `npm run bench` prints it (bench.ts) and `--json` emits it.

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The target from PRODUCT.md section 5 in `unit`, or null where the figure has no bar. */
  bar: number | null;
  /** Whether this run reached the bar (null without a bar). */
  meets: boolean | null;
  /** The bare library's figure measured in the same run, where one exists. */
  baseline: number | null;
}

export type FigureProvider = () => Promise<Figure[]>;

/** Builds a Figure; `better` says which side of the bar passes. */
export function figure(name: string, value: number, unit: string, opts: { bar?: number; better?: 'higher' | 'lower'; baseline?: number } = {}): Figure {
  const bar = opts.bar ?? null;
  const meets = bar === null ? null : (opts.better ?? 'higher') === 'higher' ? value >= bar : value <= bar;
  return { name, value, unit, bar, meets, baseline: opts.baseline ?? null };
}

