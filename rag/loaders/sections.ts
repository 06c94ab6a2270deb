import type { Block, Section } from './types.js';

/** Strips inline Markdown from heading text: `code`, **bold**, _em_, [links](url). */
export function plainHeading(text: string): string {
  return text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`+([^`]*)`+/g, '$1')
    .replace(/(\*\*|__)(.*?)\1/g, '$2')
    .replace(/(^|\W)[*_]([^*_]+)[*_](?=\W|$)/g, '$1$2')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Builds sections from a stream of headings and blocks, whatever the source format. The first H1
 * seen before any other heading is the document's title heading; every other heading nests by level.
 */
export class SectionBuilder {
  readonly sections: Section[] = [];
  private stack: { level: number; text: string }[] = [];
  private current: Section;
  private groups = 0;
  private sawHeading = false;
  /** Text of the title heading (the first H1, when it comes first). */
  titleHeading: string | undefined;

  constructor() {
    this.current = { headings: [], group: 0, blocks: [] };
    this.sections.push(this.current);
  }

  heading(level: number, text: string, block: Block): void {
    const isTitle = level === 1 && !this.sawHeading;
    this.sawHeading = true;
    if (isTitle) {
      this.titleHeading = text;
      this.stack = [];
      this.groups++;
    } else {
      while (this.stack.length > 0 && this.stack.at(-1)!.level >= level) this.stack.pop();
      // A new outermost or H2 heading starts a new group: chunks never merge across it.
      if (this.stack.length === 0 || level <= 2) this.groups++;
      this.stack.push({ level, text });
    }
    this.current = { headings: this.stack.map((h) => h.text), group: this.groups, blocks: [block] };
    this.sections.push(this.current);
  }

  block(block: Block): void {
    this.current.blocks.push(block);
  }

  /** The last block added to the current section, for formats that revise it (setext headings). */
  popLastBlock(): Block | undefined {
    return this.current.blocks.pop();
  }

  lastBlock(): Block | undefined {
    return this.current.blocks.at(-1);
  }

  done(): Section[] {
    return this.sections.filter((s) => s.blocks.length > 0);
  }
}
