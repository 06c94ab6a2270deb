/**
 * The runbook knowledge base: `openKnowledgeBase` for commands that need it now, and
 * `lazyKnowledgeBase` for the server and the tools, which open it (and ingest the shipped runbooks
 * and configured folders) on first use, so nothing waits on an embedding server at start.
 */
import type { IngestSummary } from './ingest.js';
import {
  configuredFolders,
  KnowledgeBase,
  type KnowledgeBaseOptions,
  type RunbookAdmin,
  type RunbookDocuments,
  type RunbookFolder,
  type RunbookSource,
} from './knowledge-base.js';
import type { DocumentRecord, RunbookSearcher, SearchOptions, SearchResult } from './types.js';

export type { Embedder } from './embeddings.js';
export { EmbeddingError, OllamaEmbedder } from './embeddings.js';
export type { IngestProgress, IngestSummary } from './ingest.js';
export {
  checkPrefix,
  configuredFolders,
  KnowledgeBase,
  type KnowledgeBaseOptions,
  type RunbookAdmin,
  type RunbookDocument,
  type RunbookDocuments,
  type RunbookFolder,
  type RunbookSource,
  type RunbooksSettings,
} from './knowledge-base.js';
export { HybridSearcher, identityReranker, type Reranker, reciprocalRankFusion } from './retrieval.js';
export { SHIPPED_PREFIX } from './shipped.js';
export { EmbeddedStore } from './store/embedded.js';
export type * from './types.js';

export function openKnowledgeBase(options: KnowledgeBaseOptions): Promise<KnowledgeBase> {
  return KnowledgeBase.open(options);
}

/** A knowledge base opened on first use; a failed opening is retried on the next use. */
export class LazyKnowledgeBase implements RunbookSearcher, RunbookDocuments, RunbookAdmin {
  private opening: Promise<KnowledgeBase> | undefined;

  constructor(private readonly options: KnowledgeBaseOptions) {}

  get(): Promise<KnowledgeBase> {
    this.opening ??= (async () => {
      const kb = await openKnowledgeBase(this.options);
      // Unchanged files cost a hash each; a folder that cannot be read must not stop searches.
      try {
        const summaries = await kb.sync();
        for (const s of summaries) {
          for (const f of s.failures) this.options.warn?.(`runbook ${f.file} skipped: ${f.error}`);
          for (const f of s.skipped) this.options.warn?.(`runbook ${f.file} skipped: ${f.reason}`);
        }
      } catch (e) {
        this.options.warn?.(`runbook ingestion on first use failed: ${(e as Error).message}`);
      }
      return kb;
    })();
    this.opening.catch(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async search(query: string, options?: SearchOptions): Promise<SearchResult> {
    return (await this.get()).search(query, options);
  }

  async listDocuments(): Promise<DocumentRecord[]> {
    return (await this.get()).listDocuments();
  }

  async readDocument(source: string) {
    return (await this.get()).readDocument(source);
  }

  async sources(): Promise<RunbookSource[]> {
    return (await this.get()).sources();
  }

  async removeSource(prefix: string): Promise<number> {
    return (await this.get()).removeSource(prefix);
  }

  folders(): RunbookFolder[] {
    return configuredFolders(this.options.runbooks);
  }

  async syncFolders(prefix?: string): Promise<IngestSummary[]> {
    return (await this.get()).syncFolders(prefix);
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    if (opening) await (await opening.catch(() => undefined))?.close();
  }
}

export function lazyKnowledgeBase(options: KnowledgeBaseOptions): LazyKnowledgeBase {
  return new LazyKnowledgeBase(options);
}
