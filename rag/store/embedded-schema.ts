/**
 * The embedded store's tables. Labels (tags, alert names) are rows so filters use an index. The
 * keyword index is one FTS5 table per language partition (`chunks_fts` for passages in English and
 * other space-separated scripts, `chunks_fts_cjk` for Chinese and Japanese ones), so each language's
 * BM25 statistics (document frequencies, average length) are its own.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
  source TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  hash TEXT NOT NULL,
  embedding_model TEXT,
  chunk_count INTEGER NOT NULL,
  ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  title TEXT NOT NULL,
  heading_path TEXT NOT NULL,
  line_start INTEGER NOT NULL,
  line_end INTEGER NOT NULL,
  text TEXT NOT NULL,
  tags TEXT NOT NULL,
  alerts TEXT NOT NULL,
  services TEXT NOT NULL,
  namespaces TEXT NOT NULL,
  team TEXT
);
CREATE INDEX IF NOT EXISTS chunks_by_source ON chunks (source, ordinal);
CREATE INDEX IF NOT EXISTS chunks_by_team ON chunks (team);
CREATE TABLE IF NOT EXISTS chunk_labels (
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  chunk INTEGER NOT NULL,
  PRIMARY KEY (kind, value, chunk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunk_labels_by_chunk ON chunk_labels (chunk);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5 (
  title, headings, labels, body,
  content = '', contentless_delete = 1,
  tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts_cjk USING fts5 (
  title, headings, labels, body,
  content = '', contentless_delete = 1,
  tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS vectors (chunk INTEGER PRIMARY KEY, code BLOB NOT NULL, vec BLOB NOT NULL);
`;

export class StoreDimensionError extends Error {
  constructor(
    message: string,
    readonly stored: number,
    readonly given: number,
  ) {
    super(message);
    this.name = 'StoreDimensionError';
  }
}

export function dimensionMismatch(path: string, stored: number, given: number): StoreDimensionError {
  return new StoreDimensionError(
    `runbook store ${path} holds ${stored}-dimension vectors but the embedding model gives ${given}: ` +
      're-ingest with the new model (remove the store file, or use the model it was built with)',
    stored,
    given,
  );
}
