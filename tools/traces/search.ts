import { z } from 'zod';
import { suggestion } from '../core/errors.js';
import { defineTool, listOutput, type ToolContext, type ToolDef } from '../core/types.js';
import { buildTrace, type TraceModel } from './analysis.js';
import { type JaegerTrace, jaegerGet } from './client.js';
import {
  clip,
  clusterArg,
  fmtMicros,
  goDurationArg,
  lookbackArg,
  plural,
  readAnnotations,
  serviceArg,
  TOOLSET,
  timestampArg,
  timeWindow,
} from './common.js';
import { spanLabel } from './render.js';

const DEFAULT_LOOKBACK = '1h';

export async function serviceNames(ctx: ToolContext, cluster: string | undefined): Promise<string[]> {
  const { data } = await jaegerGet<string[] | null>(ctx, cluster, 'api/services');
  return [...(data ?? [])].sort();
}

/** An empty answer for a service Jaeger does not know is most often a typo: say so. */
async function unknownServiceHint(ctx: ToolContext, cluster: string | undefined, service: string) {
  const known = await serviceNames(ctx, cluster).catch(() => undefined);
  if (!known || known.includes(service)) return '';
  return ` Jaeger has no service '${service}'${suggestion(service, known)} (services_list shows all ${known.length}).`;
}

const servicesList = defineTool({
  name: 'services_list',
  title: 'Services: List',
  description:
    'List the services that have sent traces to Jaeger. Call this first when investigating traces, to get the exact service names that traces_search, operations_list and service_dependencies expect.',
  input: z.object({ cluster: clusterArg }),
  output: listOutput({
    total: z.number(),
    items: z.array(z.object({ service: z.string() })),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const names = await serviceNames(ctx, args.cluster);
    return {
      kind: 'list',
      header:
        names.length === 0
          ? 'Jaeger knows no services yet (no spans received in its retention window).'
          : `${plural(names.length, 'service')} in Jaeger.`,
      columns: ['SERVICE'],
      items: names,
      row: (s: string) => [s],
      toStructured: (s: string) => ({ service: s }),
      narrow: 'services are listed alphabetically; use traces_search with a service name',
      totals: { total: names.length },
    };
  },
});

interface Operation {
  name: string;
  spanKind: string;
}

const operationsList = defineTool({
  name: 'operations_list',
  title: 'Operations: List',
  description:
    "List a service's span operation names (endpoints, RPC methods, queries) as Jaeger knows them, with their span kind (server, client, producer, consumer, internal). Call this to get the exact operation name for traces_search.",
  input: z.object({
    cluster: clusterArg,
    service: serviceArg.describe('Service name, as services_list shows it'),
    spanKind: z
      .enum(['server', 'client', 'producer', 'consumer', 'internal'])
      .optional()
      .describe('Only operations of this span kind'),
  }),
  output: listOutput({
    service: z.string(),
    total: z.number(),
    byKind: z.record(z.string(), z.number()),
    items: z.array(z.object({ name: z.string(), spanKind: z.string() })),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const { data } = await jaegerGet<Operation[] | null>(ctx, args.cluster, 'api/operations', {
      service: args.service,
      spanKind: args.spanKind,
    });
    const ops = [...(data ?? [])]
      .map((o) => ({ name: o.name, spanKind: o.spanKind || 'unspecified' }))
      .sort((a, b) => a.spanKind.localeCompare(b.spanKind) || a.name.localeCompare(b.name));
    const byKind: Record<string, number> = {};
    for (const o of ops) byKind[o.spanKind] = (byKind[o.spanKind] ?? 0) + 1;
    const kinds = Object.entries(byKind)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    const header =
      ops.length === 0
        ? `No ${args.spanKind ? `${args.spanKind} ` : ''}operations for service '${args.service}'.${await unknownServiceHint(ctx, args.cluster, args.service)}`
        : `${plural(ops.length, 'operation')} of service '${args.service}': ${kinds}.`;
    return {
      kind: 'list',
      header,
      columns: ['KIND', 'OPERATION'],
      items: ops,
      row: (o: Operation) => [o.spanKind, o.name],
      toStructured: (o: Operation) => ({ name: o.name, spanKind: o.spanKind }),
      narrow: 'give spanKind (server for the endpoints a service exposes)',
      totals: { service: args.service, total: ops.length, byKind },
    };
  },
});

interface TraceRow {
  model: TraceModel;
  rootLabel: string;
  firstError?: string;
}

const traceItem = z.object({
  traceId: z.string(),
  start: z.string(),
  durationMs: z.number(),
  spans: z.number(),
  errors: z.number(),
  root: z.string(),
  services: z.array(z.string()),
  firstError: z.string().optional(),
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const tracesSearch = defineTool({
  name: 'traces_search',
  title: 'Traces: Search',
  description:
    'Find traces of one service in Jaeger, optionally of one operation, with span tags of that service (e.g. {"http.status_code":"500"} or {"error":"true"}), a minimum or maximum duration, over a recent window. Answers one row per trace (root operation, duration, span count, services, errors and the first error\'s message), failed and slowest first, with exact totals. Then call trace_get on a trace ID to see where the time went or what broke.',
  input: z.object({
    cluster: clusterArg,
    service: serviceArg.describe('Service name, as services_list shows it'),
    operation: z.string().min(1).max(512).optional().describe('Operation name, as operations_list shows it'),
    tags: z
      .record(z.string().min(1).max(256), z.string().max(1024))
      .optional()
      .describe(
        'Tags that must all match on one span of this service, e.g. {"error":"true","http.status_code":"503"}',
      ),
    errorsOnly: z
      .boolean()
      .optional()
      .describe('Only traces in which a span of this service failed (same as tags {"error":"true"})'),
    minDuration: goDurationArg.optional().describe('Only traces at least this long, e.g. "500ms" or "2s"'),
    maxDuration: goDurationArg.optional().describe('Only traces at most this long'),
    lookback: lookbackArg
      .optional()
      .describe(`How far back to search (default ${DEFAULT_LOOKBACK}), e.g. "15m", "6h", "2d"`),
    start: timestampArg.optional().describe('Window start (RFC 3339); overrides lookback'),
    end: timestampArg.optional().describe('Window end (RFC 3339); default now'),
    limit: z.number().int().min(1).max(200).optional().describe('Most traces to fetch (default 20, max 200)'),
  }),
  output: listOutput({
    service: z.string(),
    window: z.object({ start: z.string(), end: z.string() }),
    total: z.number().describe('traces found (at most limit)'),
    limitReached: z.boolean(),
    withErrors: z.number(),
    durationMs: z.object({ min: z.number(), p50: z.number(), p90: z.number(), max: z.number() }),
    items: z.array(traceItem),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const { startMs, endMs } = timeWindow(args, DEFAULT_LOOKBACK);
    const limit = args.limit ?? 20;
    const tags = { ...(args.tags ?? {}), ...(args.errorsOnly ? { error: 'true' } : {}) };
    const { data } = await jaegerGet<JaegerTrace[] | null>(ctx, args.cluster, 'api/traces', {
      service: args.service,
      operation: args.operation,
      tags: Object.keys(tags).length > 0 ? JSON.stringify(tags) : undefined,
      minDuration: args.minDuration,
      maxDuration: args.maxDuration,
      start: startMs * 1000,
      end: endMs * 1000,
      limit,
    });
    const rows: TraceRow[] = (data ?? [])
      .filter((t) => t.spans?.length > 0)
      .map((t) => {
        const model = buildTrace(t);
        const err = model.errors[0];
        return {
          model,
          rootLabel: spanLabel(model.root),
          ...(err ? { firstError: `${err.service}: ${clip(err.error!.message, 100)}` } : {}),
        };
      })
      .sort(
        (a, b) =>
          Number(b.model.errors.length > 0) - Number(a.model.errors.length > 0) ||
          b.model.duration - a.model.duration,
      );
    const durations = rows.map((r) => r.model.duration / 1000).sort((a, b) => a - b);
    const withErrors = rows.filter((r) => r.model.errors.length > 0).length;
    const window = { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() };
    const filters = [
      args.operation && `operation '${args.operation}'`,
      Object.keys(tags).length > 0 && `tags ${JSON.stringify(tags)}`,
      args.minDuration && `≥ ${args.minDuration}`,
      args.maxDuration && `≤ ${args.maxDuration}`,
    ]
      .filter(Boolean)
      .join(', ');
    const limitReached = rows.length >= limit;
    const stats = {
      min: durations[0] ?? 0,
      p50: percentile(durations, 0.5),
      p90: percentile(durations, 0.9),
      max: durations.at(-1) ?? 0,
    };
    const where = `service '${args.service}'${filters ? ` with ${filters}` : ''} from ${window.start} to ${window.end}`;
    const header =
      rows.length === 0
        ? `No traces of ${where}.${await unknownServiceHint(ctx, args.cluster, args.service)}`
        : `${plural(rows.length, 'trace')} of ${where}${limitReached ? ` (the limit of ${limit}: there may be more; raise limit or narrow the window)` : ''}: ${withErrors} with errors; duration min ${fmtMicros(stats.min * 1000)}, p50 ${fmtMicros(stats.p50 * 1000)}, p90 ${fmtMicros(stats.p90 * 1000)}, max ${fmtMicros(stats.max * 1000)}. Failed traces first, then slowest.`;
    return {
      kind: 'list',
      header,
      columns: ['TRACE ID', 'STARTED', 'DURATION', 'SPANS', 'ERRORS', 'ROOT', 'SERVICES'],
      items: rows,
      row: (r: TraceRow) => [
        r.model.traceId,
        new Date(r.model.start / 1000).toISOString().slice(11, 23),
        fmtMicros(r.model.duration),
        String(r.model.spans.length),
        r.firstError ? `${r.model.errors.length} (${r.firstError})` : '0',
        r.rootLabel,
        [...r.model.services.keys()].join(','),
      ],
      toStructured: (r: TraceRow) => ({
        traceId: r.model.traceId,
        start: new Date(r.model.start / 1000).toISOString(),
        durationMs: Math.round(r.model.duration) / 1000,
        spans: r.model.spans.length,
        errors: r.model.errors.length,
        root: r.rootLabel,
        services: [...r.model.services.keys()],
        ...(r.firstError ? { firstError: r.firstError } : {}),
      }),
      narrow: 'give an operation, tags, minDuration or errorsOnly=true, or a shorter lookback',
      totals: {
        service: args.service,
        window,
        total: rows.length,
        limitReached,
        withErrors,
        durationMs: stats,
      },
    };
  },
});

export const searchTools: ToolDef[] = [servicesList, operationsList, tracesSearch];
