import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type Resource,
} from '@modelcontextprotocol/sdk/types.js';
import type { Decision, Principal } from '../policies/types.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import { defaultRedactor } from '../tools/core/redact.js';
import { ToolRegistry } from '../tools/core/registry.js';

/** `kubemate://runbooks/kubemate/oomkilled.md`: one resource per ingested runbook document. */
export const RUNBOOK_URI_PREFIX = 'kubemate://runbooks/';
/** Whoever may call this tool may read the documents it searches. */
const GATE_TOOL = 'runbooks_search';
const PAGE = 200;
/** MCP's "resource not found". */
const RESOURCE_NOT_FOUND = -32002;
const INVALID_PARAMS = -32602;

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
 * Serves the runbook documents as MCP resources, for principals the policy lets call
 * `runbooks_search` (decided by the same `decide()` as every tool call; a call that would need
 * approval does not open the documents either). Nothing is registered when the server has no
 * knowledge base or no such tool.
 */
export function registerRunbookResources(server: Server, pipeline: ToolPipeline, principal: Principal): void {
  const documents = pipeline.backends.runbookDocuments;
  const tool = pipeline.registry.find(GATE_TOOL);
  if (!documents || !tool) return;
  const decide = (): Decision =>
    pipeline.policy.decide(principal, ToolRegistry.facts(tool), { query: '(runbook documents)' });
  const refuse = (d: Decision) =>
    new McpError(
      INVALID_PARAMS,
      d.effect === 'deny'
        ? `denied: ${d.reason} (rule ${d.rule})`
        : `runbook documents are readable only by those allowed to call ${GATE_TOOL} without approval`,
    );

  server.registerCapabilities({ resources: { listChanged: false } });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates:
      decide().effect === 'allow'
        ? [
            {
              uriTemplate: `${RUNBOOK_URI_PREFIX}{+source}`,
              name: 'runbook',
              title: 'Runbook document',
              description:
                'A whole runbook by its source path, as runbooks_search cites it (kubemate/oomkilled.md).',
              mimeType: 'text/markdown',
            },
          ]
        : [],
  }));

  server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
    if (decide().effect !== 'allow') return { resources: [] };
    const cursor = request.params?.cursor;
    const offset = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(offset) || offset < 0)
      throw new McpError(INVALID_PARAMS, `invalid cursor '${cursor}'`);
    const docs = await documents.listDocuments();
    const page = docs.slice(offset, offset + PAGE);
    const resources: Resource[] = page.map((d) => ({
      uri: runbookUri(d.source),
      name: d.source,
      title: d.title,
      description: `Runbook "${d.title}" (${d.chunkCount} sections, ingested ${d.ingestedAt})`,
      mimeType: 'text/markdown',
    }));
    return {
      resources,
      ...(offset + PAGE < docs.length ? { nextCursor: String(offset + PAGE) } : {}),
    };
  });

  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const { uri } = request.params;
    const decision = decide();
    const audit = (outcome: 'success' | 'error' | 'denied') =>
      pipeline.recordDecision(principal, GATE_TOOL, { resource: uri }, decision, outcome);
    if (decision.effect !== 'allow') {
      audit('denied');
      throw refuse(decision);
    }
    const source = sourceOfUri(uri);
    const doc = source === undefined ? undefined : await documents.readDocument(source);
    audit(doc ? 'success' : 'error');
    if (!doc) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: no runbook document at ${uri}`);
    return { contents: [{ uri, mimeType: 'text/markdown', text: defaultRedactor(doc.markdown) }] };
  });
}
