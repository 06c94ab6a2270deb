import { ApiException } from '@kubernetes/client-node';
import { suggestion, ToolError } from '../core/errors.js';
import { apiVersionProblem, pathSegment } from '../shared/k8s-names.js';
import { type KubeCluster, kubeCall } from './kube.js';

/** One API resource as discovery describes it, with the REST paths to reach its objects. */
export interface ResolvedKind {
  /** "apps/v1", or "v1" for the core group. */
  apiVersion: string;
  group: string;
  version: string;
  kind: string;
  /** Plural resource name used in paths: "deployments". */
  resource: string;
  namespaced: boolean;
  verbs: string[];
  /** The collection: /apis/apps/v1/namespaces/NS/deployments, or /apis/apps/v1/deployments across namespaces. */
  collectionPath(namespace?: string): string;
  /** One object: /apis/apps/v1/namespaces/NS/deployments/NAME (namespace ignored for cluster-scoped kinds). */
  objectPath(name: string, namespace?: string): string;
}

export interface APIResource {
  name: string;
  singularName?: string;
  namespaced: boolean;
  kind: string;
  verbs?: string[];
  shortNames?: string[];
}

interface CachedList {
  at: number;
  resources: Promise<APIResource[]>;
}

/** Discovery answers change only when CRDs or aggregated APIs change; a miss refetches after this. */
const MISS_REFRESH_MS = 10_000;
const MAX_AGE_MS = 10 * 60_000;

/** Per API server, per groupVersion. Impersonated views of one cluster share it: discovery is public. */
const cache = new Map<string, Map<string, CachedList>>();

/** `/api/v1` or `/apis/apps/v1`; an apiVersion that is not `[group/]version` never becomes a path. */
function basePath(apiVersion: string): string {
  const problem = apiVersionProblem(apiVersion);
  if (problem)
    throw new ToolError('invalid_arguments', `apiVersion '${apiVersion}' is not valid: ${problem}`);
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? `/api/${pathSegment(apiVersion, 'version')}`
    : `/apis/${pathSegment(apiVersion.slice(0, slash), 'API group')}/${pathSegment(apiVersion.slice(slash + 1), 'version')}`;
}

function resourcesOf(cluster: KubeCluster, apiVersion: string, refresh: boolean): Promise<APIResource[]> {
  const key = `${cluster.name}\u0000${cluster.server}`;
  let lists = cache.get(key);
  if (!lists) {
    lists = new Map();
    cache.set(key, lists);
  }
  const hit = lists.get(apiVersion);
  const now = Date.now();
  if (hit && now - hit.at < (refresh ? MISS_REFRESH_MS : MAX_AGE_MS)) return hit.resources;
  const resources = cluster.raw
    .get<{ resources?: APIResource[] }>(basePath(apiVersion))
    // Subresources (deployments/scale) are not kinds of their own.
    .then((l) => (l.resources ?? []).filter((r) => !r.name.includes('/')));
  lists.set(apiVersion, { at: now, resources });
  resources.catch(() => lists.delete(apiVersion));
  return resources;
}

async function servedGroupVersions(cluster: KubeCluster): Promise<string[]> {
  const [core, groups] = await Promise.all([
    cluster.raw.get<{ versions?: string[] }>('/api').catch(() => ({ versions: [] as string[] })),
    cluster.raw
      .get<{ groups?: Array<{ versions?: Array<{ groupVersion: string }> }> }>('/apis')
      .catch(() => ({ groups: [] })),
  ]);
  return [
    ...(core.versions ?? []),
    ...(groups.groups ?? []).flatMap((g) => (g.versions ?? []).map((v) => v.groupVersion)),
  ];
}

function matchKind(resources: APIResource[], kind: string): APIResource | undefined {
  const lower = kind.toLowerCase();
  return (
    resources.find((r) => r.kind === kind) ??
    resources.find(
      (r) =>
        r.kind.toLowerCase() === lower ||
        r.name === lower ||
        r.singularName === lower ||
        (r.shortNames ?? []).includes(lower),
    )
  );
}

/**
 * Finds how the API server serves `kind` in `apiVersion` (by kind, or by plural, singular or short
 * name), from discovery cached per cluster. Unknown versions and kinds fail with what is served.
 */
export async function resolveKind(
  cluster: KubeCluster,
  apiVersion: string,
  kind: string,
): Promise<ResolvedKind> {
  const action = `discover ${kind} in ${apiVersion}`;
  const load = (refresh: boolean) =>
    kubeCall(cluster, action, () =>
      resourcesOf(cluster, apiVersion, refresh).catch(async (e) => {
        if (!(e instanceof ApiException) || e.code !== 404) throw e;
        const served = await servedGroupVersions(cluster);
        throw new ToolError(
          'not_found',
          `apiVersion '${apiVersion}' is not served by cluster '${cluster.name}'${suggestion(apiVersion, served)}`,
        );
      }),
    );
  let found = matchKind(await load(false), kind);
  // A CRD installed a moment ago: look again before giving up.
  if (!found) found = matchKind(await load(true), kind);
  if (!found) {
    const kinds = (await load(false)).map((r) => r.kind);
    throw new ToolError(
      'not_found',
      `kind '${kind}' is not served in ${apiVersion} by cluster '${cluster.name}'${suggestion(kind, kinds)}` +
        ` (it serves: ${[...new Set(kinds)].sort().join(', ')})`,
    );
  }
  const base = basePath(apiVersion);
  const r = found;
  const slash = apiVersion.indexOf('/');
  return {
    apiVersion,
    group: slash < 0 ? '' : apiVersion.slice(0, slash),
    version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    kind: r.kind,
    resource: r.name,
    namespaced: r.namespaced,
    verbs: r.verbs ?? [],
    // Every segment is checked and encoded here as well as by the tools' schemas: a second wall.
    collectionPath: (namespace) =>
      r.namespaced && namespace
        ? `${base}/namespaces/${pathSegment(namespace, 'namespace')}/${pathSegment(r.name, 'resource')}`
        : `${base}/${pathSegment(r.name, 'resource')}`,
    objectPath: (name, namespace) => {
      if (r.namespaced && !namespace) {
        throw new ToolError('invalid_arguments', `${r.kind} is namespaced: give a namespace for '${name}'`);
      }
      const object = `${pathSegment(r.name, 'resource')}/${pathSegment(name, `${r.kind} name`)}`;
      return r.namespaced
        ? `${base}/namespaces/${pathSegment(namespace!, 'namespace')}/${object}`
        : `${base}/${object}`;
    },
  };
}
