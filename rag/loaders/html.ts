import { type HTMLElement, type Node, NodeType, parse } from 'node-html-parser';
import { EMPTY_FRONT_MATTER } from './front-matter.js';
import { SectionBuilder } from './sections.js';
import type { ParsedDocument } from './types.js';

const DROPPED = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'head',
  'iframe',
  'object',
  'canvas',
]);
/** Elements whose content is a block of its own; everything else is inline text. */
const BLOCK = new Set([
  'p',
  'li',
  'dt',
  'dd',
  'blockquote',
  'tr',
  'caption',
  'figcaption',
  'div',
  'section',
  'article',
  'main',
  'aside',
  'header',
  'footer',
  'nav',
  'ul',
  'ol',
  'dl',
  'table',
  'thead',
  'tbody',
  'details',
  'summary',
  'form',
  'fieldset',
  'address',
  'body',
  'html',
  'br',
  'hr',
]);

/** 1-based line of a character offset, by binary search over line start offsets. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * HTML into heading sections: h1–h6 become the heading path, block elements become paragraphs,
 * <pre> stays whole as code, and scripts, styles and other non-content elements are dropped.
 * Line ranges point into the HTML source.
 */
export function parseHtml(text: string, fallbackTitle: string): ParsedDocument {
  const root = parse(text, { comment: false, blockTextElements: { script: true, style: true, pre: true } });
  const lineOf = lineIndex(text);
  const builder = new SectionBuilder();
  const plain: string[] = [];
  let buffer: string[] = [];
  let span: [number, number] | undefined;

  const flush = () => {
    const joined = squash(buffer.join(''));
    if (joined && span) {
      builder.block({
        lineStart: lineOf(span[0]),
        lineEnd: lineOf(Math.max(span[0], span[1] - 1)),
        text: joined,
        code: false,
        heading: false,
      });
      plain.push(joined);
    }
    buffer = [];
    span = undefined;
  };
  const extend = (range: readonly [number, number]) => {
    span = span ? [Math.min(span[0], range[0]), Math.max(span[1], range[1])] : [range[0], range[1]];
  };

  const walk = (node: Node) => {
    if (node.nodeType === NodeType.TEXT_NODE) {
      if (node.text.trim()) extend(node.range);
      buffer.push(node.text);
      return;
    }
    if (node.nodeType !== NodeType.ELEMENT_NODE) return;
    const el = node as HTMLElement;
    const tag = el.rawTagName?.toLowerCase() ?? '';
    if (DROPPED.has(tag)) return;
    const level = /^h([1-6])$/.exec(tag);
    if (level) {
      flush();
      const heading = squash(el.text);
      if (!heading) return;
      const block = {
        lineStart: lineOf(el.range[0]),
        lineEnd: lineOf(Math.max(el.range[0], el.range[1] - 1)),
        text: heading,
        code: false,
        heading: true,
      };
      builder.heading(Number(level[1]), heading, block);
      plain.push(heading);
      return;
    }
    if (tag === 'pre') {
      flush();
      const code = el.text.replace(/^\n/, '').replace(/\s+$/, '');
      if (code) {
        builder.block({
          lineStart: lineOf(el.range[0]),
          lineEnd: lineOf(Math.max(el.range[0], el.range[1] - 1)),
          text: code,
          code: true,
          heading: false,
        });
        plain.push(code);
      }
      return;
    }
    const isBlock = BLOCK.has(tag) || tag === '';
    if (isBlock) flush();
    if (tag === 'td' || tag === 'th') buffer.push(' ');
    for (const child of el.childNodes) walk(child);
    if (tag === 'td' || tag === 'th') buffer.push(' |');
    if (isBlock) flush();
  };
  walk(root);
  flush();

  const htmlTitle = squash(root.querySelector('title')?.text ?? '');
  return {
    format: 'html',
    title: builder.titleHeading ?? (htmlTitle || fallbackTitle),
    frontMatter: EMPTY_FRONT_MATTER,
    sections: builder.done(),
    plainText: plain.join('\n\n'),
  };
}
