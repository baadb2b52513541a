// Output that depends on where it goes (cli/cli internal/tableprinter): on a terminal, a title
// line, UPPERCASE headers and aligned columns; piped, tab-separated rows with no decoration, so
// `cut -f2` works; with --json, the data objects themselves (printJson).
import type { IOStreams } from './io.ts';

export class TablePrinter {
  readonly #io: IOStreams;
  readonly #title: string;
  readonly #headers: string[];
  readonly #rows: string[][] = [];

  constructor(io: IOStreams, title: string, headers: string[]) {
    this.#io = io;
    this.#title = title;
    this.#headers = headers;
  }

  addRow(cells: readonly (string | number | boolean)[]): void {
    this.#rows.push(cells.map((c) => String(c).replace(/[\t\r\n]+/g, ' ')));
  }

  render(): void {
    if (!this.#io.isTTY) {
      for (const row of this.#rows) this.#io.out.write(`${row.join('\t')}\n`);
      return;
    }
    const headers = this.#headers.map((h) => h.toUpperCase());
    const widths = headers.map((h, i) => Math.max(h.length, ...this.#rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    this.#io.out.write(`${this.#title}\n\n`);
    this.#io.out.write(`${line(headers)}\n`);
    for (const row of this.#rows) this.#io.out.write(`${line(row)}\n`);
  }
}

/** `--json`: the data, pretty on a terminal, one line when piped. */
export function printJson(io: IOStreams, data: unknown): void {
  io.out.write(`${JSON.stringify(data, null, io.isTTY ? 2 : undefined)}\n`);
}
