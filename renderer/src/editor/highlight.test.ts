import { describe, expect, it } from 'vitest';
import { escapeHtml, highlightJson, highlightLine } from './highlight.ts';

describe('highlightLine', () => {
  it.each([
    ['member and string', '  "op": "fault",', '  <span class="k">&#34;op&#34;</span><span class="p">:</span> <span class="s">&#34;fault&#34;</span><span class="p">,</span>'],
    ['number and literal', '"seed": 1, "private": true', '<span class="k">&#34;seed&#34;</span><span class="p">:</span> <span class="n">1</span><span class="p">,</span> <span class="k">&#34;private&#34;</span><span class="p">:</span> <span class="l">true</span>'],
    ['escaped quote stays in the string', '"a\\"b"', '<span class="s">&#34;a\\&#34;b&#34;</span>'],
    ['markup is escaped, never interpreted', '"<img src=x onerror=alert(1)>"', '<span class="s">&#34;&#60;img src=x onerror=alert(1)&#62;&#34;</span>'],
    ['an unterminated string is shown as typed', '"gfn', '<span class="s">&#34;gfn</span>'],
    ['stray text is kept', 'oops: nul', 'oops: nul'],
  ])('%s', (_name, line, want) => {
    expect(highlightLine(line)).toBe(want);
  });
});

describe('highlightJson', () => {
  it('marks the error lines with their problem, escaped', () => {
    const html = highlightJson('{\n  "seed": -1\n}', new Map([[2, '$.seed: must be >= 0 <here>']]));
    expect(html.split('\n')[1]).toBe(`<span class="line err" title="${escapeHtml('$.seed: must be >= 0 <here>')}">  <span class="k">&#34;seed&#34;</span><span class="p">:</span> <span class="n">-1</span></span>`);
    expect(html.split('\n')).toHaveLength(3);
  });

  it('leaves a large text uncoloured but escaped', () => {
    expect(highlightJson('"<b>"', new Map(), 2)).toBe('<span class="line">&#34;&#60;b&#62;&#34;</span>');
  });
});
