import { EMPTY_FRONT_MATTER } from './front-matter.js';
import { splitLines } from './markdown.js';
import { SectionBuilder } from './sections.js';
import type { ParsedDocument } from './types.js';

/** Plain text has no headings: one section of paragraphs (split at blank lines) under the file's name. */
export function parseText(text: string, fallbackTitle: string): ParsedDocument {
  const lines = splitLines(text);
  const builder = new SectionBuilder();
  let start = -1;
  const flush = (end: number) => {
    if (start === -1) return;
    builder.block({
      lineStart: start,
      lineEnd: end,
      text: lines.slice(start - 1, end).join('\n'),
      code: false,
      heading: false,
    });
    start = -1;
  };
  lines.forEach((line, i) => {
    if (line.trim() === '') flush(i);
    else if (start === -1) start = i + 1;
  });
  flush(lines.length);
  return {
    format: 'text',
    title: fallbackTitle,
    frontMatter: EMPTY_FRONT_MATTER,
    sections: builder.done(),
    lines,
    plainText: text,
  };
}
