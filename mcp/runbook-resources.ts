import type { Resource } from '@modelcontextprotocol/sdk/types.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import { defaultRedactor } from '../tools/core/redact.js';
import type { ResourceSource } from './resource-source.js';

/** `kubemate://runbooks/kubemate/oomkilled.md`: one resource per ingested runbook document. */
export const RUNBOOK_URI_PREFIX = 'kubemate://runbooks/';

export function runbookUri(source: string): string {
  return RUNBOOK_URI_PREFIX + source.split('/').map(encodeURIComponent).join('/');
}

export function sourceOfUri(uri: string): string | undefined {
  if (!uri.startsWith(RUNBOOK_URI_PREFIX)) return undefined;
  try {
    const source = uri.slice(RUNBOOK_URI_PREFIX.length).split('/').map(decodeURIComponent).join('/');
    return source && !source.split('/').includes('..') ? source : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The runbook documents, for principals the policy lets call `runbooks_search` (a call that would
 * need approval does not open the documents either). None when there is no knowledge base.
 */
export function runbookResources(pipeline: ToolPipeline): ResourceSource | undefined {
  const documents = pipeline.backends.runbookDocuments;
  if (!documents || !pipeline.registry.find('runbooks_search')) return undefined;
  return {
    gateTool: 'runbooks_search',
    template: {
      uriTemplate: `${RUNBOOK_URI_PREFIX}{+source}`,
      name: 'runbook',
      title: 'Runbook document',
      description: 'A whole runbook by its source path, as runbooks_search cites it (kubemate/oomkilled.md).',
      mimeType: 'text/markdown',
    },
    owns: (uri) => uri.startsWith(RUNBOOK_URI_PREFIX),
    async list() {
      return (await documents.listDocuments()).map(
        (d): Resource => ({
          uri: runbookUri(d.source),
          name: d.source,
          title: d.title,
          description: `Runbook "${d.title}" (${d.chunkCount} sections, ingested ${d.ingestedAt})`,
          mimeType: 'text/markdown',
        }),
      );
    },
    async read(uri) {
      const source = sourceOfUri(uri);
      const doc = source === undefined ? undefined : await documents.readDocument(source);
      return doc ? { mimeType: 'text/markdown', text: defaultRedactor(doc.markdown) } : undefined;
    },
  };
}
