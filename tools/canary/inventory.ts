/**
 * Reading canaries from the cluster: every split and controller of the providers it serves, the
 * backends' Deployments (ready replicas, images), and one canary found by name.
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { type KubeCluster, kubeCall } from '../clients/kube.js';
import { suggestion, ToolError } from '../core/errors.js';
import type { CanaryKind } from './common.js';
import { type ControllerView, controllerOf, readArgo, readFlagger } from './controllers.js';
import { ANALYSIS_RUNS, type Discovered, discover, resourcePath } from './discovery.js';
import { describeSplit, type KubeObject, readSplit, type Split, type SplitKind } from './splits.js';

export interface Inventory {
  discovered: Discovered;
  splits: Split[];
  controllers: ControllerView[];
  /** Providers that could not be read (forbidden, say), with why. */
  unreadable: string[];
}

async function listAll(cluster: KubeCluster, path: string, signal?: AbortSignal): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  await cluster.raw.pages<KubeObject>(path, {}, (page) => out.push(...page), 500, signal);
  return out;
}

export async function inventory(
  cluster: KubeCluster,
  namespace: string | undefined,
  signal?: AbortSignal,
): Promise<Inventory> {
  const discovered = await discover(cluster, signal);
  const unreadable: string[] = [];
  const read = async (kind: CanaryKind) => {
    const r = discovered.found[kind];
    if (!r) return [];
    try {
      return await kubeCall(cluster, `list ${r.label}s`, () =>
        listAll(cluster, resourcePath(r, namespace), signal),
      );
    } catch (e) {
      unreadable.push(`${r.label}: ${(e as Error).message}`);
      return [];
    }
  };
  const runsPath = discovered.found['argo-rollout'] ? resourcePath(ANALYSIS_RUNS, namespace) : undefined;
  const [routes, linkerd, ts, flagger, argo, runs] = await Promise.all([
    read('httproute'),
    read('linkerd-httproute'),
    read('trafficsplit'),
    read('flagger-canary'),
    read('argo-rollout'),
    runsPath ? listAll(cluster, runsPath, signal).catch(() => []) : Promise.resolve([]),
  ]);
  const splits = [
    ...routes.map((o) => readSplit('httproute', o)),
    ...linkerd.map((o) => readSplit('linkerd-httproute', o)),
    ...ts.map((o) => readSplit('trafficsplit', o)),
  ];
  const controllers = [...flagger.map(readFlagger), ...argo.map((o) => readArgo(o, runs))];
  return { discovered, splits, controllers, unreadable };
}

export interface Found {
  split?: Split;
  controller?: ControllerView;
  inventory: Inventory;
}

/** One canary by name: a split, or a controller with the split it manages. */
export async function findCanary(
  cluster: KubeCluster,
  namespace: string,
  name: string,
  kind: CanaryKind | undefined,
  signal?: AbortSignal,
): Promise<Found> {
  const inv = await inventory(cluster, namespace, signal);
  if (kind && !inv.discovered.found[kind]) {
    const why = inv.discovered.missing.find((m) => m.kind === kind);
    throw new ToolError(
      'not_found',
      `${why?.label ?? kind} is ${why?.why ?? 'not served'} in cluster '${cluster.name}'`,
    );
  }
  const splits = inv.splits.filter((s) => s.name === name && (!kind || s.kind === kind));
  const controllers = inv.controllers.filter(
    (c) =>
      c.name === name &&
      (!kind ||
        (kind === 'flagger-canary' ? c.kind === 'flagger' : kind === 'argo-rollout' && c.kind === 'argo')),
  );
  const hits = splits.length + controllers.length;
  if (hits === 0) {
    const names = [...new Set([...inv.splits.map((s) => s.name), ...inv.controllers.map((c) => c.name)])];
    const served = Object.values(inv.discovered.found).map((r) => r!.label);
    throw new ToolError(
      'not_found',
      `no canary named '${name}' in namespace ${namespace} of cluster '${cluster.name}'${suggestion(name, names)}; ` +
        (names.length ? `canaries there: ${names.slice(0, 20).join(', ')}` : 'there are none') +
        ` (looked at ${served.join(', ') || 'nothing: no traffic-split CRD is installed'})`,
    );
  }
  // A controller and the split it manages share a name (Flagger, Argo with default names): one canary.
  if (splits.length === 1 && controllers.length <= 1) {
    const split = splits[0]!;
    const controller = controllerOf(split, inv.controllers);
    if (controllers.length === 0 || controllers[0] === controller)
      return { split, controller, inventory: inv };
  }
  if (splits.length === 0 && controllers.length === 1) {
    const controller = controllers[0]!;
    const split = inv.splits.find((s) => controllerOf(s, inv.controllers) === controller);
    return { controller, inventory: inv, ...(split ? { split } : {}) };
  }
  const what = [...splits.map((s) => describeSplit(s)), ...controllers.map((c) => `${c.kind} ${c.name}`)];
  throw new ToolError(
    'invalid_arguments',
    `'${name}' names more than one object (${what.join(', ')}); pass kind to choose one`,
  );
}

/** Re-reads one split just before a write: the plan is made from this, and the patch tests its resourceVersion. */
export async function readOneSplit(
  cluster: KubeCluster,
  inv: Inventory,
  kind: SplitKind,
  namespace: string,
  name: string,
  signal?: AbortSignal,
) {
  const r = inv.discovered.found[kind]!;
  const o = await kubeCall(cluster, `read ${r.label} ${namespace}/${name}`, () =>
    cluster.raw.get<KubeObject>(resourcePath(r, namespace, name), {}, signal),
  ).catch((e) => {
    if ((e as ToolError).code === 'not_found') {
      throw new ToolError(
        'not_found',
        `${r.label} ${namespace}/${name} is gone (deleted while this call ran?); nothing was changed`,
      );
    }
    throw e;
  });
  return readSplit(kind, o);
}

export interface BackendInfo {
  name: string;
  /** Deployments the Service selects (by pod template labels). */
  deployments: Array<{ name: string; ready: number; replicas: number; images: string[] }>;
  problem?: string;
}

const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** For each backend Service: the Deployments behind it, with ready replicas and images. */
export async function backendsOf(
  cluster: KubeCluster,
  namespace: string,
  names: string[],
  signal?: AbortSignal,
): Promise<BackendInfo[]> {
  const [services, deployments] = await Promise.all([
    kubeCall(cluster, `list services in ${namespace}`, () =>
      cluster.raw.list<V1Service>(`/api/v1/namespaces/${namespace}/services`, {}),
    ),
    kubeCall(cluster, `list deployments in ${namespace}`, () =>
      cluster.raw.list<V1Deployment>(`/apis/apps/v1/namespaces/${namespace}/deployments`, {}),
    ),
  ]);
  void signal;
  return names.map((name) => {
    if (name.includes('/')) return { name, deployments: [], problem: 'in another namespace (not read)' };
    const svc = services.find((s) => s.metadata?.name === name);
    if (!svc) return { name, deployments: [], problem: 'Service not found' };
    const selector = svc.spec?.selector ?? {};
    const hits = deployments.filter((d) => selects(selector, d.spec?.template?.metadata?.labels));
    return {
      name,
      deployments: hits.map((d) => ({
        name: d.metadata?.name ?? '',
        ready: d.status?.readyReplicas ?? 0,
        replicas: d.spec?.replicas ?? 1,
        images: (d.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? ''),
      })),
      ...(hits.length ? {} : { problem: 'no Deployment matches its selector' }),
    };
  });
}
