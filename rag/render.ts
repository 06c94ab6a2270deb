import type { Chunk } from './types.js';

/**
 * A document's text rebuilt from its chunks, for reading a whole runbook (MCP resources). Markdown
 * and text chunks are verbatim line ranges of the file: overlaps are dropped and the lines come back
 * as written. HTML chunks are extracted text: headings are written as Markdown headings.
 */
export function documentMarkdown(chunks: Chunk[]): string {
  const ordered = [...chunks].sort((a, b) => a.ordinal - b.ordinal);
  const out: string[] = [];
  let lastLine = 0;
  let lastPath: string[] = [];
  for (const c of ordered) {
    const lines = c.text.split('\n');
    if (lines.length === c.lineEnd - c.lineStart + 1) {
      if (c.lineEnd <= lastLine) continue;
      const skip = Math.max(0, lastLine - c.lineStart + 1);
      if (out.length > 0 && c.lineStart > lastLine + 1) out.push('');
      out.push(...lines.slice(skip));
      lastLine = c.lineEnd;
      continue;
    }
    let common = 0;
    while (common < lastPath.length && lastPath[common] === c.headingPath[common]) common++;
    for (let depth = common; depth < c.headingPath.length; depth++) {
      if (out.length > 0) out.push('');
      out.push(`${'#'.repeat(Math.min(6, depth + 1))} ${c.headingPath[depth]}`);
    }
    lastPath = c.headingPath;
    // Extracted text repeats its heading as the first block; the heading was just written.
    const body = c.text.startsWith(`${c.headingPath.at(-1)}\n\n`)
      ? c.text.slice(c.headingPath.at(-1)!.length + 2)
      : c.text;
    if (body.trim() && body !== c.headingPath.at(-1)) out.push('', body);
  }
  return `${out.join('\n').trim()}\n`;
}
