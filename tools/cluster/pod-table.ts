import { ApiException } from '@kubernetes/client-node';
import type { KubeCluster } from '../clients/kube.js';
import { type PodSummary, parseAge } from './common.js';

/**
 * Pod summaries from the API server's own table printer (`as=Table`): the same NAME, READY,
 * STATUS, RESTARTS, AGE and NODE columns kubectl shows, computed server-side, at a small fraction
 * of the bytes of full pod objects. This is what lets a 30,000-pod cluster be listed quickly.
 */
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const PAGE = 2000;
const PARALLEL_NAMESPACES = 4;

interface TableRow {
  cells: unknown[];
  object?: { metadata?: { namespace?: string } };
}
interface Column {
  name: string;
}

function healthy(status: string, ready: string): boolean {
  const [r, t] = ready.split('/');
  return (status === 'Running' && r === t) || status === 'Completed' || status === 'Succeeded';
}

/**
 * Table rows of one namespace (`includeObject=None`: cells only), or of every namespace at once
 * (`includeObject=Metadata`, which carries each row's namespace but costs more bytes).
 */
async function tableRows(
  cluster: KubeCluster,
  namespace: string | undefined,
  query: Record<string, string | undefined>,
  out: PodSummary[],
  signal?: AbortSignal,
): Promise<void> {
  let columns: Record<string, number> | undefined;
  await cluster.raw.pages<TableRow>(
    namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods',
    { ...query, includeObject: namespace ? 'None' : 'Metadata' },
    (rows) => {
      for (const row of rows) {
        const cell = (name: string) => String(row.cells[columns?.[name] ?? -1] ?? '');
        const ready = cell('Ready');
        const status = cell('Status');
        // "3 (4m ago)": restarts, and how long ago the last one was
        const restartsCell = cell('Restarts');
        const ago = /\(([0-9smhdy]+) ago\)/.exec(restartsCell)?.[1];
        const restartedAgo = ago ? parseAge(ago) : undefined;
        out.push({
          namespace: namespace ?? row.object?.metadata?.namespace ?? '',
          name: cell('Name'),
          ready,
          status,
          restarts: Number.parseInt(restartsCell, 10) || 0,
          age: cell('Age'),
          node: cell('Node') || '<none>',
          healthy: healthy(status, ready),
          ...(restartedAgo !== undefined ? { lastRestartSeconds: restartedAgo } : {}),
        });
      }
    },
    PAGE,
    signal,
    TABLE,
    (page: { columnDefinitions?: Column[] }) => {
      if (page.columnDefinitions)
        columns = Object.fromEntries(page.columnDefinitions.map((c, i) => [c.name, i]));
    },
  );
}

/**
 * Names of the nodes whose STATUS is not Ready (NotReady, Unknown), from the nodes' table; empty
 * when the caller may not list nodes.
 */
export async function notReadyNodes(cluster: KubeCluster, signal?: AbortSignal): Promise<Set<string>> {
  const out = new Set<string>();
  let columns: Record<string, number> | undefined;
  try {
    await cluster.raw.pages<TableRow>(
      '/api/v1/nodes',
      { includeObject: 'None' },
      (rows) => {
        for (const row of rows) {
          const cell = (name: string) => String(row.cells[columns?.[name] ?? -1] ?? '');
          if (!cell('Status').split(',').includes('Ready')) out.add(cell('Name'));
        }
      },
      PAGE,
      signal,
      TABLE,
      (page: { columnDefinitions?: Column[] }) => {
        if (page.columnDefinitions)
          columns = Object.fromEntries(page.columnDefinitions.map((c, i) => [c.name, i]));
      },
    );
  } catch (e) {
    if (e instanceof ApiException && (e.code === 403 || e.code === 401)) return out;
    throw e;
  }
  return out;
}

/**
 * A running pod on a node that is not Ready is not ready, whatever its containers last reported:
 * the kubelet that would update them is not answering (kubectl still shows `1/1 Running`).
 */
export function markNodeNotReady(pods: PodSummary[], nodes: Set<string>): void {
  if (nodes.size === 0) return;
  for (const p of pods) {
    if (!nodes.has(p.node) || p.status !== 'Running') continue;
    const total = p.ready.split('/')[1] ?? '1';
    p.ready = `0/${total}`;
    p.healthy = false;
    p.notReadyReason = 'NodeNotReady';
  }
}

/**
 * Summaries of the pods in one namespace, or in every namespace (read a few namespaces at a time,
 * since table rows carry no namespace of their own). Pods on nodes that are not Ready are marked
 * not ready.
 */
export async function podSummaries(
  cluster: KubeCluster,
  opts: { namespace?: string; labelSelector?: string; fieldSelector?: string; signal?: AbortSignal },
): Promise<PodSummary[]> {
  const [pods, nodes] = await Promise.all([podRows(cluster, opts), notReadyNodes(cluster, opts.signal)]);
  markNodeNotReady(pods, nodes);
  return pods;
}

async function podRows(
  cluster: KubeCluster,
  opts: { namespace?: string; labelSelector?: string; fieldSelector?: string; signal?: AbortSignal },
): Promise<PodSummary[]> {
  const query = { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector };
  const out: PodSummary[] = [];
  if (opts.namespace) {
    await tableRows(cluster, opts.namespace, query, out, opts.signal);
    return out;
  }
  const namespaces: string[] = [];
  try {
    await cluster.raw.pages<{ metadata?: { name?: string } }>('/api/v1/namespaces', {}, (items) => {
      for (const ns of items) if (ns.metadata?.name) namespaces.push(ns.metadata.name);
    });
  } catch (e) {
    // Some callers may list pods everywhere but not namespaces: one cluster-wide table instead.
    if (!(e instanceof ApiException) || e.code !== 403) throw e;
    await tableRows(cluster, undefined, query, out, opts.signal);
    return out;
  }
  let next = 0;
  const worker = async () => {
    while (next < namespaces.length) {
      const ns = namespaces[next++]!;
      await tableRows(cluster, ns, query, out, opts.signal);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_NAMESPACES, namespaces.length) }, worker));
  return out;
}
