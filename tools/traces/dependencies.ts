import { z } from 'zod';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import { type JaegerDependency, jaegerGet } from './client.js';
import {
  clusterArg,
  durationMs,
  lookbackArg,
  plural,
  readAnnotations,
  serviceArg,
  TOOLSET,
} from './common.js';

const DEFAULT_LOOKBACK = '24h';

const serviceDependencies = defineTool({
  name: 'service_dependencies',
  title: 'Service Dependencies: List',
  description:
    "Show which services call which, with call counts, from Jaeger's service dependency graph, optionally only the edges touching one service (its callers and what it calls). Call this to see the blast radius of a failing service or what a slow service depends on. Jaeger all-in-one and in-memory storage compute the graph from the stored traces on request; production Jaeger storage (Cassandra, Elasticsearch, OpenSearch) is fed by a periodic batch job (spark-dependencies), so the newest calls may be missing there.",
  input: z.object({
    cluster: clusterArg,
    service: serviceArg.optional().describe('Only edges where this service is the caller or the callee'),
    lookback: lookbackArg.optional().describe(`How far back (default ${DEFAULT_LOOKBACK})`),
  }),
  output: listOutput({
    total: z.number().describe('edges, exact'),
    services: z.number(),
    calls: z.number(),
    items: z.array(z.object({ parent: z.string(), child: z.string(), callCount: z.number() })),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const lookback = args.lookback ?? DEFAULT_LOOKBACK;
    const { data } = await jaegerGet<JaegerDependency[] | null>(ctx, args.cluster, 'api/dependencies', {
      endTs: Date.now(),
      lookback: durationMs(lookback),
    });
    // Several storage backends report one edge per source; count each caller → callee once.
    const merged = new Map<string, JaegerDependency>();
    for (const d of data ?? []) {
      const key = `${d.parent}\u0000${d.child}`;
      const hit = merged.get(key);
      if (hit) hit.callCount += d.callCount;
      else merged.set(key, { parent: d.parent, child: d.child, callCount: d.callCount });
    }
    let edges = [...merged.values()];
    if (args.service) edges = edges.filter((e) => e.parent === args.service || e.child === args.service);
    edges.sort((a, b) => b.callCount - a.callCount || a.parent.localeCompare(b.parent));
    const services = new Set(edges.flatMap((e) => [e.parent, e.child]));
    const calls = edges.reduce((n, e) => n + e.callCount, 0);
    let focus = '';
    if (args.service) {
      const callers = edges.filter((e) => e.child === args.service);
      const callees = edges.filter((e) => e.parent === args.service);
      focus = ` '${args.service}' is called by ${callers.length ? callers.map((e) => `${e.parent} (${e.callCount})`).join(', ') : 'no traced service'} and calls ${callees.length ? callees.map((e) => `${e.child} (${e.callCount})`).join(', ') : 'no traced service'}.`;
    }
    const header =
      edges.length === 0
        ? `No service dependencies${args.service ? ` involving '${args.service}'` : ''} in the last ${lookback}${args.service ? ' (check the name with services_list)' : ''}.`
        : `${plural(edges.length, 'dependency edge')} between ${plural(services.size, 'service')} in the last ${lookback}, ${plural(calls, 'call')} in all.${focus}`;
    return {
      kind: 'list',
      header,
      columns: ['CALLER', 'CALLEE', 'CALLS'],
      items: edges,
      row: (e: JaegerDependency) => [e.parent, e.child, String(e.callCount)],
      toStructured: (e: JaegerDependency) => ({ parent: e.parent, child: e.child, callCount: e.callCount }),
      narrow: 'give a service to see only its callers and callees',
      totals: { total: edges.length, services: services.size, calls },
    };
  },
});

export const dependencyTools: ToolDef[] = [serviceDependencies];
