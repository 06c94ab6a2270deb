import { basename, extname } from 'node:path';
import { parseHtml } from './html.js';
import { parseMarkdown } from './markdown.js';
import { parseText } from './text.js';
import { LoaderError, type ParsedDocument } from './types.js';

export { LoaderError, type ParsedDocument } from './types.js';

/** File extensions ingestion reads. PDF is left out on purpose (see rag/README.md). */
export const SUPPORTED_EXTENSIONS = ['.md', '.markdown', '.txt', '.html', '.htm'] as const;

export function isSupported(path: string): boolean {
  return (SUPPORTED_EXTENSIONS as readonly string[]).includes(extname(path).toLowerCase());
}

/** Parses one file's bytes by its extension. `file` names it in errors. */
export function loadDocument(file: string, bytes: Buffer): ParsedDocument {
  const ext = extname(file).toLowerCase();
  const name = basename(file, extname(file));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new LoaderError(file, 'not valid UTF-8 text');
  }
  if (text.includes('\u0000')) throw new LoaderError(file, 'looks binary (contains NUL bytes)');
  switch (ext) {
    case '.md':
    case '.markdown':
      return parseMarkdown(file, text, name);
    case '.txt':
      return parseText(text, name);
    case '.html':
    case '.htm':
      return parseHtml(text, name);
    default:
      throw new LoaderError(file, `unsupported file type ${ext || '(none)'}`);
  }
}
