import { splitFrontMatter } from './front-matter.js';
import { plainHeading, SectionBuilder } from './sections.js';
import type { Block, ParsedDocument } from './types.js';

const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const FENCE_OPEN = /^ {0,3}(`{3,}(?!.*`)|~{3,})/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
/** Lines that start something other than a plain paragraph, so a following `---` is not a setext underline. */
const NOT_PARAGRAPH = /^ {0,3}([-*+>|]|\d+[.)]\s|#)/;

export function splitLines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
}

/**
 * Markdown into heading sections: ATX and (single-line) setext headings, fenced code blocks kept
 * whole, paragraphs split at blank lines. Line numbers are the file's, front matter included.
 */
export function parseMarkdown(file: string, text: string, fallbackTitle: string): ParsedDocument {
  const lines = splitLines(text);
  const { frontMatter, bodyStart } = splitFrontMatter(file, lines);
  const builder = new SectionBuilder();
  let paragraph: Block | undefined;
  let fence: { char: string; length: number; block: Block } | undefined;

  const flush = () => {
    if (paragraph) builder.block(paragraph);
    paragraph = undefined;
  };

  for (let i = bodyStart; i < lines.length; i++) {
    const line = lines[i]!;
    const n = i + 1;
    if (fence) {
      fence.block.lineEnd = n;
      const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
      if (close && close[1]![0] === fence.char && close[1]!.length >= fence.length) fence = undefined;
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    if (open) {
      flush();
      const block: Block = { lineStart: n, lineEnd: n, text: '', code: true, heading: false };
      fence = { char: open[1]![0]!, length: open[1]!.length, block };
      builder.block(block);
      continue;
    }
    const atx = ATX.exec(line);
    if (atx) {
      flush();
      builder.heading(atx[1]!.length, plainHeading(atx[2] ?? ''), {
        lineStart: n,
        lineEnd: n,
        text: line,
        code: false,
        heading: true,
      });
      continue;
    }
    const setext = SETEXT.exec(line);
    if (
      setext &&
      paragraph &&
      paragraph.lineStart === paragraph.lineEnd &&
      !NOT_PARAGRAPH.test(lines[paragraph.lineStart - 1]!)
    ) {
      const title = lines[paragraph.lineStart - 1]!;
      const start = paragraph.lineStart;
      paragraph = undefined;
      builder.heading(setext[1]![0] === '=' ? 1 : 2, plainHeading(title), {
        lineStart: start,
        lineEnd: n,
        text: `${title}\n${line}`,
        code: false,
        heading: true,
      });
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (paragraph) paragraph.lineEnd = n;
    else paragraph = { lineStart: n, lineEnd: n, text: '', code: false, heading: false };
  }
  flush();

  const sections = builder.done();
  for (const s of sections)
    for (const b of s.blocks) b.text = lines.slice(b.lineStart - 1, b.lineEnd).join('\n');
  const title = frontMatter.title ?? builder.titleHeading ?? fallbackTitle;
  return {
    format: 'markdown',
    title,
    frontMatter,
    sections,
    lines,
    plainText: lines.slice(bodyStart).join('\n'),
  };
}
