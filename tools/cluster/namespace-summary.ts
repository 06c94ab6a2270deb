import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { kubeCall } from '../clients/kube.js';
import { defineTool, type ToolDef } from '../core/types.js';
import { clipMessage, plural } from '../shared/text.js';
import {
  age,
  assertNamespaceExists,
  clusterArg,
  formatCounts,
  namespaceArg,
  readAnnotations,
  TOOLSET,
} from './common.js';
import { formatRestartNote, lastRestartNote } from './diagnose.js';
import { podSummaries } from './pod-table.js';
import { listWorkloads } from './workloads.js';

const TOP = 5;
const WORKLOAD_ROWS = 10;
const HOUR_MS = 3_600_000;

/** Keeps the n largest items seen so far, without holding every item. */
class TopN<T> {
  readonly items: T[] = [];
  constructor(
    private readonly n: number,
    private readonly score: (t: T) => number,
  ) {}

  add(item: T): void {
    const s = this.score(item);
    if (this.items.length < this.n) this.items.push(item);
    else if (s > this.score(this.items[this.items.length - 1]!)) this.items[this.items.length - 1] = item;
    else return;
    this.items.sort((a, b) => this.score(b) - this.score(a));
  }
}

function lastSeen(e: CoreV1Event): number {
  return new Date(
    e.lastTimestamp ??
      e.series?.lastObservedTime ??
      e.eventTime ??
      e.firstTimestamp ??
      e.metadata?.creationTimestamp ??
      0,
  ).getTime();
}

const clip = (text: string | undefined, max = 200): string => clipMessage(text, max);

const namespaceSummary = defineTool({
  name: 'namespace_summary',
  title: 'Namespace: Summary',
  description:
    'A small health summary of one namespace or the whole cluster: pods by status, not-ready pods, total restarts and the top restarters, warning events of the last hour by reason with an example each, and workloads that are not fully available. Stays small however big the cluster. Call this first for "is anything wrong in payments?" or "how is the cluster doing?", then drill down with workload_describe or pods_get.',
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.optional().describe('Namespace; omit for the whole cluster'),
  }),
  output: z.object({
    cluster: z.string(),
    namespace: z.string().describe('the namespace, or "*" for all'),
    pods: z.object({
      total: z.number(),
      byStatus: z.record(z.string(), z.number()),
      notReady: z.number(),
      unhealthy: z.number(),
      restarts: z.number(),
      topRestarters: z.array(
        z.object({ namespace: z.string(), name: z.string(), restarts: z.number(), status: z.string() }),
      ),
    }),
    namespaces: z
      .array(z.object({ namespace: z.string(), pods: z.number(), unhealthy: z.number() }))
      .optional()
      .describe('all-namespaces only: the namespaces with the most unhealthy pods'),
    warningEvents: z.object({
      total: z.number().describe('warning events seen in the last hour'),
      occurrences: z.number(),
      byReason: z.record(z.string(), z.number()),
      examples: z.array(z.object({ reason: z.string(), object: z.string(), message: z.string() })),
    }),
    recentRestarts: z
      .array(
        z.object({
          namespace: z.string(),
          name: z.string(),
          workload: z.string().optional(),
          restarts: z.number(),
          lastRestart: z.string().describe('how long ago, e.g. "4m"'),
          container: z.string().optional(),
          reason: z.string().optional(),
          exitCode: z.number().optional(),
          memoryLimit: z.string().optional(),
        }),
      )
      .describe('pods whose containers restarted in the last hour, most restarts first, with why'),
    workloads: z.object({
      total: z.number(),
      notAvailable: z.number(),
      items: z.array(
        z.object({
          kind: z.string(),
          namespace: z.string(),
          name: z.string(),
          ready: z.string(),
          status: z.string(),
        }),
      ),
    }),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const ns = args.namespace;
    const where = ns ? `namespace '${ns}'` : 'all namespaces';
    const now = Date.now();

    const pods = {
      total: 0,
      byStatus: {} as Record<string, number>,
      notReady: 0,
      unhealthy: 0,
      restarts: 0,
    };
    const restarters = new TopN<{ namespace: string; name: string; restarts: number; status: string }>(
      TOP,
      (p) => p.restarts,
    );
    const recent = new TopN<{
      namespace: string;
      name: string;
      restarts: number;
      seconds: number;
    }>(TOP, (p) => p.restarts);
    const perNs = new Map<string, { pods: number; unhealthy: number }>();
    const warnings = { total: 0, occurrences: 0, byReason: {} as Record<string, number> };
    const examples = new Map<string, { reason: string; object: string; message: string; seen: number }>();

    const [, , workloads] = await Promise.all([
      kubeCall(cluster, `list pods in ${where}`, () =>
        podSummaries(cluster, { ...(ns ? { namespace: ns } : {}), signal: ctx.signal }),
      ).then((summaries) => {
        for (const s of summaries) {
          pods.total++;
          pods.byStatus[s.status] = (pods.byStatus[s.status] ?? 0) + 1;
          const [r, t] = s.ready.split('/');
          if (r !== t && s.status !== 'Completed' && s.status !== 'Succeeded') pods.notReady++;
          if (!s.healthy) pods.unhealthy++;
          pods.restarts += s.restarts;
          if (s.restarts > 0) {
            restarters.add({ namespace: s.namespace, name: s.name, restarts: s.restarts, status: s.status });
          }
          if (
            s.restarts > 0 &&
            s.lastRestartSeconds !== undefined &&
            s.lastRestartSeconds * 1000 <= HOUR_MS
          ) {
            recent.add({
              namespace: s.namespace,
              name: s.name,
              restarts: s.restarts,
              seconds: s.lastRestartSeconds,
            });
          }
          if (!ns) {
            const c = perNs.get(s.namespace) ?? { pods: 0, unhealthy: 0 };
            c.pods++;
            if (!s.healthy) c.unhealthy++;
            perNs.set(s.namespace, c);
          }
        }
      }),
      kubeCall(cluster, `list warning events in ${where}`, () =>
        cluster.raw.pages<CoreV1Event>(
          ns ? `/api/v1/namespaces/${ns}/events` : '/api/v1/events',
          { fieldSelector: 'type=Warning' },
          (items) => {
            for (const e of items) {
              const seen = lastSeen(e);
              if (now - seen > HOUR_MS) continue;
              const reason = e.reason ?? 'Unknown';
              const count = e.count ?? e.series?.count ?? 1;
              warnings.total++;
              warnings.occurrences += count;
              warnings.byReason[reason] = (warnings.byReason[reason] ?? 0) + 1;
              const prev = examples.get(reason);
              if (!prev || seen > prev.seen) {
                const o = e.involvedObject;
                examples.set(reason, {
                  reason,
                  object: `${ns ? '' : `${e.metadata?.namespace ?? ''}/`}${o?.kind ?? '?'}/${o?.name ?? '?'}`,
                  message: clip(e.message),
                  seen,
                });
              }
            }
          },
        ),
      ),
      listWorkloads(cluster, ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'], ns),
    ]);
    if (pods.total === 0 && workloads.length === 0 && ns) await assertNamespaceExists(cluster, ns);

    // Why the recent restarters restarted: a few pod reads, since the table carries no reasons.
    const recentRestarts = await Promise.all(
      recent.items.map(async (r) => {
        const pod = await cluster.raw
          .get<V1Pod>(`/api/v1/namespaces/${r.namespace}/pods/${r.name}`)
          .catch(() => undefined);
        const note = pod ? lastRestartNote(pod) : undefined;
        return {
          namespace: r.namespace,
          name: r.name,
          ...(note?.workload ? { workload: note.workload } : {}),
          restarts: r.restarts,
          lastRestart: age(new Date(now - r.seconds * 1000), now),
          ...(note
            ? {
                container: note.container,
                reason: note.reason,
                exitCode: note.exitCode,
                ...(note.memoryLimit ? { memoryLimit: note.memoryLimit } : {}),
              }
            : {}),
          text: note ? formatRestartNote(note) : undefined,
        };
      }),
    );

    const notAvailable = workloads
      .filter((w) => !w.healthy)
      .sort(
        (a, b) =>
          a.namespace.localeCompare(b.namespace) ||
          a.kind.localeCompare(b.kind) ||
          a.name.localeCompare(b.name),
      );
    const topReasons = Object.entries(warnings.byReason)
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([r]) => r);
    const structured = {
      cluster: cluster.name,
      namespace: ns ?? '*',
      pods: { ...pods, topRestarters: restarters.items },
      ...(ns
        ? {}
        : {
            namespaces: [...perNs.entries()]
              .filter(([, c]) => c.unhealthy > 0)
              .sort((a, b) => b[1].unhealthy - a[1].unhealthy || a[0].localeCompare(b[0]))
              .slice(0, TOP)
              .map(([namespace, c]) => ({ namespace, ...c })),
          }),
      recentRestarts: recentRestarts.map(({ text: _t, ...r }) => r),
      warningEvents: {
        ...warnings,
        examples: topReasons.map((r) => {
          const { seen: _s, ...ex } = examples.get(r)!;
          return ex;
        }),
      },
      workloads: {
        total: workloads.length,
        notAvailable: notAvailable.length,
        items: notAvailable.slice(0, WORKLOAD_ROWS).map((w) => ({
          kind: w.kind,
          namespace: w.namespace,
          name: w.name,
          ready: w.ready,
          status: w.status,
        })),
      },
    };

    const lines = [
      `Summary of ${where} in cluster '${cluster.name}':`,
      `Pods: ${pods.total}${pods.total ? ` (${formatCounts(pods.byStatus)})` : ''}; not ready ${pods.notReady}; unhealthy ${pods.unhealthy}; restarts ${pods.restarts}.`,
    ];
    if (restarters.items.length > 0) {
      lines.push(
        `Top restarters: ${restarters.items.map((p) => `${ns ? '' : `${p.namespace}/`}${p.name} ${p.restarts} (${p.status})`).join(', ')}.`,
      );
    }
    if (structured.namespaces && structured.namespaces.length > 0) {
      lines.push(
        `Namespaces with the most unhealthy pods: ${structured.namespaces.map((n) => `${n.namespace} ${n.unhealthy}/${n.pods}`).join(', ')}.`,
      );
    }
    if (recentRestarts.length > 0) {
      lines.push(
        `Restarted in the last hour: ${plural(recent.items.length, 'pod')}${recent.items.length === TOP ? ' (the top 5)' : ''}:`,
        ...recentRestarts.map(
          (r) =>
            `- ${ns ? '' : `${r.namespace}/`}${r.name}${r.workload ? ` (${r.workload})` : ''}: ${r.restarts} restarts, last ${r.lastRestart} ago${r.text ? `, ${r.text}` : ''}`,
        ),
      );
    }
    const recentWorkloads = new Set(recentRestarts.map((r) => r.workload ?? `Pod/${r.name}`)).size;
    lines.push(
      warnings.total === 0
        ? 'Warning events in the last hour: none.'
        : `Warning events in the last hour: ${warnings.total} (${warnings.occurrences} occurrences) by reason: ${formatCounts(warnings.byReason)}.`,
      ...structured.warningEvents.examples.map((e) => `- ${e.reason} on ${e.object}: ${e.message}`),
      notAvailable.length === 0
        ? recentWorkloads > 0
          ? `Workloads: ${workloads.length}, all fully available now, but ${plural(recentWorkloads, 'workload')} restarted containers in the last hour (above).`
          : `Workloads: ${workloads.length}, all fully available.`
        : `Workloads: ${workloads.length}, ${notAvailable.length} not fully available or failing${notAvailable.length > WORKLOAD_ROWS ? ` (first ${WORKLOAD_ROWS} shown; workloads_list with unhealthy=true lists them all)` : ''}:`,
      ...structured.workloads.items.map(
        (w) => `- ${w.kind} ${ns ? '' : `${w.namespace}/`}${w.name}: ${w.status}, ready ${w.ready}`,
      ),
    );
    return { kind: 'doc', text: lines.join('\n'), structured };
  },
});

export const namespaceSummaryTools: ToolDef[] = [namespaceSummary];
