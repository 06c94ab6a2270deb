import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type Resource,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../policies/types.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import { alertResources } from './alert-resources.js';
import { gateDecision, type ResourceSource } from './resource-source.js';
import { runbookResources } from './runbook-resources.js';

export { RUNBOOK_URI_PREFIX, runbookUri, sourceOfUri } from './runbook-resources.js';

const PAGE = 200;
/** Resource change notifications are gathered for this long. */
const NOTIFY_MS = 500;
/** MCP's "resource not found". */
export const RESOURCE_NOT_FOUND = -32002;
export const INVALID_PARAMS = -32602;

/**
 * Serves every resource source the server has (none registered when there is none): one list
 * across sources, paged, templates, reads and, where a source watches for changes, list-changed
 * notifications and per-resource subscriptions.
 */
export function registerResources(server: Server, pipeline: ToolPipeline, principal: Principal): void {
  const sources = [runbookResources(pipeline), alertResources(pipeline)].filter(
    (s): s is ResourceSource => s !== undefined,
  );
  if (sources.length === 0) return;
  const watched = sources.some((s) => s.watch);
  const allowed = (s: ResourceSource) =>
    gateDecision(pipeline, principal, s.gateTool, { resource: s.template.uriTemplate }).effect === 'allow';

  server.registerCapabilities({ resources: { listChanged: watched, subscribe: watched } });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: sources.filter(allowed).map((s) => s.template),
  }));

  server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
    const cursor = request.params?.cursor;
    const offset = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(offset) || offset < 0)
      throw new McpError(INVALID_PARAMS, `invalid cursor '${cursor}'`);
    const all: Resource[] = [];
    for (const s of sources.filter(allowed)) all.push(...(await s.list()));
    return {
      resources: all.slice(offset, offset + PAGE),
      ...(offset + PAGE < all.length ? { nextCursor: String(offset + PAGE) } : {}),
    };
  });

  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const { uri } = request.params;
    const source = sources.find((s) => s.owns(uri));
    if (!source) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`);
    const decision = gateDecision(pipeline, principal, source.gateTool, { resource: uri });
    const audit = (outcome: 'success' | 'error' | 'denied') =>
      pipeline.recordDecision(principal, source.gateTool, { resource: uri }, decision, outcome);
    if (decision.effect !== 'allow') {
      await audit('denied');
      throw new McpError(
        INVALID_PARAMS,
        decision.effect === 'deny'
          ? `denied: ${decision.reason} (rule ${decision.rule})`
          : `these resources are readable only by those allowed to call ${source.gateTool} without approval`,
      );
    }
    const found = await source.read(uri, principal);
    await audit(found ? 'success' : 'error');
    if (!found) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: nothing at ${uri}`);
    return { contents: [{ uri, mimeType: found.mimeType, text: found.text }] };
  });

  if (!watched) return;
  // Subscriptions of this session; notifications only to a principal the gate lets read them.
  const subscribed = new Set<string>();
  server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const source = sources.find((s) => s.owns(request.params.uri));
    if (!source?.watch || !allowed(source))
      throw new McpError(INVALID_PARAMS, `cannot subscribe to ${request.params.uri}`);
    subscribed.add(request.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
  // A storm adds hundreds of groups a minute: changes are gathered and sent at most once per
  // NOTIFY_MS, one list-changed and one updated per subscribed resource.
  let listChanged = false;
  const updated = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (listChanged) void server.sendResourceListChanged().catch(() => undefined);
    for (const uri of updated) void server.sendResourceUpdated({ uri }).catch(() => undefined);
    listChanged = false;
    updated.clear();
  };
  const stops = sources.flatMap((s) =>
    s.watch
      ? [
          s.watch((uri) => {
            if (!allowed(s)) return;
            if (uri === undefined) listChanged = true;
            else if (subscribed.has(uri)) updated.add(uri);
            else return;
            timer ??= setTimeout(flush, NOTIFY_MS);
            timer.unref();
          }),
        ]
      : [],
  );
  const previous = server.onclose;
  server.onclose = () => {
    for (const stop of stops) stop();
    if (timer) clearTimeout(timer);
    previous?.();
  };
}
