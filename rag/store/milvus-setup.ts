// Creating, checking and loading MilvusStore's two collections (layout in milvus-schema.ts).
import type { MilvusConnection } from './milvus-rpc.js';
import { MilvusStoreError } from './milvus-rpc.js';
import {
  BM25_FUNCTION,
  chunkFields,
  documentFields,
  PROP_DIMENSION,
  PROP_SCHEMA,
  SCHEMA_VERSION,
} from './milvus-schema.js';

export interface Layout {
  chunks: string;
  docs: string;
  /** This store's partition: `_default`, or one per team. */
  partition: string;
}

interface CollectionInfo {
  schema: string | undefined;
  /** Dimension of the dense field, or null when the collection has none. */
  dimension: number | null;
}

const LOAD_TIMEOUT_MS = 120_000;

/**
 * Makes both collections (and this store's partition) exist and be loaded. Returns the dimension
 * the chunk collection holds: `dimension`, or what an existing collection was created with.
 */
export async function prepare(
  db: MilvusConnection,
  layout: Layout,
  dimension: number | null,
): Promise<number | null> {
  const stored = await ensureChunkCollection(db, layout, dimension);
  await ensureDocumentCollection(db, layout.docs);
  for (const name of [layout.chunks, layout.docs]) {
    await ensurePartition(db, name, layout.partition);
    await load(db, name);
  }
  return stored;
}

/** Drops both collections, every team's partition included. */
export async function dropAll(db: MilvusConnection, layout: Layout): Promise<void> {
  for (const name of [layout.chunks, layout.docs]) {
    const has = await db.call(`look up collection ${name}`, (c) =>
      c.hasCollection({ collection_name: name }),
    );
    if (has.value)
      await db.call(`drop collection ${name}`, (c) => c.dropCollection({ collection_name: name }));
  }
}

async function describe(db: MilvusConnection, name: string): Promise<CollectionInfo | null> {
  const has = await db.call(`look up collection ${name}`, (c) => c.hasCollection({ collection_name: name }));
  if (!has.value) return null;
  const desc = await db.call(`describe collection ${name}`, (c) =>
    c.describeCollection({ collection_name: name }),
  );
  const props = new Map((desc.properties ?? []).map((p) => [p.key, String(p.value)]));
  const dense = desc.schema.fields.find((f) => f.name === 'dense');
  const dim = dense?.type_params.find((p) => p.key === 'dim')?.value;
  return { schema: props.get(PROP_SCHEMA), dimension: dense ? Number(dim) : null };
}

async function ensureChunkCollection(
  db: MilvusConnection,
  layout: Layout,
  dimension: number | null,
): Promise<number | null> {
  const name = layout.chunks;
  const info = await describe(db, name);
  if (info) {
    checkSchema(db, name, info);
    // Opening without a dimension (no embedding model reachable) reads a store with vectors
    // keyword-only; it is another dimension that would mix incomparable vectors.
    if (dimension === null || dimension === info.dimension) return info.dimension;
    if (!(await isEmpty(db, layout))) throw dimensionMismatch(db, layout, info.dimension, dimension);
    // Nothing to lose: recreate with the new dimension rather than ask for a re-ingest of nothing.
    await dropAll(db, layout);
  }
  await db.call(`create collection ${name}`, (c) =>
    c.createCollection({
      collection_name: name,
      fields: chunkFields(dimension),
      functions: [BM25_FUNCTION],
      consistency_level: 'Strong',
      properties: { [PROP_SCHEMA]: SCHEMA_VERSION, [PROP_DIMENSION]: dimension ?? 'none' },
    }),
  );
  await db.call(`index ${name}.sparse`, (c) =>
    c.createIndex({
      collection_name: name,
      field_name: 'sparse',
      index_name: 'sparse_bm25',
      index_type: 'SPARSE_INVERTED_INDEX',
      metric_type: 'BM25',
      params: { bm25_k1: 1.2, bm25_b: 0.75 },
    }),
  );
  await indexScalars(db, name, ['source', 'part']);
  if (dimension !== null) {
    // AUTOINDEX: HNSW on Milvus and Zilliz, a FAISS index on milvus-lite.
    await db.call(`index ${name}.dense`, (c) =>
      c.createIndex({
        collection_name: name,
        field_name: 'dense',
        index_name: 'dense_cosine',
        index_type: 'AUTOINDEX',
        metric_type: 'COSINE',
      }),
    );
  }
  return dimension;
}

async function ensureDocumentCollection(db: MilvusConnection, name: string): Promise<void> {
  const info = await describe(db, name);
  if (info) return checkSchema(db, name, info);
  await db.call(`create collection ${name}`, (c) =>
    c.createCollection({
      collection_name: name,
      fields: documentFields(),
      consistency_level: 'Strong',
      properties: { [PROP_SCHEMA]: SCHEMA_VERSION },
    }),
  );
  await db.call(`index ${name}.placeholder`, (c) =>
    c.createIndex({
      collection_name: name,
      field_name: 'placeholder',
      index_type: 'FLAT',
      metric_type: 'L2',
    }),
  );
  await indexScalars(db, name, ['source', 'part']);
}

/**
 * INVERTED indexes on the VARCHAR fields every delete and read filters on. (Milvus could index the
 * tag and alert arrays too, but milvus-lite refuses scalar indexes on arrays.)
 */
async function indexScalars(db: MilvusConnection, name: string, fields: string[]): Promise<void> {
  for (const field of fields) {
    await db.call(`index ${name}.${field}`, (c) =>
      c.createIndex({
        collection_name: name,
        field_name: field,
        index_name: `${field}_inverted`,
        index_type: 'INVERTED',
      }),
    );
  }
}

function checkSchema(db: MilvusConnection, name: string, info: CollectionInfo): void {
  if (info.schema === SCHEMA_VERSION) return;
  throw new MilvusStoreError(
    'incompatible_collection',
    `the Milvus collection '${name}' at ${db.address} was not created by this version of Kubemate ` +
      `(schema ${info.schema ?? 'unknown'}, expected ${SCHEMA_VERSION}); configure another collection name, ` +
      'or drop it and re-ingest the runbooks',
  );
}

function dimensionMismatch(
  db: MilvusConnection,
  layout: Layout,
  stored: number | null,
  wanted: number,
): MilvusStoreError {
  const holds = stored === null ? 'keyword-only chunks (no vectors)' : `${stored}-dimensional vectors`;
  return new MilvusStoreError(
    'dimension_mismatch',
    `the Milvus collection '${layout.chunks}' at ${db.address} holds ${holds}, but the embedding ` +
      `model gives ${wanted} dimensions. Re-ingest the runbooks into a fresh store: drop the collections ` +
      `'${layout.chunks}' and '${layout.docs}' (or configure another collection name), then ingest again.`,
  );
}

async function countAll(db: MilvusConnection, name: string): Promise<number> {
  const res = await db.call(`count ${name}`, (c) =>
    c.query({ collection_name: name, filter: '', output_fields: ['count(*)'] }),
  );
  return Number(res.data[0]?.['count(*)'] ?? 0);
}

/** True when neither collection holds a row in any partition. */
async function isEmpty(db: MilvusConnection, layout: Layout): Promise<boolean> {
  if ((await countAll(db, layout.chunks)) > 0) return false;
  return !(await describe(db, layout.docs)) || (await countAll(db, layout.docs)) === 0;
}

async function ensurePartition(db: MilvusConnection, name: string, partition: string): Promise<void> {
  if (partition === '_default') return;
  const req = { collection_name: name, partition_name: partition };
  const has = await db.call(`look up partition ${partition}`, (c) => c.hasPartition(req));
  if (!has.value) await db.call(`create partition ${partition}`, (c) => c.createPartition(req));
}

/**
 * Loads a collection and waits until it is searchable (loading a loaded one is a no-op). The SDK's
 * own loadCollection polls without a bound; a large collection may take longer than one call's
 * deadline, so the wait has its own.
 */
async function load(db: MilvusConnection, name: string): Promise<void> {
  await db.call(`load collection ${name}`, (c) => c.loadCollectionAsync({ collection_name: name }));
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  for (;;) {
    const res = await db.call(`load state of ${name}`, (c) => c.getLoadState({ collection_name: name }));
    if (String(res.state) === 'LoadStateLoaded') return;
    if (Date.now() > deadline) {
      throw new MilvusStoreError('backend_error', `Milvus at ${db.address} did not load '${name}' in time`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
