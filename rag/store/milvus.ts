// RunbookStore on Milvus (or Zilliz Cloud, or milvus-lite's server) through @zilliz/milvus2-sdk-node.
//
// Two collections (milvus-schema.ts): `<collection>` for chunks, with BM25 inside Milvus over title,
// headings, labels and text (analysed here as the embedded store does, see milvus-analyzer.ts) and
// COSINE dense vectors when opened with a dimension; `<collection>_docs` for document records. A store
// configured with a team reads and writes only that team's partition; one without uses `_default`.
//
// Milvus has no transactions, so putDocument orders its writes to never lose a document: it upserts
// the new chunks over the old ones (same primary keys), then deletes the old chunks that no longer
// exist, and writes the document record last. A failure part way leaves the old record, so the next
// incremental ingest sees a stale hash and writes the document again; the document never has zero
// chunks in between. Both collections use Strong consistency, so a write is visible to the next read.
import { createHash } from 'node:crypto';
import type { Chunk, DocumentRecord, RunbookStore, ScoredChunk, SearchFilter } from '../types.js';
import { queryTermsText } from './milvus-analyzer.js';
import { and, chunkFilter, list, MATCHES_NOTHING, quote } from './milvus-expr.js';
import { hitsOf, MilvusConnection, MilvusStoreError } from './milvus-rpc.js';
import {
  CHUNK_OUTPUT,
  chunkRow,
  DOCUMENT_OUTPUT,
  documentRow,
  rowToChunk,
  rowToDocument,
} from './milvus-schema.js';
import { dropAll, type Layout, prepare } from './milvus-setup.js';

export { MilvusStoreError, type MilvusStoreErrorCode } from './milvus-rpc.js';

export interface MilvusStoreOptions {
  /** `host:port`, or an `http(s)://` URL (Zilliz Cloud endpoints are https). */
  address: string;
  token?: string;
  username?: string;
  password?: string;
  database?: string;
  /** Chunk collection name (default `kubemate_runbooks`); documents go to `<collection>_docs`. */
  collection?: string;
  /** Partition per team: this store then reads and writes only the team's partition. */
  team?: string;
  tls?: { rootCertPath?: string; certChainPath?: string; privateKeyPath?: string; serverName?: string };
  /** Deadline for each call to Milvus (default 15 s); an unreachable server fails within it. */
  timeoutMs?: number;
}

const DEFAULT_COLLECTION = 'kubemate_runbooks';
const DEFAULT_TIMEOUT_MS = 15_000;
/** Milvus's cap on limit (and offset + limit) for one search or query. */
const MAX_WINDOW = 16_384;
/** Rows per upsert: keeps each request far below gRPC's message limit for long chunks. */
const WRITE_BATCH = 256;

export class MilvusStore implements RunbookStore {
  readonly kind = 'milvus' as const;
  private readonly db: MilvusConnection;
  private readonly layout: Layout;
  /** The chunk collection's vector dimension (null: keyword-only); set by open(). */
  private dimension: number | null = null;
  private opened = false;
  /** milvus-lite cannot take concurrent writes to one collection, so this store's writes queue up. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: MilvusStoreOptions) {
    const chunks = options.collection ?? DEFAULT_COLLECTION;
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,199}$/.test(chunks)) {
      throw new MilvusStoreError(
        'invalid_input',
        `invalid Milvus collection name '${chunks}': use letters, digits and underscores (max 200)`,
      );
    }
    const partition = options.team ? teamPartition(options.team) : '_default';
    this.layout = { chunks, docs: `${chunks}_docs`, partition };
    this.db = new MilvusConnection({ ...options, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  }

  async open(dimension: number | null): Promise<void> {
    if (dimension !== null && !(Number.isInteger(dimension) && dimension > 0)) {
      throw new MilvusStoreError(
        'invalid_input',
        `embedding dimension must be a positive integer, got ${dimension}`,
      );
    }
    await this.db.checkHealth();
    this.dimension = await prepare(this.db, this.layout, dimension);
    this.opened = true;
  }

  async putDocument(doc: DocumentRecord, chunks: Chunk[], vectors: Float32Array[] | null): Promise<void> {
    this.assertOpen();
    this.checkWrite(doc, chunks, vectors);
    const team = this.options.team ?? '';
    const rows = chunks.map((c, i) =>
      chunkRow(c, this.layout.partition, this.options.team ?? c.team ?? '', vectors?.[i] ?? null),
    );
    const docRow = documentRow(doc, this.layout.partition, team);
    return this.write(async () => {
      for (let i = 0; i < rows.length; i += WRITE_BATCH) {
        const data = rows.slice(i, i + WRITE_BATCH);
        await this.db.call(`upsert chunks of ${doc.source}`, (c) =>
          c.upsert({ collection_name: this.layout.chunks, partition_name: this.layout.partition, data }),
        );
      }
      const kept = rows.length ? [`pk not in ${list(rows.map((r) => r.pk))}`] : [];
      const stale = this.inPartition(`source == ${quote(doc.source)}`, ...kept);
      await this.db.call(`delete old chunks of ${doc.source}`, (c) =>
        c.delete({
          collection_name: this.layout.chunks,
          partition_name: this.layout.partition,
          filter: stale,
        }),
      );
      await this.db.call(`write document ${doc.source}`, (c) =>
        c.upsert({
          collection_name: this.layout.docs,
          partition_name: this.layout.partition,
          data: [docRow],
        }),
      );
    });
  }

  async removeDocument(source: string): Promise<void> {
    this.assertOpen();
    const filter = this.inPartition(`source == ${quote(source)}`);
    // Chunks first: if that fails the record stays, and a later ingest or remove finishes the job.
    return this.write(async () => {
      await this.db.call(`delete chunks of ${source}`, (c) =>
        c.delete({ collection_name: this.layout.chunks, partition_name: this.layout.partition, filter }),
      );
      await this.db.call(`delete document ${source}`, (c) =>
        c.delete({ collection_name: this.layout.docs, partition_name: this.layout.partition, filter }),
      );
    });
  }

  async listDocuments(): Promise<DocumentRecord[]> {
    this.assertOpen();
    const rows = await this.queryAll(this.layout.docs, DOCUMENT_OUTPUT);
    return rows.map(rowToDocument).sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  }

  async getChunks(source: string): Promise<Chunk[]> {
    this.assertOpen();
    // putDocument refuses more than MAX_WINDOW chunks per document, so one query holds them all.
    const res = await this.db.call(`read chunks of ${source}`, (c) =>
      c.query({
        collection_name: this.layout.chunks,
        partition_names: [this.layout.partition],
        filter: this.inPartition(`source == ${quote(source)}`),
        output_fields: CHUNK_OUTPUT,
        limit: MAX_WINDOW,
      }),
    );
    return res.data.map(rowToChunk).sort((a, b) => a.ordinal - b.ordinal);
  }

  async keywordSearch(query: string, limit: number, filter?: SearchFilter): Promise<ScoredChunk[]> {
    this.assertOpen();
    const expr = chunkFilter(filter);
    const terms = queryTermsText(query);
    if (!terms || limit <= 0 || expr === MATCHES_NOTHING) return [];
    const res = await this.db.call('keyword search', (c) =>
      c.search({
        collection_name: this.layout.chunks,
        partition_names: [this.layout.partition],
        anns_field: 'sparse',
        data: [terms],
        metric_type: 'BM25',
        limit: Math.min(limit, MAX_WINDOW),
        filter: this.inPartition(expr),
        output_fields: CHUNK_OUTPUT,
      }),
    );
    // Milvus returns BM25 scores as positive numbers; milvus-lite 3.2 returns them negated.
    // Either way the hits come best first, so the magnitude is the score.
    return hitsOf(res.results).map((hit) => ({ chunk: rowToChunk(hit), score: Math.abs(hit.score) }));
  }

  async vectorSearch(vector: Float32Array, limit: number, filter?: SearchFilter): Promise<ScoredChunk[]> {
    this.assertOpen();
    if (this.dimension === null) return [];
    if (vector.length !== this.dimension) {
      throw new MilvusStoreError(
        'dimension_mismatch',
        `query vector has ${vector.length} dimensions; the Milvus collection '${this.layout.chunks}' holds ${this.dimension}`,
      );
    }
    const expr = chunkFilter(filter);
    if (limit <= 0 || expr === MATCHES_NOTHING) return [];
    const res = await this.db.call('vector search', (c) =>
      c.search({
        collection_name: this.layout.chunks,
        partition_names: [this.layout.partition],
        anns_field: 'dense',
        data: Array.from(vector),
        metric_type: 'COSINE',
        limit: Math.min(limit, MAX_WINDOW),
        filter: this.inPartition(expr),
        output_fields: CHUNK_OUTPUT,
      }),
    );
    return hitsOf(res.results).map((hit) => ({ chunk: rowToChunk(hit), score: hit.score }));
  }

  async count(): Promise<number> {
    this.assertOpen();
    const res = await this.db.call('count chunks', (c) =>
      c.query({
        collection_name: this.layout.chunks,
        partition_names: [this.layout.partition],
        filter: this.inPartition(),
        output_fields: ['count(*)'],
      }),
    );
    return Number(res.data[0]?.['count(*)'] ?? 0);
  }

  async close(): Promise<void> {
    this.opened = false;
    await this.writes.catch(() => {});
    await this.db.close();
  }

  /** Seals both collections' growing segments, after the queued writes, so searches use the index. */
  async flush(): Promise<void> {
    this.assertOpen();
    return this.write(async () => {
      await this.db.call('flush', (c) =>
        c.flushSync({ collection_names: [this.layout.chunks, this.layout.docs] }),
      );
    });
  }

  /** Drops both collections, every team's partition included (for a rebuild, and for tests). */
  async drop(): Promise<void> {
    this.opened = false;
    await dropAll(this.db, this.layout);
  }

  // --- helpers --------------------------------------------------------------------------------

  private assertOpen(): void {
    if (!this.opened) throw new Error('MilvusStore: call open() first');
  }

  private checkWrite(doc: DocumentRecord, chunks: Chunk[], vectors: Float32Array[] | null): void {
    const bad = (msg: string) => new MilvusStoreError('invalid_input', `cannot store ${doc.source}: ${msg}`);
    if (chunks.length > MAX_WINDOW) throw bad(`${chunks.length} chunks; at most ${MAX_WINDOW} per document`);
    const stray = chunks.find((c) => c.source !== doc.source);
    if (stray) throw bad(`chunk ${stray.id} belongs to ${stray.source}`);
    if (vectors === null) {
      if (this.dimension !== null) {
        throw new MilvusStoreError(
          'dimension_mismatch',
          `cannot store ${doc.source} without vectors: the Milvus collection '${this.layout.chunks}' holds ` +
            `${this.dimension}-dimensional vectors. Ingest with the embedding model, or re-ingest everything ` +
            'keyword-only into a fresh collection.',
        );
      }
      return;
    }
    if (this.dimension === null) {
      throw bad(
        'vectors given, but the Milvus collection was created keyword-only; re-ingest into a fresh one',
      );
    }
    if (vectors.length !== chunks.length) throw bad(`${vectors.length} vectors for ${chunks.length} chunks`);
    const wrong = vectors.find((v) => v.length !== this.dimension);
    if (wrong) throw bad(`a vector has ${wrong.length} dimensions, the collection ${this.dimension}`);
  }

  /**
   * An expression confined to this store's partition. Requests name the partition too, but
   * milvus-lite ignores it for deletes and counts (see `part` in milvus-schema.ts).
   */
  private inPartition(...terms: string[]): string {
    return and([`part == ${quote(this.layout.partition)}`, ...terms.filter(Boolean)]);
  }

  private write(fn: () => Promise<void>): Promise<void> {
    const run = this.writes.then(fn, fn);
    this.writes = run.catch(() => {});
    return run;
  }

  /** Every row of this store's partition, in primary-key pages (Milvus caps one query at MAX_WINDOW). */
  private async queryAll(name: string, fields: string[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let last: string | undefined;
    for (;;) {
      const filter = this.inPartition(...(last === undefined ? [] : [`pk > ${quote(last)}`]));
      const res = await this.db.call(`read ${name}`, (c) =>
        c.query({
          collection_name: name,
          partition_names: [this.layout.partition],
          filter,
          output_fields: [...fields, 'pk'],
          limit: MAX_WINDOW,
        }),
      );
      out.push(...res.data);
      if (res.data.length < MAX_WINDOW) return out;
      // Milvus returns a limited query's rows in primary-key order (the SDK's query iterator relies on
      // it too) and compares strings by their UTF-8 bytes: the next page starts after this one's largest.
      last = res.data
        .map((r) => String(r.pk))
        .reduce((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b)) >= 0 ? a : b));
    }
  }
}

/** Partition names allow letters, digits and underscores; the hash keeps distinct teams apart. */
export function teamPartition(team: string): string {
  const slug = team
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 64);
  const hash = createHash('sha256').update(team).digest('hex').slice(0, 8);
  return `team_${slug}_${hash}`;
}
