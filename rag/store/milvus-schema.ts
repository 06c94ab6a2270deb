// The two Milvus collections behind MilvusStore, and the mapping between their rows and our types.
//
// Chunks: one row per chunk. `search_text` (the stemmed terms of title, headings, labels and text)
// feeds a BM25 function that fills the sparse field `sparse`, so keyword search runs inside Milvus. `dense` exists only when the
// store was opened with an embedding dimension; a keyword-only store needs no placeholder because the
// sparse field already is the vector field Milvus requires.
//
// Documents: one row per DocumentRecord. Milvus will not create a collection without a vector field,
// so it carries a 2-dimensional placeholder vector that is never searched.
import { DataType, type FieldType, FunctionType } from '@zilliz/milvus2-sdk-node';
import type { Chunk, DocumentRecord } from '../types.js';
import { documentTerms } from './milvus-analyzer.js';

/** Bumped when the collections' layout changes; older collections are refused, not misread. */
export const SCHEMA_VERSION = '1';
export const PROP_SCHEMA = 'kubemate.schema';
/** The embedding dimension the chunk collection was created with, or 'none' for keyword-only. */
export const PROP_DIMENSION = 'kubemate.dimension';

// Byte limits (Milvus measures VARCHAR in bytes). Texts longer than these are refused by name.
export const LIMITS = {
  source: 2048,
  title: 2048,
  headingPath: 8192,
  text: 65_535,
  team: 256,
  arrayItem: 512,
  arrayCapacity: 1024,
  pk: 4096,
} as const;

/**
 * The store analyses text itself (milvus-analyzer.ts) and hands Milvus space-separated stems, so
 * Milvus only has to split and lower-case them, the same on Milvus and on milvus-lite.
 */
export const ANALYZER = { tokenizer: 'standard', filter: ['lowercase'] };

/**
 * Every row also names its partition in `part`: milvus-lite ignores the partition of a delete by
 * expression and of count(*), so every expression says `part == ...` as well (Milvus honours both).
 */
const PARTITION_MAX = 255;

const varchar = (name: string, max: number): FieldType => ({
  name,
  data_type: DataType.VarChar,
  max_length: max,
});
const int32 = (name: string): FieldType => ({ name, data_type: DataType.Int32 });
const stringArray = (name: string): FieldType => ({
  name,
  data_type: DataType.Array,
  element_type: DataType.VarChar,
  max_capacity: LIMITS.arrayCapacity,
  max_length: LIMITS.arrayItem,
});

export function chunkFields(dimension: number | null): FieldType[] {
  const fields: FieldType[] = [
    { ...varchar('pk', LIMITS.pk), is_primary_key: true },
    varchar('chunk_id', LIMITS.pk),
    varchar('source', LIMITS.source),
    int32('ordinal'),
    varchar('title', LIMITS.title),
    varchar('heading_path', LIMITS.headingPath),
    int32('line_start'),
    int32('line_end'),
    varchar('text', LIMITS.text),
    {
      ...varchar('search_text', LIMITS.text),
      enable_analyzer: true,
      analyzer_params: ANALYZER,
    },
    // Tags and alert names lower-cased for filters that ignore case; `meta` keeps the spellings.
    stringArray('tags_lc'),
    stringArray('alerts_lc'),
    // Original tags and alert names, services and namespaces: returned, never filtered on.
    { name: 'meta', data_type: DataType.JSON },
    varchar('team', LIMITS.team),
    varchar('part', PARTITION_MAX),
    { name: 'sparse', data_type: DataType.SparseFloatVector },
  ];
  if (dimension !== null) fields.push({ name: 'dense', data_type: DataType.FloatVector, dim: dimension });
  return fields;
}

export const BM25_FUNCTION = {
  name: 'search_text_bm25',
  type: FunctionType.BM25,
  input_field_names: ['search_text'],
  output_field_names: ['sparse'],
  params: {},
};

export const DOC_PLACEHOLDER_DIM = 2;

export function documentFields(): FieldType[] {
  return [
    { ...varchar('pk', LIMITS.pk), is_primary_key: true },
    varchar('source', LIMITS.source),
    varchar('title', LIMITS.title),
    varchar('hash', 128),
    // '' stands for null (keyword-only): a model is never called ''.
    varchar('embedding_model', 512),
    int32('chunk_count'),
    varchar('ingested_at', 64),
    varchar('team', LIMITS.team),
    varchar('part', PARTITION_MAX),
    { name: 'placeholder', data_type: DataType.FloatVector, dim: DOC_PLACEHOLDER_DIM },
  ];
}

/** Fields read back for a chunk (never the vectors or the BM25 input). */
export const CHUNK_OUTPUT = [
  'chunk_id',
  'source',
  'ordinal',
  'title',
  'heading_path',
  'line_start',
  'line_end',
  'text',
  'meta',
  'team',
];
export const DOCUMENT_OUTPUT = ['source', 'title', 'hash', 'embedding_model', 'chunk_count', 'ingested_at'];

/** Primary keys carry the partition, since Milvus keeps keys unique per collection, not per partition. */
export const primaryKey = (part: string, id: string): string => `${part}/${id}`;

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Throws a message naming the chunk or document when a value exceeds what the schema holds. */
function check(what: string, field: string, value: string, max: number): void {
  if (bytes(value) > max)
    throw new RangeError(`${what}: ${field} is ${bytes(value)} bytes; Milvus holds ${max}`);
}

function checkArray(what: string, field: string, values: readonly string[]): void {
  if (values.length > LIMITS.arrayCapacity) {
    throw new RangeError(`${what}: ${values.length} ${field}; Milvus holds ${LIMITS.arrayCapacity}`);
  }
  for (const v of values) check(what, `an item of ${field}`, v, LIMITS.arrayItem);
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function truncateBytes(s: string, max: number): string {
  if (bytes(s) <= max) return s;
  const buf = Buffer.from(s, 'utf8').subarray(0, max);
  return buf.toString('utf8').replace(/\uFFFD+$/, '');
}

export function chunkRow(chunk: Chunk, part: string, team: string, vector: Float32Array | null) {
  const what = `chunk ${chunk.id}`;
  const pk = primaryKey(part, chunk.id);
  const headingPath = JSON.stringify(chunk.headingPath);
  check(what, 'the id', pk, LIMITS.pk);
  check(what, 'source', chunk.source, LIMITS.source);
  check(what, 'title', chunk.title, LIMITS.title);
  check(what, 'the heading path', headingPath, LIMITS.headingPath);
  check(what, 'text', chunk.text, LIMITS.text);
  check(what, 'team', team, LIMITS.team);
  checkArray(what, 'tags', chunk.tags);
  checkArray(what, 'alerts', chunk.alerts);
  const searchText = truncateBytes(documentTerms(chunk), LIMITS.text);
  return {
    pk,
    chunk_id: chunk.id,
    source: chunk.source,
    ordinal: chunk.ordinal,
    title: chunk.title,
    heading_path: headingPath,
    line_start: chunk.lineStart,
    line_end: chunk.lineEnd,
    text: chunk.text,
    search_text: searchText,
    tags_lc: lowerSet(chunk.tags),
    alerts_lc: lowerSet(chunk.alerts),
    meta: { tags: chunk.tags, alerts: chunk.alerts, services: chunk.services, namespaces: chunk.namespaces },
    team,
    part,
    ...(vector ? { dense: Array.from(vector) } : {}),
  };
}

const lowerSet = (xs: readonly string[]): string[] => [...new Set(xs.map((x) => x.toLowerCase()))];

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

export function rowToChunk(row: Record<string, unknown>): Chunk {
  const meta = (row.meta ?? {}) as Record<string, unknown>;
  const chunk: Chunk = {
    id: String(row.chunk_id),
    source: String(row.source),
    ordinal: Number(row.ordinal),
    title: String(row.title),
    headingPath: strings(JSON.parse(String(row.heading_path || '[]'))),
    lineStart: Number(row.line_start),
    lineEnd: Number(row.line_end),
    text: String(row.text),
    tags: strings(meta.tags),
    alerts: strings(meta.alerts),
    services: strings(meta.services),
    namespaces: strings(meta.namespaces),
  };
  if (row.team) chunk.team = String(row.team);
  return chunk;
}

export function documentRow(doc: DocumentRecord, part: string, team: string) {
  const what = `document ${doc.source}`;
  const pk = primaryKey(part, doc.source);
  check(what, 'the id', pk, LIMITS.pk);
  check(what, 'source', doc.source, LIMITS.source);
  check(what, 'title', doc.title, LIMITS.title);
  return {
    pk,
    source: doc.source,
    title: doc.title,
    hash: doc.hash,
    embedding_model: doc.embeddingModel ?? '',
    chunk_count: doc.chunkCount,
    ingested_at: doc.ingestedAt,
    team,
    part,
    placeholder: new Array<number>(DOC_PLACEHOLDER_DIM).fill(0),
  };
}

export function rowToDocument(row: Record<string, unknown>): DocumentRecord {
  return {
    source: String(row.source),
    title: String(row.title),
    hash: String(row.hash),
    embeddingModel: row.embedding_model ? String(row.embedding_model) : null,
    chunkCount: Number(row.chunk_count),
    ingestedAt: String(row.ingested_at),
  };
}
