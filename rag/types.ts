/**
 * The runbook knowledge base's shared types. Both stores (embedded SQLite, Milvus) implement
 * RunbookStore; ingestion and retrieval only ever talk to that interface.
 */

/** Where a passage came from, so every answer can cite it. */
export interface Citation {
  /** Path relative to the ingested root, with forward slashes: `network/dns.md`. */
  source: string;
  /** The runbook's title (front matter `title`, else the first H1, else the file name). */
  title: string;
  /** Heading path from the document title down: ["DNS failures", "Checks", "CoreDNS pods"]. */
  headingPath: string[];
  /** 1-based inclusive line range in the source file. */
  lineStart: number;
  lineEnd: number;
}

/** Metadata a document carries into every one of its chunks (used for filters). */
export interface ChunkMetadata {
  tags: string[];
  /** Alert names the runbook covers (front matter `alerts`, plus alert names found in the text). */
  alerts: string[];
  services: string[];
  namespaces: string[];
  /** Team partition, where the store is configured with one. */
  team?: string;
}

export interface Chunk extends Citation, ChunkMetadata {
  /** Stable id: `${source}#${ordinal}`. */
  id: string;
  /** Position of the chunk in its document, from 0. */
  ordinal: number;
  text: string;
}

/** A whole document as ingested: its content hash drives incremental re-ingest. */
export interface DocumentRecord {
  source: string;
  title: string;
  /** SHA-256 of the file bytes. */
  hash: string;
  /** The embedding model the document's vectors came from, or null when keyword-only. */
  embeddingModel: string | null;
  chunkCount: number;
  ingestedAt: string;
}

export interface SearchFilter {
  /** Chunks carrying every one of these tags. */
  tags?: string[];
  /** Chunks whose runbook covers this alert name (case-insensitive). */
  alert?: string;
  team?: string;
  /** Only these sources. */
  sources?: string[];
}

export interface ScoredChunk {
  chunk: Chunk;
  /** Higher is better; comparable only within one result list. */
  score: number;
}

export interface RunbookStore {
  readonly kind: 'embedded' | 'milvus';
  /**
   * Prepares the store. `dimension` is the embedding size, or null when no embedding model is
   * available (keyword-only). A store created with one dimension refuses another with a clear error
   * that says to re-ingest.
   */
  open(dimension: number | null): Promise<void>;
  /** Replaces all chunks of one document atomically (a failed write leaves the old version). */
  putDocument(doc: DocumentRecord, chunks: Chunk[], vectors: Float32Array[] | null): Promise<void>;
  removeDocument(source: string): Promise<void>;
  listDocuments(): Promise<DocumentRecord[]>;
  /** The chunks of one document in order (for MCP resources and citations). */
  getChunks(source: string): Promise<Chunk[]>;
  /** BM25 over chunk text, title and heading path. */
  keywordSearch(query: string, limit: number, filter?: SearchFilter): Promise<ScoredChunk[]>;
  /** Nearest chunks by cosine similarity; [] when the store holds no vectors. */
  vectorSearch(vector: Float32Array, limit: number, filter?: SearchFilter): Promise<ScoredChunk[]>;
  /** Number of chunks stored. */
  count(): Promise<number>;
  /**
   * Makes everything written so far durable and indexed, called once at the end of an ingest (Milvus
   * seals its growing segments, so searches use the index instead of scanning unsealed rows).
   */
  flush?(): Promise<void>;
  close(): Promise<void>;
}

/** One passage of an answer, with what to cite. */
export interface Passage {
  citation: Citation;
  text: string;
  /** Fused score (reciprocal rank fusion in hybrid mode); higher is better. */
  score: number;
  chunkId: string;
}

export interface SearchOptions {
  /** Passages to return (default 5). */
  limit?: number;
  filter?: SearchFilter;
  /** Force a mode; by default hybrid when an embedding model answers, else keyword. */
  mode?: 'hybrid' | 'keyword' | 'dense';
}

export interface SearchResult {
  mode: 'hybrid' | 'keyword' | 'dense';
  /** Set when retrieval was degraded, e.g. "embedding model unreachable: keyword retrieval only". */
  notice?: string;
  passages: Passage[];
}

/** What the agent, the tools and the bots use to search runbooks. */
export interface RunbookSearcher {
  search(query: string, options?: SearchOptions): Promise<SearchResult>;
}
