import type { V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { type KubeCluster, kubeCall } from '../clients/kube.js';
import { defineTool, type ToolDef } from '../core/types.js';
import { assertNamespaceExists, clusterArg, nameArg, namespaceArg, podStatus, TOOLSET } from './common.js';

function podPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${namespace}/pods/${name}`;
}

async function readPod(cluster: KubeCluster, namespace: string, name: string): Promise<V1Pod> {
  return kubeCall(cluster, `get pod ${namespace}/${name}`, () =>
    cluster.raw.get<V1Pod>(podPath(namespace, name)),
  ).catch(async (e) => {
    if (e.code === 'not_found') await assertNamespaceExists(cluster, namespace);
    throw e;
  });
}

/** "ReplicaSet api-7d9f" when a controller owns the pod and will replace it. */
function controllerOf(pod: V1Pod): string | undefined {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
  return owner ? `${owner.kind} ${owner.name}` : undefined;
}

function consequence(pod: V1Pod): string {
  const owner = controllerOf(pod);
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror'])
    return 'it is a static (mirror) pod: the kubelet recreates it at once';
  if (owner?.startsWith('DaemonSet ')) return `${owner} will recreate it on the same node`;
  if (owner) return `${owner} will create a replacement`;
  return 'no controller manages it: it will not be recreated';
}

const podsDelete = defineTool({
  name: 'pods_delete',
  title: 'Pods: Delete',
  description:
    "Delete one pod. Call this to restart a stuck or misbehaving pod that a controller (Deployment, StatefulSet, DaemonSet, Job) will replace, or to remove a bare pod for good. The approval ticket says whether the pod will be recreated. Optional gracePeriodSeconds overrides the pod's own termination grace period (0 forces immediate removal).",
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.describe('Namespace of the pod'),
    name: nameArg.describe('Pod name'),
    gracePeriodSeconds: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .optional()
      .describe("Seconds the pod gets to shut down; omit for the pod's own setting"),
  }),
  output: z.object({
    cluster: z.string(),
    namespace: z.string(),
    name: z.string(),
    uid: z.string(),
    status: z.string().describe('status of the pod when it was deleted'),
    node: z.string(),
    controller: z.string().optional().describe('the controller that will replace it, when any'),
    gracePeriodSeconds: z.number().optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  permission: { toolset: TOOLSET, verb: 'write', namespaced: true },
  async preview(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const pod = await readPod(cluster, args.namespace, args.name);
    const grace =
      args.gracePeriodSeconds !== undefined
        ? `grace period ${args.gracePeriodSeconds}s`
        : `its own grace period (${pod.spec?.terminationGracePeriodSeconds ?? 30}s)`;
    return (
      `delete pod ${args.namespace}/${args.name} in cluster '${cluster.name}' ` +
      `(now ${podStatus(pod)} on node ${pod.spec?.nodeName ?? '<none>'}) with ${grace}; ${consequence(pod)}.`
    );
  },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const ref = `${args.namespace}/${args.name}`;
    const pod = await readPod(cluster, args.namespace, args.name);
    await kubeCall(cluster, `delete pod ${ref}`, () =>
      cluster.raw.request('DELETE', podPath(args.namespace, args.name), {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          // Deletes exactly the pod that was read, not a namesake created since.
          preconditions: { uid: pod.metadata?.uid },
          ...(args.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: args.gracePeriodSeconds } : {}),
        },
        signal: ctx.signal,
      }),
    );
    const controller = controllerOf(pod);
    const structured = {
      cluster: cluster.name,
      namespace: args.namespace,
      name: args.name,
      uid: pod.metadata?.uid ?? '',
      status: podStatus(pod),
      node: pod.spec?.nodeName ?? '<none>',
      ...(controller ? { controller } : {}),
      ...(args.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: args.gracePeriodSeconds } : {}),
    };
    return {
      kind: 'doc',
      text: `Deleted pod ${ref} in cluster '${cluster.name}' (was ${structured.status} on node ${structured.node}); ${consequence(pod)}.`,
      structured,
    };
  },
});

export const podWriteTools: ToolDef[] = [podsDelete];
