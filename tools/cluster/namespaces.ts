import type { V1Namespace } from '@kubernetes/client-node';
import { z } from 'zod';
import { kubeCall } from '../clients/kube.js';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import { age, clusterArg, PAGE_SIZE, readAnnotations, selectorArg, TOOLSET } from './common.js';

interface NamespaceRow {
  name: string;
  status: string;
  age: string;
}

const namespacesList = defineTool({
  name: 'namespaces_list',
  title: 'Namespaces: List',
  description:
    'List the namespaces of a cluster with their status and age. Call this to find the right namespace name before listing pods or events, or to see which clusters are configured (an unknown cluster name in the error lists them).',
  input: z.object({
    cluster: clusterArg,
    labelSelector: selectorArg.optional().describe('Kubernetes label selector, e.g. "team=payments"'),
  }),
  output: listOutput({
    cluster: z.string(),
    total: z.number(),
    terminating: z.number(),
    items: z.array(z.object({ name: z.string(), status: z.string(), age: z.string() })),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const list = await kubeCall(cluster, 'list namespaces', () =>
      cluster.raw.list<V1Namespace>('/api/v1/namespaces', { labelSelector: args.labelSelector }, PAGE_SIZE),
    );
    const now = Date.now();
    const rows: NamespaceRow[] = list
      .map((ns) => ({
        name: ns.metadata?.name ?? '',
        status: ns.status?.phase ?? 'Unknown',
        age: age(ns.metadata?.creationTimestamp, now),
      }))
      .sort(
        (a, b) =>
          Number(a.status === 'Active') - Number(b.status === 'Active') || a.name.localeCompare(b.name),
      );
    const terminating = rows.filter((r) => r.status !== 'Active').length;
    return {
      kind: 'list',
      header: `${rows.length} namespaces in cluster '${cluster.name}'${terminating ? ` (${terminating} not Active)` : ''}.`,
      columns: ['NAME', 'STATUS', 'AGE'],
      items: rows,
      row: (r: NamespaceRow) => [r.name, r.status, r.age],
      toStructured: (r: NamespaceRow) => ({ ...r }),
      narrow: 'give a labelSelector',
      totals: { cluster: cluster.name, total: rows.length, terminating },
    };
  },
});

export const namespaceTools: ToolDef[] = [namespacesList];
