// A small JSON highlighter for the scenario editor: one line at a time (JSON strings cannot
// span lines), into HTML with classes `k` (member name), `s` (string), `n` (number), `l`
// (true/false/null) and `p` (punctuation). Everything else is escaped text, so malformed input
// still shows exactly as typed. Pure; the editor draws it under a transparent textarea.

const TOKEN = /("(?:[^"\\]|\\.)*"?)(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b|([{}[\],])/g;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One line of JSON as highlighted HTML. */
export function highlightLine(line: string): string {
  let out = '';
  let last = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(line); m !== null; m = TOKEN.exec(line)) {
    out += escapeHtml(line.slice(last, m.index));
    if (m[1] !== undefined) {
      out += `<span class="${m[2] !== undefined ? 'k' : 's'}">${escapeHtml(m[1])}</span>`;
      if (m[2] !== undefined) out += `<span class="p">${escapeHtml(m[2])}</span>`;
    } else if (m[3] !== undefined) out += `<span class="n">${m[3]}</span>`;
    else if (m[4] !== undefined) out += `<span class="l">${m[4]}</span>`;
    else out += `<span class="p">${escapeHtml(m[5])}</span>`;
    last = m.index + m[0].length;
  }
  return out + escapeHtml(line.slice(last));
}

/**
 * The whole text as HTML, one `<span class="line">` per line; lines in `errorLines` (1-based)
 * get the class `err` and a title with their problems. Above `plainAbove` characters the text
 * is escaped without colours (highlighting is cheap, but not free on a 10 MB file).
 */
export function highlightJson(text: string, errorLines: Map<number, string>, plainAbove = 400_000): string {
  const lines = text.split('\n');
  const plain = text.length > plainAbove;
  return lines
    .map((line, i) => {
      const problem = errorLines.get(i + 1);
      const body = plain ? escapeHtml(line) : highlightLine(line);
      const attrs = problem === undefined ? 'class="line"' : `class="line err" title="${escapeHtml(problem)}"`;
      return `<span ${attrs}>${body}</span>`;
    })
    .join('\n');
}
