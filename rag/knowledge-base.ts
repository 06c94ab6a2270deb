import { basename, join, resolve } from 'node:path';
import type { RunbooksConfig } from './config.js';
import { type Embedder, OllamaEmbedder } from './embeddings.js';
import { type IngestProgress, type IngestSummary, ingestFolder } from './ingest.js';
import { documentMarkdown } from './render.js';
import { type EmbeddingState, HybridSearcher, type Reranker } from './retrieval.js';
import { notARunbook, SHIPPED_PREFIX, shippedRunbooksDir } from './shipped.js';
import { EmbeddedStore } from './store/embedded.js';
import type { DocumentRecord, RunbookSearcher, RunbookStore, SearchOptions, SearchResult } from './types.js';

/** The `runbooks` section of the configuration, as app/config.ts validates it. */
export type RunbooksSettings = RunbooksConfig;

export interface KnowledgeBaseOptions {
  dataDir: string;
  runbooks: RunbooksSettings;
  /** Replaces the configured store (tests, benchmarks). */
  store?: RunbookStore;
  /** Replaces the configured embedder; null means keyword-only. */
  embedder?: Embedder | null;
  reranker?: Reranker;
  /** How long the first check of the embedding model may take. */
  probeTimeoutMs?: number;
  warn?: (message: string) => void;
}

export interface RunbookDocument {
  record: DocumentRecord;
  /** The document's text (Markdown for Markdown sources). */
  markdown: string;
}

/** What MCP resources need: the documents, whole. */
export interface RunbookDocuments {
  listDocuments(): Promise<DocumentRecord[]>;
  readDocument(source: string): Promise<RunbookDocument | undefined>;
}

export interface IngestRequest {
  dir: string;
  prefix?: string;
  team?: string;
  onProgress?: (event: IngestProgress) => void;
}

/** A folder to ingest with the source prefix its documents get. */
export interface RunbookFolder {
  path: string;
  prefix: string;
  team?: string;
}

/** One source prefix of the knowledge base: what is ingested under it, from where, when. */
export interface RunbookSource {
  prefix: string;
  /** The folder configuration names for it, "shipped" for Kubemate's own, or null (ingested by hand). */
  from: string | null;
  documents: number;
  chunks: number;
  /** The most recent ingestion of one of its documents (ISO time). */
  lastIngestedAt: string;
  /** Documents whose vectors came from an embedding model (the rest are keyword-only). */
  embedded: number;
}

/**
 * Managing what is ingested (the admin tools, the CLI): sources, removing one, ingesting the
 * configured folders again. Folders come only from the configuration: a caller never names a path,
 * so nothing the server can read beyond its runbook folders can be ingested and read back.
 */
export interface RunbookAdmin {
  sources(): Promise<RunbookSource[]>;
  removeSource(prefix: string): Promise<number>;
  /** The shipped runbooks and `runbooks.dirs`, each with its source prefix. */
  folders(): RunbookFolder[];
  /** Ingests every configured folder, or only the one with this source prefix. */
  syncFolders(prefix?: string): Promise<IngestSummary[]>;
}

/** How long a failed embedding check is trusted before the model is asked again. */
const RECHECK_MS = 60_000;

/** The folders configuration names, shipped runbooks first, each with its source prefix. */
export function configuredFolders(settings: RunbooksSettings): RunbookFolder[] {
  const folders: RunbookFolder[] = settings.includeShipped
    ? [{ path: shippedRunbooksDir(), prefix: SHIPPED_PREFIX }]
    : [];
  for (const d of settings.dirs) {
    const entry = typeof d === 'string' ? { path: d } : d;
    folders.push({
      path: resolve(entry.path),
      prefix: entry.prefix ?? basename(resolve(entry.path)),
      ...(entry.team ? { team: entry.team } : {}),
    });
  }
  return folders;
}

export function checkPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(prefix)) {
    throw new Error(`invalid source prefix '${prefix}': use letters, digits, '.', '_' and '-'`);
  }
  if (prefix === SHIPPED_PREFIX) {
    throw new Error(
      `the source prefix '${SHIPPED_PREFIX}' is reserved for the runbooks Kubemate ships; pick another`,
    );
  }
  return prefix;
}

async function openStore(options: KnowledgeBaseOptions): Promise<RunbookStore> {
  if (options.store) return options.store;
  const s = options.runbooks.store;
  if (s.kind === 'embedded') return new EmbeddedStore({ path: join(options.dataDir, 'runbooks.db') });
  const { MilvusStore } = await import('./store/milvus.js');
  const { kind: _kind, ...milvus } = s;
  return new MilvusStore(milvus);
}

/**
 * The runbook knowledge base: one store, the embedding model when one answers, hybrid retrieval,
 * incremental ingestion. Open it with `openKnowledgeBase`.
 */
export class KnowledgeBase implements RunbookSearcher, RunbookDocuments, RunbookAdmin {
  private state: EmbeddingState = { embedder: null, notice: 'the embedding model has not been checked yet' };
  private checkedAt = 0;
  private readonly searcher: HybridSearcher;

  private constructor(
    readonly store: RunbookStore,
    private readonly embedder: Embedder | null,
    private readonly options: KnowledgeBaseOptions,
  ) {
    this.searcher = new HybridSearcher({
      store,
      embedding: () => this.embedding(),
      // Keyword-only until the next check, so a dead server does not slow every search down.
      onEmbeddingFailure: (e) => {
        this.state = { embedder: null, notice: `${e.message}: keyword retrieval only` };
        this.checkedAt = Date.now();
      },
      ...(options.reranker ? { reranker: options.reranker } : {}),
    });
  }

  static async open(options: KnowledgeBaseOptions): Promise<KnowledgeBase> {
    const e = options.runbooks.embedding;
    const embedder =
      options.embedder !== undefined
        ? options.embedder
        : e.enabled
          ? new OllamaEmbedder({
              url: e.url,
              model: e.model,
              batchSize: e.batchSize,
              timeoutMs: e.timeoutSeconds * 1000,
              ...(e.maxResponseMiB ? { maxResponseBytes: e.maxResponseMiB * 1024 * 1024 } : {}),
            })
          : null;
    const kb = new KnowledgeBase(await openStore(options), embedder, options);
    await kb.check();
    return kb;
  }

  /** Which retrieval the next search will use, and why not dense when it will not. */
  get status(): { mode: 'hybrid' | 'keyword'; model: string | null; notice?: string } {
    return {
      mode: this.state.embedder ? 'hybrid' : 'keyword',
      model: this.embedder?.model ?? null,
      ...(this.state.notice ? { notice: this.state.notice } : {}),
    };
  }

  /** Asks the embedding model for its dimension and opens the store with it (or keyword-only). */
  private async check(): Promise<void> {
    this.checkedAt = Date.now();
    if (!this.embedder) {
      await this.store.open(null);
      this.state = {
        embedder: null,
        notice:
          this.options.embedder === null
            ? 'no embedding model: keyword retrieval only'
            : 'embeddings are disabled (runbooks.embedding.enabled: false): keyword retrieval only',
      };
      return;
    }
    let dimension: number;
    try {
      dimension = await this.embedder.probe(AbortSignal.timeout(this.options.probeTimeoutMs ?? 5000));
    } catch (e) {
      const reason =
        (e as Error).name === 'TimeoutError'
          ? `embedding server ${this.embedder.url} did not answer within ${(this.options.probeTimeoutMs ?? 5000) / 1000} s`
          : (e as Error).message;
      await this.store.open(null);
      this.state = { embedder: null, notice: `${reason}: keyword retrieval only` };
      return;
    }
    try {
      await this.store.open(dimension);
    } catch (e) {
      await this.store.open(null);
      this.state = { embedder: null, notice: `${(e as Error).message}; until then: keyword retrieval only` };
      return;
    }
    this.state = { embedder: this.embedder };
    await this.noteUnembedded();
  }

  /** Documents without vectors from the current model only match by keyword: say so. */
  private async noteUnembedded(): Promise<void> {
    if (!this.state.embedder) return;
    const model = this.state.embedder.model;
    const docs = await this.store.listDocuments();
    const missing = docs.filter((d) => d.embeddingModel !== model).length;
    this.state =
      missing > 0
        ? {
            embedder: this.state.embedder,
            notice: `${missing} of ${docs.length} runbooks have no ${model} embeddings yet and match by keyword only; run \`kubemate runbooks ingest\``,
          }
        : { embedder: this.state.embedder };
  }

  private async embedding(): Promise<EmbeddingState> {
    if (this.embedder && !this.state.embedder && Date.now() - this.checkedAt > RECHECK_MS) await this.check();
    return this.state;
  }

  search(query: string, options?: SearchOptions): Promise<SearchResult> {
    return this.searcher.search(query, options);
  }

  /** Ingests one folder; documents are sourced `${prefix}/…` (default prefix: the folder's name). */
  async ingest(request: IngestRequest): Promise<IngestSummary> {
    const dir = resolve(request.dir);
    const shipped = request.prefix === SHIPPED_PREFIX && dir === resolve(shippedRunbooksDir());
    const prefix = shipped ? SHIPPED_PREFIX : checkPrefix(request.prefix ?? basename(dir));
    // A model that was down at open may be back: ingest is a good moment to embed.
    if (this.embedder && !this.state.embedder) await this.check();
    const summary = await ingestFolder({
      store: this.store,
      embedder: this.state.embedder,
      root: dir,
      prefix,
      ...(request.team ? { team: request.team } : {}),
      ...(shipped ? { exclude: notARunbook } : {}),
      batchSize: this.options.runbooks.embedding.batchSize,
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    });
    await this.noteUnembedded();
    return summary;
  }

  /** Ingests the shipped runbooks (unless turned off) and every configured folder. */
  async sync(onProgress?: (folder: RunbookFolder, event: IngestProgress) => void): Promise<IngestSummary[]> {
    const out: IngestSummary[] = [];
    for (const folder of configuredFolders(this.options.runbooks)) {
      out.push(
        await this.ingest({
          dir: folder.path,
          prefix: folder.prefix,
          ...(folder.team ? { team: folder.team } : {}),
          ...(onProgress ? { onProgress: (e: IngestProgress) => onProgress(folder, e) } : {}),
        }),
      );
    }
    return out;
  }

  folders(): RunbookFolder[] {
    return configuredFolders(this.options.runbooks);
  }

  async syncFolders(prefix?: string): Promise<IngestSummary[]> {
    if (prefix === undefined) return this.sync();
    const folder = this.folders().find((f) => f.prefix === prefix);
    if (!folder) {
      const known = this.folders().map((f) => f.prefix);
      throw new Error(
        `no configured runbook folder has the source '${prefix}' (configured: ${known.join(', ') || 'none'}); folders are added in runbooks.dirs`,
      );
    }
    return [
      await this.ingest({
        dir: folder.path,
        prefix: folder.prefix,
        ...(folder.team ? { team: folder.team } : {}),
      }),
    ];
  }

  listDocuments(): Promise<DocumentRecord[]> {
    return this.store.listDocuments();
  }

  /** The source prefixes ingested, with their folder, document and chunk counts and last ingestion. */
  async sources(): Promise<RunbookSource[]> {
    const folders = configuredFolders(this.options.runbooks);
    const byPrefix = new Map<string, RunbookSource>();
    for (const d of await this.store.listDocuments()) {
      const prefix = d.source.slice(0, d.source.indexOf('/'));
      const folder = folders.find((f) => f.prefix === prefix);
      const s = byPrefix.get(prefix) ?? {
        prefix,
        from: prefix === SHIPPED_PREFIX ? 'shipped' : (folder?.path ?? null),
        documents: 0,
        chunks: 0,
        lastIngestedAt: d.ingestedAt,
        embedded: 0,
      };
      s.documents++;
      s.chunks += d.chunkCount;
      if (d.embeddingModel) s.embedded++;
      if (d.ingestedAt > s.lastIngestedAt) s.lastIngestedAt = d.ingestedAt;
      byPrefix.set(prefix, s);
    }
    return [...byPrefix.values()].sort((a, b) => a.prefix.localeCompare(b.prefix));
  }

  /**
   * Removes every document under one source prefix. The shipped runbooks and folders the
   * configuration names are refused (the next sync would ingest them again): turn them off in the
   * configuration instead. Returns the documents removed.
   */
  async removeSource(prefix: string): Promise<number> {
    if (prefix === SHIPPED_PREFIX) {
      throw new Error(
        `'${SHIPPED_PREFIX}' holds the runbooks Kubemate ships; set runbooks.includeShipped: false to leave them out`,
      );
    }
    const folder = configuredFolders(this.options.runbooks).find((f) => f.prefix === prefix);
    if (folder) {
      throw new Error(
        `'${prefix}' is the folder ${folder.path} in runbooks.dirs, which every sync ingests again; remove it from the configuration first`,
      );
    }
    const docs = (await this.store.listDocuments()).filter((d) => d.source.startsWith(`${prefix}/`));
    if (docs.length === 0) {
      const known = (await this.sources()).map((s) => s.prefix);
      throw new Error(
        `no runbooks under the source '${prefix}'${known.length ? `; the sources are: ${known.join(', ')}` : ''}`,
      );
    }
    for (const d of docs) await this.store.removeDocument(d.source);
    await this.store.flush?.();
    return docs.length;
  }

  async readDocument(source: string): Promise<RunbookDocument | undefined> {
    const record = (await this.store.listDocuments()).find((d) => d.source === source);
    if (!record) return undefined;
    return { record, markdown: documentMarkdown(await this.store.getChunks(source)) };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
