/** What every loader produces: a document cut into heading sections of blocks, with source lines. */

export interface FrontMatter {
  title?: string;
  tags: string[];
  alerts: string[];
  services: string[];
  namespaces: string[];
}

/** A paragraph, list, table, heading or fenced code block: the unit chunks are built from. */
export interface Block {
  /** 1-based inclusive lines in the source file. */
  lineStart: number;
  lineEnd: number;
  text: string;
  /** A fenced code block (or <pre>): never split. */
  code: boolean;
  heading: boolean;
}

export interface Section {
  /** Headings below the document title, outermost first (the title is added by the chunker). */
  headings: string[];
  /**
   * Identifies the top-level (H2 or outermost) section this one belongs to. Chunks never merge
   * across groups.
   */
  group: number;
  blocks: Block[];
}

export interface ParsedDocument {
  format: 'markdown' | 'text' | 'html';
  /** Front matter title, else the first H1 (or HTML <title>), else the file name. */
  title: string;
  frontMatter: FrontMatter;
  sections: Section[];
  /**
   * The source lines, for formats whose chunks are verbatim line ranges (Markdown, text). HTML
   * chunks are the extracted text of their blocks instead.
   */
  lines?: string[];
  /** The document's readable text, for metadata heuristics. */
  plainText: string;
}

export class LoaderError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'LoaderError';
  }
}
