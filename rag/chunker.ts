import { CJK_RUN } from './cjk.js';
import type { Block, ParsedDocument, Section } from './loaders/types.js';

export interface ChunkerOptions {
  /** Largest chunk, in estimated tokens (code blocks larger than this stay whole). */
  maxTokens?: number;
  /** Sections smaller than this are merged with a neighbour in the same top-level section. */
  minTokens?: number;
  /** Trailing paragraph repeated at the start of the next part when a long section is split. */
  overlapTokens?: number;
}

export interface DraftChunk {
  /** From the document title down. */
  headingPath: string[];
  lineStart: number;
  lineEnd: number;
  text: string;
}

export const DEFAULT_CHUNKING = { maxTokens: 400, minTokens: 30, overlapTokens: 60 } as const;

/**
 * About four characters a token, as everywhere else in Kubemate; a Chinese or Japanese character is
 * about a token of its own (a 200-character Chinese section is not 50 tokens), so it counts as one.
 */
export const tokens = (text: string) => {
  const cjk = text.match(CJK_RUN)?.reduce((n, run) => n + run.length, 0) ?? 0;
  return Math.ceil((text.length - cjk) / 4) + cjk;
};

interface Part {
  headings: string[];
  group: number;
  blocks: Block[];
}

const blockTokens = (blocks: Block[]) => blocks.reduce((n, b) => n + tokens(b.text) + 1, 0);

function commonPrefix(a: string[], b: string[]): string[] {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

/** A paragraph longer than the cap is cut at line boundaries (a single huge line stays whole). */
function splitBlock(block: Block, max: number, lines: string[] | undefined): Block[] {
  if (block.code || block.heading || tokens(block.text) <= max) return [block];
  const textLines = block.text.split('\n');
  // Without source lines (HTML), a long paragraph is cut at sentence ends instead.
  if (!lines || textLines.length === 1) {
    if (lines) return [block];
    const sentences = block.text.match(/[^.!?]+(?:[.!?]+\s*|$)/g) ?? [block.text];
    const out: Block[] = [];
    let text = '';
    for (const s of sentences) {
      if (text && tokens(text + s) > max) {
        out.push({ ...block, text: text.trim() });
        text = '';
      }
      text += s;
    }
    if (text.trim()) out.push({ ...block, text: text.trim() });
    return out;
  }
  const out: Block[] = [];
  let start = block.lineStart;
  let size = 0;
  for (let n = block.lineStart; n <= block.lineEnd; n++) {
    const t = tokens(lines[n - 1]!) + 1;
    if (size > 0 && size + t > max) {
      out.push({
        ...block,
        lineStart: start,
        lineEnd: n - 1,
        text: lines.slice(start - 1, n - 1).join('\n'),
      });
      start = n;
      size = 0;
    }
    size += t;
  }
  out.push({
    ...block,
    lineStart: start,
    lineEnd: block.lineEnd,
    text: lines.slice(start - 1, block.lineEnd).join('\n'),
  });
  return out;
}

/** Cuts one section into parts under the cap at block boundaries, repeating a short trailing paragraph. */
function splitSection(section: Section, opts: Required<ChunkerOptions>, lines: string[] | undefined): Part[] {
  const blocks = section.blocks.flatMap((b) => splitBlock(b, opts.maxTokens, lines));
  const parts: Part[] = [];
  let current: Block[] = [];
  for (const block of blocks) {
    const onlyHeadings = current.every((b) => b.heading);
    if (current.length > 0 && !onlyHeadings && blockTokens(current) + tokens(block.text) > opts.maxTokens) {
      parts.push({ headings: section.headings, group: section.group, blocks: current });
      const last = current.at(-1)!;
      current = !last.code && !last.heading && tokens(last.text) <= opts.overlapTokens ? [last] : [];
    }
    current.push(block);
  }
  if (current.length > 0) parts.push({ headings: section.headings, group: section.group, blocks: current });
  return parts;
}

/**
 * Heading-aware chunking. Each section (heading plus its text up to the next heading) becomes one
 * chunk, or several when it is long (split between paragraphs, with a small overlap; code fences
 * are never cut). A heading with no text of its own joins the section that follows it; tiny
 * sections join a neighbour, but never across two top-level (H2) sections.
 */
export function chunkDocument(doc: ParsedDocument, options: ChunkerOptions = {}): DraftChunk[] {
  const opts = { ...DEFAULT_CHUNKING, ...options };
  // A heading with no text of its own ("## Causes" right above "### …") joins the next section.
  const source = [...doc.sections];
  const sections: Section[] = [];
  for (let i = 0; i < source.length; i++) {
    const s = source[i]!;
    const next = source[i + 1];
    // The title heading joins whatever follows it; other headings only their own subsections.
    if (next && s.blocks.every((b) => b.heading) && (next.group === s.group || s.headings.length === 0)) {
      source[i + 1] = { ...next, blocks: [...s.blocks, ...next.blocks] };
      continue;
    }
    sections.push(s);
  }

  const parts = sections.flatMap((s) => splitSection(s, opts, doc.lines));
  const merged: Part[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const size = blockTokens(part.blocks);
    if (size < opts.minTokens) {
      const prev = merged.at(-1);
      if (prev && prev.group === part.group && blockTokens(prev.blocks) + size <= opts.maxTokens) {
        // A split part starts with its predecessor's last paragraph: do not repeat it.
        prev.blocks.push(...part.blocks.filter((b) => !prev.blocks.includes(b)));
        prev.headings = commonPrefix(prev.headings, part.headings);
        continue;
      }
      const next = parts[i + 1];
      if (next && next.group === part.group && blockTokens(next.blocks) + size <= opts.maxTokens) {
        parts[i + 1] = {
          ...next,
          headings: commonPrefix(part.headings, next.headings),
          blocks: [...part.blocks, ...next.blocks],
        };
        continue;
      }
    }
    merged.push({ ...part, blocks: [...part.blocks] });
  }

  // A chunk of nothing but headings (an empty section) says nothing a search could use.
  const useful = merged.filter((p) => !p.blocks.every((b) => b.heading));
  return (useful.length > 0 ? useful : merged).map((part) => {
    const lineStart = Math.min(...part.blocks.map((b) => b.lineStart));
    const lineEnd = Math.max(...part.blocks.map((b) => b.lineEnd));
    const text = doc.lines
      ? doc.lines.slice(lineStart - 1, lineEnd).join('\n')
      : part.blocks.map((b) => b.text).join('\n\n');
    return { headingPath: [doc.title, ...part.headings], lineStart, lineEnd, text };
  });
}
