import { existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../state/sqlite.js';
import { isCjkPassage, segmentationId, segmentForIndex } from '../cjk.js';
import { EVERY_CHUNK_TOKEN, identifierParts, keywordPlan, quoteTerm } from '../keyword.js';
import type { Chunk, DocumentRecord, RunbookStore, ScoredChunk, SearchFilter } from '../types.js';
import { BinaryIndex, dot, normalise, signCode } from './binary-index.js';
import { dimensionMismatch, SCHEMA } from './embedded-schema.js';

export interface EmbeddedStoreOptions {
  /** SQLite file (created with its folder), or ':memory:'. */
  path: string;
  /** Vectors rescored exactly per dense query (more is slower and closer to exact). */
  candidates?: number;
}

/**
 * 2: Chinese text is indexed as words (cjk.ts). 3: one keyword index per language partition. A store
 * of an earlier schema is re-indexed on open.
 */
const SCHEMA_VERSION = '3';
const EARLIER_SCHEMAS = ['1', '2'];

/**
 * The keyword index of each language partition. BM25 weighs a word by how few passages hold it, and
 * a Chinese runbook quotes the English words of its subject (OutOfMemoryError, Xmx, CrashLoopBackOff):
 * in one shared index, adding Chinese runbooks made those words commoner and so lowered them for the
 * English runbooks that are about them. Each partition keeps its own document frequencies and
 * average length; a query searches both and the scores are merged.
 */
const KEYWORD_TABLES = ['chunks_fts', 'chunks_fts_cjk'] as const;
type KeywordTable = (typeof KEYWORD_TABLES)[number];
const keywordTable = (c: Chunk): KeywordTable => (isCjkPassage(c) ? 'chunks_fts_cjk' : 'chunks_fts');

/**
 * Placeholder rows in each partition (negative rowids, holding only a token no query ever holds).
 * FTS5's inverse document frequency, log((N − n + 0.5) / (n + 0.5)), is floored at zero once a word
 * is in half the rows, so in a partition of one or two passages every word would weigh nothing and a
 * small English partition would lose to a large Chinese one on shared words. Ten rows of a typical
 * passage's length per column keep a word held by a few passages of a small partition worth
 * something (Lucene's IDF, log(1 + …), does the same with its +1), keep its average lengths near a
 * typical passage's, and change a large partition's figures by a fraction of a percent.
 */
const PADDING_ROWS = 10;
const PADDING_TOKEN = 'kubematepadding';
const padding = (n: number) => Array(n).fill(PADDING_TOKEN).join(' ');
/** Title, heading path, labels, body: about the lengths of a shipped runbook section. */
const PADDING_COLUMNS = [padding(3), padding(4), padding(10), padding(100)] as const;

/** What the FTS5 index holds for a chunk: title, heading path, labels, body, CJK runs segmented. */
function ftsColumns(c: Chunk): [string, string, string, string] {
  const labels = [
    ...c.tags,
    ...c.alerts,
    ...c.services,
    ...identifierParts(`${c.headingPath.join(' ')} ${c.text}`),
    EVERY_CHUNK_TOKEN,
  ];
  return [c.title, c.headingPath.slice(1).join(' \n '), labels.join(' '), c.text].map((t) =>
    segmentForIndex(t),
  ) as [string, string, string, string];
}

/** FTS5 column weights: title and heading path count more than the body. */
const bm25 = (table: KeywordTable) => `bm25(${table}, 3.0, 2.5, 1.5, 1.0)`;

interface ChunkRow {
  rowid: number;
  id: string;
  source: string;
  ordinal: number;
  title: string;
  heading_path: string;
  line_start: number;
  line_end: number;
  text: string;
  tags: string;
  alerts: string;
  services: string;
  namespaces: string;
  team: string | null;
}

interface DocumentRow {
  source: string;
  title: string;
  hash: string;
  embedding_model: string | null;
  chunk_count: number;
  ingested_at: string;
}

function toChunk(r: ChunkRow): Chunk {
  return {
    id: r.id,
    source: r.source,
    ordinal: r.ordinal,
    title: r.title,
    headingPath: JSON.parse(r.heading_path) as string[],
    lineStart: r.line_start,
    lineEnd: r.line_end,
    text: r.text,
    tags: JSON.parse(r.tags) as string[],
    alerts: JSON.parse(r.alerts) as string[],
    services: JSON.parse(r.services) as string[],
    namespaces: JSON.parse(r.namespaces) as string[],
    ...(r.team !== null ? { team: r.team } : {}),
  };
}

function toDocument(r: DocumentRow): DocumentRecord {
  return {
    source: r.source,
    title: r.title,
    hash: r.hash,
    embeddingModel: r.embedding_model,
    chunkCount: r.chunk_count,
    ingestedAt: r.ingested_at,
  };
}

/** A Float32Array over a blob, copied when the blob is not 4-byte aligned. */
function floats(blob: Buffer): Float32Array {
  if (blob.byteOffset % 4 === 0) return new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return new Float32Array(new Uint8Array(blob).buffer);
}

const blob = (a: Float32Array | Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The vector dimension an embedded store file was built with; undefined without the file or one. */
export function embeddedStoreDimension(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const db = openSqlite(path);
  try {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'dimension'").get() as
      | { value?: string }
      | undefined;
    const n = Number(row?.value);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined; // not a runbook store (no meta table): nothing to compare
  } finally {
    db.close();
  }
}

/**
 * The embedded runbook store: one SQLite file in the data directory holding documents, chunks, an
 * FTS5 index (BM25 over title, heading path, labels and body, Porter-stemmed) and the chunks'
 * vectors. Dense search scans sign-bit codes held in memory and rescores the best candidates
 * exactly (see binary-index.ts). Every document replacement is one transaction.
 */
export class EmbeddedStore implements RunbookStore {
  readonly kind = 'embedded' as const;
  private db: Database.Database | undefined;
  private dimension: number | null = null;
  private index: { generation: number; index: BinaryIndex } | undefined;
  private readonly stats = new Map<
    KeywordTable,
    { generation: number; total: number; frequencies: Map<string, number> }
  >();
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly options: EmbeddedStoreOptions) {}

  get path(): string {
    return this.options.path;
  }

  private get conn(): Database.Database {
    if (!this.db) throw new Error('runbook store is not open; call open() first');
    return this.db;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.conn.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private meta(key: string): string | undefined {
    return (this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)
      ?.value;
  }

  private setMeta(key: string, value: string): void {
    this.stmt(
      'INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    ).run(key, value);
  }

  private storedDimension(): number | null {
    const d = this.meta('dimension');
    return d === undefined ? null : Number(d);
  }

  async open(dimension: number | null): Promise<void> {
    if (!this.db) {
      const db = openSqlite(this.options.path, { busyTimeoutMs: 10_000 });
      this.db = db;
      try {
        db.exec(SCHEMA);
        const schema = this.meta('schema');
        if (schema === undefined) {
          this.setMeta('schema', SCHEMA_VERSION);
          this.setMeta('segmentation', segmentationId());
        } else if (!EARLIER_SCHEMAS.includes(schema) && schema !== SCHEMA_VERSION) {
          throw new Error(
            `runbook store ${this.options.path} has schema ${schema}, this version reads ${SCHEMA_VERSION}: remove the file and ingest again`,
          );
        } else if (EARLIER_SCHEMAS.includes(schema) || this.meta('segmentation') !== segmentationId()) {
          this.reindexKeywords();
        }
        this.pad();
      } catch (e) {
        this.db = undefined;
        db.close();
        throw e;
      }
    }
    const stored = this.storedDimension();
    const hasVectors = this.stmt('SELECT EXISTS (SELECT 1 FROM vectors) AS any').get() as { any: number };
    if (dimension !== null && stored !== null && stored !== dimension && hasVectors.any) {
      throw dimensionMismatch(this.options.path, stored, dimension);
    }
    if (dimension !== null && stored !== dimension) this.setMeta('dimension', String(dimension));
    this.dimension = dimension ?? stored;
  }

  async putDocument(doc: DocumentRecord, chunks: Chunk[], vectors: Float32Array[] | null): Promise<void> {
    const db = this.conn;
    if (vectors && vectors.length !== chunks.length) {
      throw new Error(`${doc.source}: ${chunks.length} chunks but ${vectors.length} vectors`);
    }
    const dimension = this.dimension;
    if (vectors && vectors.length > 0) {
      if (dimension === null) throw new Error('runbook store was opened without an embedding dimension');
      const bad = vectors.find((v) => v.length !== dimension);
      if (bad) throw dimensionMismatch(this.options.path, dimension, bad.length);
    }
    for (const c of chunks) {
      if (c.source !== doc.source) throw new Error(`chunk ${c.id} belongs to ${c.source}, not ${doc.source}`);
    }
    const insertChunk = this.stmt(
      `INSERT INTO chunks(id, source, ordinal, title, heading_path, line_start, line_end, text, tags, alerts, services, namespaces, team)
       VALUES (@id, @source, @ordinal, @title, @headingPath, @lineStart, @lineEnd, @text, @tags, @alerts, @services, @namespaces, @team)`,
    );
    const insertFts = (table: KeywordTable) =>
      this.stmt(`INSERT INTO ${table}(rowid, title, headings, labels, body) VALUES (?, ?, ?, ?, ?)`);
    const insertLabel = this.stmt('INSERT OR IGNORE INTO chunk_labels(kind, value, chunk) VALUES (?, ?, ?)');
    const insertVector = this.stmt('INSERT INTO vectors(chunk, code, vec) VALUES (?, ?, ?)');
    db.transaction(() => {
      this.deleteSource(doc.source);
      this.stmt(
        `INSERT INTO documents(source, title, hash, embedding_model, chunk_count, ingested_at)
         VALUES (@source, @title, @hash, @embeddingModel, @chunkCount, @ingestedAt)`,
      ).run({ ...doc, chunkCount: chunks.length });
      chunks.forEach((c, i) => {
        const { lastInsertRowid } = insertChunk.run({
          ...c,
          headingPath: JSON.stringify(c.headingPath),
          tags: JSON.stringify(c.tags),
          alerts: JSON.stringify(c.alerts),
          services: JSON.stringify(c.services),
          namespaces: JSON.stringify(c.namespaces),
          team: c.team ?? null,
        });
        const rowid = Number(lastInsertRowid);
        insertFts(keywordTable(c)).run(rowid, ...ftsColumns(c));
        for (const t of c.tags) insertLabel.run('tag', t.toLowerCase(), rowid);
        for (const a of c.alerts) insertLabel.run('alert', a.toLowerCase(), rowid);
        const v = vectors?.[i];
        if (v) {
          const unit = normalise(v);
          insertVector.run(rowid, blob(signCode(unit)), blob(unit));
        }
      });
      this.bumpGeneration();
    })();
  }

  /**
   * Schema 1 indexed Chinese text unsegmented (a whole clause as one token), schema 2 kept every
   * language in one index, and an index segmented under another ICU dictionary may cut words
   * differently from today's queries. The chunks hold everything the index is built from, so it is
   * rebuilt in place, in one transaction.
   */
  private reindexKeywords(): void {
    const db = this.conn;
    db.transaction(() => {
      for (const table of KEYWORD_TABLES) {
        db.prepare(`INSERT INTO ${table}(${table}) VALUES ('delete-all')`).run();
      }
      const insert = (table: KeywordTable) =>
        db.prepare(`INSERT INTO ${table}(rowid, title, headings, labels, body) VALUES (?, ?, ?, ?, ?)`);
      const inserts = { chunks_fts: insert('chunks_fts'), chunks_fts_cjk: insert('chunks_fts_cjk') };
      for (const row of db.prepare('SELECT rowid, * FROM chunks').all() as ChunkRow[]) {
        const c = toChunk(row);
        inserts[keywordTable(c)].run(row.rowid, ...ftsColumns(c));
      }
      this.pad();
      this.setMeta('schema', SCHEMA_VERSION);
      this.setMeta('segmentation', segmentationId());
      this.bumpGeneration();
    })();
  }

  /** The padding rows of each partition (PADDING_ROWS), added where missing. */
  private pad(): void {
    for (const table of KEYWORD_TABLES) {
      const count = this.stmt(`SELECT count(*) FROM ${table} WHERE ${table} MATCH ?`).pluck();
      if (count.get(quoteTerm(PADDING_TOKEN)) === PADDING_ROWS) continue;
      this.conn.transaction(() => {
        const del = this.stmt(`DELETE FROM ${table} WHERE rowid = ?`);
        const insert = this.stmt(
          `INSERT INTO ${table}(rowid, title, headings, labels, body) VALUES (?, ?, ?, ?, ?)`,
        );
        for (let i = 1; i <= PADDING_ROWS; i++) {
          del.run(-i);
          insert.run(-i, ...PADDING_COLUMNS);
        }
      })();
    }
  }

  private deleteSource(source: string): void {
    const rowids = this.stmt('SELECT rowid FROM chunks WHERE source = ?').pluck().all(source) as number[];
    if (rowids.length > 0) {
      const list = JSON.stringify(rowids);
      for (const table of KEYWORD_TABLES) {
        this.stmt(`DELETE FROM ${table} WHERE rowid IN (SELECT value FROM json_each(?))`).run(list);
      }
      this.stmt('DELETE FROM chunk_labels WHERE chunk IN (SELECT value FROM json_each(?))').run(list);
      this.stmt('DELETE FROM vectors WHERE chunk IN (SELECT value FROM json_each(?))').run(list);
      this.stmt('DELETE FROM chunks WHERE source = ?').run(source);
    }
    this.stmt('DELETE FROM documents WHERE source = ?').run(source);
  }

  private bumpGeneration(): void {
    this.setMeta('generation', String(Number(this.meta('generation') ?? 0) + 1));
  }

  async removeDocument(source: string): Promise<void> {
    this.conn.transaction(() => {
      this.deleteSource(source);
      this.bumpGeneration();
    })();
  }

  async listDocuments(): Promise<DocumentRecord[]> {
    return (this.stmt('SELECT * FROM documents ORDER BY source').all() as DocumentRow[]).map(toDocument);
  }

  async getChunks(source: string): Promise<Chunk[]> {
    return (
      this.stmt('SELECT rowid, * FROM chunks WHERE source = ? ORDER BY ordinal').all(source) as ChunkRow[]
    ).map(toChunk);
  }

  /** SQL conditions on a chunk rowid (`rowid`, an expression) for a filter, with their parameters. */
  private filterSql(filter: SearchFilter | undefined, rowid: string): { sql: string; params: unknown[] } {
    const parts: string[] = [];
    const params: unknown[] = [];
    for (const tag of filter?.tags ?? []) {
      parts.push(`${rowid} IN (SELECT chunk FROM chunk_labels WHERE kind = 'tag' AND value = ?)`);
      params.push(tag.toLowerCase());
    }
    if (filter?.alert) {
      parts.push(`${rowid} IN (SELECT chunk FROM chunk_labels WHERE kind = 'alert' AND value = ?)`);
      params.push(filter.alert.toLowerCase());
    }
    if (filter?.team !== undefined) {
      parts.push(`${rowid} IN (SELECT rowid FROM chunks WHERE team = ?)`);
      params.push(filter.team);
    }
    if (filter?.sources) {
      parts.push(`${rowid} IN (SELECT rowid FROM chunks WHERE source IN (SELECT value FROM json_each(?)))`);
      params.push(JSON.stringify(filter.sources));
    }
    return { sql: parts.map((p) => ` AND ${p}`).join(''), params };
  }

  async keywordSearch(query: string, limit: number, filter?: SearchFilter): Promise<ScoredChunk[]> {
    if (limit <= 0) return [];
    const rows: (ChunkRow & { rank: number })[] = [];
    for (const table of KEYWORD_TABLES) {
      const stats = this.termStats(table);
      if (stats.total === 0) continue;
      const plan = keywordPlan(query, stats);
      if (plan === null) return [];
      let found = this.ranked(table, plan.primary, limit, filter);
      if (plan.fallback && found.length < limit) {
        const seen = new Set(found.map((r) => r.rowid));
        found = [
          ...found,
          ...this.ranked(table, plan.fallback, limit, filter).filter((r) => !seen.has(r.rowid)),
        ];
      }
      rows.push(...found);
    }
    // bm25() is lower-is-better; scores here are higher-is-better.
    return rows
      .sort((a, b) => a.rank - b.rank || a.rowid - b.rowid)
      .slice(0, limit)
      .map((r) => ({ chunk: toChunk(r), score: -r.rank }));
  }

  private ranked(
    table: KeywordTable,
    match: string,
    limit: number,
    filter?: SearchFilter,
  ): (ChunkRow & { rank: number })[] {
    const where = this.filterSql(filter, `${table}.rowid`);
    // Rank inside the index first: joining before the sort would read every matching chunk row.
    return this.stmt(
      `SELECT c.rowid, c.*, hit.rank FROM (
         SELECT ${table}.rowid AS id, ${bm25(table)} AS rank FROM ${table}
         WHERE ${table} MATCH ?${where.sql} ORDER BY rank LIMIT ?
       ) AS hit JOIN chunks c ON c.rowid = hit.id ORDER BY hit.rank`,
    ).all(match, ...where.params, limit) as (ChunkRow & { rank: number })[];
  }

  /**
   * A language partition's chunk count and per-term chunk counts, cached until the store changes.
   * Every chunk holds EVERY_CHUNK_TOKEN, so its count is the partition's size.
   */
  private termStats(table: KeywordTable) {
    const generation = Number(this.meta('generation') ?? 0);
    const count = this.stmt(`SELECT count(*) FROM ${table} WHERE ${table} MATCH ?`).pluck();
    let stats = this.stats.get(table);
    if (stats?.generation !== generation) {
      stats = {
        generation,
        total: count.get(quoteTerm(EVERY_CHUNK_TOKEN)) as number,
        frequencies: new Map(),
      };
      this.stats.set(table, stats);
    }
    const { frequencies, total } = stats;
    return {
      total,
      frequency: (term: string) => {
        let n = frequencies.get(term);
        if (n === undefined) {
          n = count.get(quoteTerm(term)) as number;
          // Bounded: a long-running server sees many distinct words.
          if (frequencies.size > 50_000) frequencies.clear();
          frequencies.set(term, n);
        }
        return n;
      },
    };
  }

  private loadIndex(): BinaryIndex | undefined {
    const generation = Number(this.meta('generation') ?? 0);
    if (this.index?.generation === generation) return this.index.index;
    const dimension = this.storedDimension();
    if (dimension === null) return undefined;
    const total = (this.stmt('SELECT count(*) FROM vectors').pluck().get() as number) ?? 0;
    const words = Math.ceil(dimension / 32);
    const keys = new Int32Array(total);
    const codes = new Uint32Array(total * words);
    const bytes = new Uint8Array(codes.buffer);
    let i = 0;
    for (const [chunk, code] of this.stmt('SELECT chunk, code FROM vectors ORDER BY chunk')
      .raw()
      .iterate() as Iterable<[number, Buffer]>) {
      if (i === total) break;
      keys[i] = chunk;
      bytes.set(code.subarray(0, words * 4), i * words * 4);
      i++;
    }
    const index = new BinaryIndex(dimension, keys.subarray(0, i), codes.subarray(0, i * words));
    this.index = { generation, index };
    return index;
  }

  async vectorSearch(vector: Float32Array, limit: number, filter?: SearchFilter): Promise<ScoredChunk[]> {
    const index = this.loadIndex();
    if (!index || index.size === 0 || limit <= 0) return [];
    if (vector.length !== index.dimension)
      throw dimensionMismatch(this.options.path, index.dimension, vector.length);
    const query = normalise(vector);
    const want = Math.max(this.options.candidates ?? 500, limit * 10);
    let allowed: number[] | undefined;
    const where = this.filterSql(filter, 'c.rowid');
    if (where.sql) {
      allowed = this.stmt(`SELECT c.rowid FROM chunks c WHERE 1${where.sql} ORDER BY c.rowid`)
        .pluck()
        .all(...where.params) as number[];
      if (allowed.length === 0) return [];
    }
    const candidates = allowed && allowed.length <= want ? allowed : index.candidates(query, want, allowed);
    const scored = (
      this.stmt('SELECT chunk, vec FROM vectors WHERE chunk IN (SELECT value FROM json_each(?))')
        .raw()
        .all(JSON.stringify(candidates)) as [number, Buffer][]
    ).map(([rowid, vec]) => ({ rowid, score: dot(query, floats(vec)) }));
    scored.sort((a, b) => b.score - a.score || a.rowid - b.rowid);
    const top = scored.slice(0, limit);
    const rows = this.stmt('SELECT rowid, * FROM chunks WHERE rowid IN (SELECT value FROM json_each(?))').all(
      JSON.stringify(top.map((t) => t.rowid)),
    ) as ChunkRow[];
    const byRowid = new Map(rows.map((r) => [r.rowid, r]));
    return top.flatMap((t) => {
      const row = byRowid.get(t.rowid);
      return row ? [{ chunk: toChunk(row), score: t.score }] : [];
    });
  }

  async count(): Promise<number> {
    return this.stmt('SELECT count(*) FROM chunks').pluck().get() as number;
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.index = undefined;
    this.db?.close();
    this.db = undefined;
  }
}
