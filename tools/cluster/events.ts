import type { CoreV1Event } from '@kubernetes/client-node';
import { z } from 'zod';
import { type KubeCluster, kubeCall } from '../clients/kube.js';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import {
  age,
  assertNamespaceExists,
  clusterArg,
  countBy,
  formatCounts,
  nameArg,
  namespaceArg,
  PAGE_SIZE,
  readAnnotations,
  TOOLSET,
} from './common.js';

const MESSAGE_CHARS = 240;

function lastSeen(e: CoreV1Event): number {
  return new Date(
    e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? 0,
  ).getTime();
}

/** Warnings first, then most recent first. */
export function sortEvents(events: CoreV1Event[]): CoreV1Event[] {
  return [...events].sort(
    (a, b) => Number(b.type === 'Warning') - Number(a.type === 'Warning') || lastSeen(b) - lastSeen(a),
  );
}

function oneLine(text: string | undefined): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  if (flat.length <= MESSAGE_CHARS) return flat;
  // The cause is often at the end ("… failed to pull image …: 401 Unauthorized"): keep both ends.
  const tail = Math.floor(MESSAGE_CHARS / 2) - 1;
  return `${flat.slice(0, MESSAGE_CHARS - tail - 1)}…${flat.slice(-tail)}`;
}

/** Events about one object, warnings first. */
export async function eventsFor(
  cluster: KubeCluster,
  namespace: string,
  kind: string,
  name: string,
): Promise<CoreV1Event[]> {
  const list = await kubeCall(cluster, `list events for ${kind} ${namespace}/${name}`, () =>
    cluster.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
    }),
  );
  return sortEvents(list.items);
}

export function describeEvents(events: CoreV1Event[], limit = 15): string[] {
  const lines = events
    .slice(0, limit)
    .map(
      (e) =>
        `- ${e.type ?? 'Normal'} ${e.reason ?? ''}${(e.count ?? 1) > 1 ? ` ×${e.count}` : ''} (${age(new Date(lastSeen(e)))} ago): ${oneLine(e.message)}`,
    );
  if (events.length > limit) lines.push(`- … ${events.length - limit} older events not shown`);
  return lines;
}

interface EventRow {
  namespace: string;
  lastSeen: string;
  type: string;
  reason: string;
  object: string;
  count: number;
  message: string;
}

const eventsList = defineTool({
  name: 'events_list',
  title: 'Events: List',
  description:
    'List Kubernetes events, warnings first and newest first, in one namespace or all, optionally only those about one object (kind and name) or only warnings. Call this to learn why something is failing: scheduling failures, image pulls, probes, OOM kills, evictions.',
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.optional().describe('Namespace; omit for all namespaces'),
    kind: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]*$/, 'must be a Kubernetes kind such as Pod or Deployment')
      .optional()
      .describe('Kind of the involved object, e.g. Pod, Deployment, Node'),
    name: nameArg.optional().describe('Name of the involved object'),
    warningsOnly: z.boolean().optional().describe('Only events of type Warning'),
  }),
  output: listOutput({
    cluster: z.string(),
    namespace: z.string(),
    total: z.number(),
    warnings: z.number(),
    byReason: z.record(z.string(), z.number()),
    items: z.array(
      z.object({
        namespace: z.string(),
        lastSeen: z.string(),
        type: z.string(),
        reason: z.string(),
        object: z.string(),
        count: z.number(),
        message: z.string(),
      }),
    ),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const selectors = [
      args.kind && `involvedObject.kind=${args.kind}`,
      args.name && `involvedObject.name=${args.name}`,
      args.warningsOnly && 'type=Warning',
    ].filter(Boolean);
    const fieldSelector = selectors.length > 0 ? selectors.join(',') : undefined;
    const where = args.namespace ? `namespace '${args.namespace}'` : 'all namespaces';
    const path = args.namespace ? `/api/v1/namespaces/${args.namespace}/events` : '/api/v1/events';
    const events = await kubeCall(cluster, `list events in ${where}`, () =>
      cluster.raw.list<CoreV1Event>(path, { fieldSelector }, PAGE_SIZE),
    );
    if (events.length === 0 && args.namespace) await assertNamespaceExists(cluster, args.namespace);
    const rows: EventRow[] = sortEvents(events).map((e) => ({
      namespace: e.metadata?.namespace ?? '',
      lastSeen: new Date(lastSeen(e)).toISOString(),
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      object: `${e.involvedObject?.kind ?? '?'}/${e.involvedObject?.name ?? '?'}`,
      count: e.count ?? e.series?.count ?? 1,
      message: oneLine(e.message),
    }));
    const warnings = rows.filter((r) => r.type === 'Warning').length;
    const byReason = countBy(rows, (r) => r.reason);
    const about =
      args.kind || args.name ? ` about ${args.kind ?? 'any kind'} ${args.name ?? ''}`.trimEnd() : '';
    const header =
      rows.length === 0
        ? `No ${args.warningsOnly ? 'warning ' : ''}events${about} in ${where} of cluster '${cluster.name}'.`
        : `${rows.length} events${about} in ${where} of cluster '${cluster.name}' (${warnings} warnings). By reason: ${formatCounts(byReason)}.`;
    const allNs = !args.namespace;
    const now = Date.now();
    return {
      kind: 'list',
      header,
      columns: [...(allNs ? ['NAMESPACE'] : []), 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'COUNT', 'MESSAGE'],
      items: rows,
      row: (r: EventRow) => [
        ...(allNs ? [r.namespace] : []),
        age(r.lastSeen, now),
        r.type,
        r.reason,
        r.object,
        String(r.count),
        r.message,
      ],
      toStructured: (r: EventRow) => ({ ...r }),
      narrow: 'give a namespace, a kind and name of the object, or warningsOnly=true',
      totals: {
        cluster: cluster.name,
        namespace: args.namespace ?? '*',
        total: rows.length,
        warnings,
        byReason,
      },
    };
  },
});

export const eventTools: ToolDef[] = [eventsList];
