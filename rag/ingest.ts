import { createHash } from 'node:crypto';
import { type ChunkerOptions, chunkDocument } from './chunker.js';
import type { Embedder } from './embeddings.js';
import { loadDocument } from './loaders/index.js';
import { documentMetadata } from './metadata.js';
import type { Chunk, DocumentRecord, RunbookStore } from './types.js';
import { readRunbookFile, walkRunbooks } from './walk.js';

export type FileOutcome = 'added' | 'updated' | 'unchanged' | 'failed';

export interface IngestProgress {
  /** Files finished so far, of `total`. */
  done: number;
  total: number;
  file: string;
  outcome: FileOutcome;
  error?: string;
}

export interface IngestOptions {
  store: RunbookStore;
  /** Null: keyword-only (chunks are stored without vectors). */
  embedder: Embedder | null;
  root: string;
  /** Sources are `${prefix}/${path in root}`; only documents under this prefix are ever removed. */
  prefix: string;
  team?: string;
  exclude?: (relativePath: string) => boolean;
  chunking?: ChunkerOptions;
  /** Chunks gathered (across files) before they are sent to the embedding model. */
  batchSize?: number;
  onProgress?: (event: IngestProgress) => void;
  signal?: AbortSignal;
}

export interface IngestSummary {
  root: string;
  prefix: string;
  mode: 'keyword' | 'dense';
  model: string | null;
  files: { seen: number; added: number; updated: number; unchanged: number; removed: number; failed: number };
  /** Chunks written (of added and updated files). */
  chunks: number;
  failures: { file: string; error: string }[];
  /** Files left alone on purpose (symbolic links out of the folder, link loops), with why. */
  skipped: { file: string; reason: string }[];
  ms: { total: number; embedding: number; other: number };
}

interface Prepared {
  file: string;
  outcome: 'added' | 'updated';
  record: DocumentRecord;
  chunks: Chunk[];
}

/** What the embedding model reads for a chunk: where it sits, then its text. */
export function embeddingText(chunk: Pick<Chunk, 'headingPath' | 'text'>): string {
  return `${chunk.headingPath.join(' > ')}\n\n${chunk.text}`;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Ingests one folder incrementally: unchanged files (same SHA-256, same embedding model) are
 * skipped, changed ones re-chunked and re-embedded, and documents whose file is gone are removed.
 * A file that cannot be read or parsed is reported and skipped; its previous version, if any, stays.
 * Each document is replaced in one store transaction, so nothing is ever half-applied.
 */
export async function ingestFolder(options: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const { store, embedder, prefix } = options;
  const model = embedder?.model ?? null;
  const walk = await walkRunbooks(options.root, options.exclude);
  const files = walk.files;
  const existing = new Map(
    (await store.listDocuments()).filter((d) => d.source.startsWith(`${prefix}/`)).map((d) => [d.source, d]),
  );
  const summary: IngestSummary = {
    root: options.root,
    prefix,
    mode: embedder ? 'dense' : 'keyword',
    model,
    files: { seen: files.length, added: 0, updated: 0, unchanged: 0, removed: 0, failed: 0 },
    chunks: 0,
    failures: [],
    skipped: walk.skipped.map((s) => ({ file: `${prefix}/${s.file}`, reason: s.reason })),
    ms: { total: 0, embedding: 0, other: 0 },
  };
  let done = 0;
  const report = (file: string, outcome: FileOutcome, error?: string) => {
    done++;
    summary.files[outcome]++;
    if (error !== undefined) summary.failures.push({ file, error });
    options.onProgress?.({
      done,
      total: files.length,
      file,
      outcome,
      ...(error !== undefined ? { error } : {}),
    });
  };

  const batchSize = Math.max(1, options.batchSize ?? 32);
  /** Parsed documents waiting for vectors, in order; a document is stored once all its chunks have one. */
  let pending: (Prepared & { vectors: Float32Array[] })[] = [];
  let embeddingFailure: string | undefined;
  const storeOne = async (p: Prepared, vectors: Float32Array[] | null) => {
    try {
      await store.putDocument(p.record, p.chunks, vectors);
      summary.chunks += p.chunks.length;
      report(p.file, p.outcome);
    } catch (e) {
      report(p.file, 'failed', `not stored: ${(e as Error).message}`);
    }
  };
  /** Embeds whole batches of waiting chunks (all of them when `final`), across file boundaries. */
  const flush = async (final: boolean) => {
    if (!embedder) {
      for (const p of pending) await storeOne(p, null);
      pending = [];
      return;
    }
    if (embeddingFailure) {
      for (const p of pending) report(p.file, 'failed', `not embedded: ${embeddingFailure}`);
      pending = [];
      return;
    }
    const waiting = pending.flatMap((p) =>
      p.chunks.slice(p.vectors.length).map((c) => ({ p, text: embeddingText(c) })),
    );
    const n = final ? waiting.length : Math.floor(waiting.length / batchSize) * batchSize;
    if (n > 0) {
      const t0 = performance.now();
      try {
        const vectors = await embedder.embedDocuments(
          waiting.slice(0, n).map((w) => w.text),
          options.signal,
        );
        waiting.slice(0, n).forEach((w, i) => {
          w.p.vectors.push(vectors[i]!);
        });
      } catch (e) {
        embeddingFailure = (e as Error).message;
        return flush(final);
      } finally {
        summary.ms.embedding += performance.now() - t0;
      }
    }
    while (pending.length > 0 && pending[0]!.vectors.length === pending[0]!.chunks.length) {
      const p = pending.shift()!;
      await storeOne(p, p.vectors);
    }
  };

  for (const rel of files) {
    options.signal?.throwIfAborted();
    const source = `${prefix}/${rel}`;
    // A file that is there but unreadable is still there: its old version must not be removed.
    const before = existing.get(source);
    existing.delete(source);
    let bytes: Buffer;
    try {
      bytes = await readRunbookFile(options.root, rel);
    } catch (e) {
      report(source, 'failed', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      continue;
    }
    const hash = sha256(bytes);
    // Keyword-only runs keep vectors made earlier; a new model means re-embedding.
    if (before?.hash === hash && (model === null || before.embeddingModel === model)) {
      report(source, 'unchanged');
      continue;
    }
    let prepared: Prepared;
    try {
      const doc = loadDocument(source, bytes);
      const metadata = documentMetadata(doc, options.team);
      const chunks: Chunk[] = chunkDocument(doc, options.chunking).map((c, ordinal) => ({
        id: `${source}#${ordinal}`,
        source,
        ordinal,
        title: doc.title,
        ...c,
        ...metadata,
      }));
      prepared = {
        file: source,
        outcome: before ? 'updated' : 'added',
        record: {
          source,
          title: doc.title,
          hash,
          embeddingModel: model,
          chunkCount: chunks.length,
          ingestedAt: new Date().toISOString(),
        },
        chunks,
      };
    } catch (e) {
      report(source, 'failed', (e as Error).message.replace(`${source}: `, ''));
      continue;
    }
    pending.push({ ...prepared, vectors: [] });
    await flush(false);
  }
  await flush(true);

  for (const source of existing.keys()) {
    await store.removeDocument(source);
    summary.files.removed++;
  }
  if (summary.files.added + summary.files.updated + summary.files.removed > 0) await store.flush?.();
  summary.ms.total = performance.now() - started;
  summary.ms.other = summary.ms.total - summary.ms.embedding;
  return summary;
}
