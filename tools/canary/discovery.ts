/**
 * Which traffic-split providers and release controllers a cluster serves, from the API server's
 * discovery documents. A missing CRD is an answer ("SMI TrafficSplit is not installed"), not an error.
 */
import { ApiException } from '@kubernetes/client-node';
import { type KubeCluster, kubeCall } from '../clients/kube.js';
import type { CanaryKind } from './common.js';

export interface ApiResource {
  kind: CanaryKind;
  /** As people know it: "Gateway API HTTPRoute". */
  label: string;
  group: string;
  version: string;
  plural: string;
}

interface Wanted {
  kind: CanaryKind;
  label: string;
  group: string;
  plural: string;
  versions: readonly string[];
}

export const WANTED: readonly Wanted[] = [
  {
    kind: 'httproute',
    label: 'Gateway API HTTPRoute',
    group: 'gateway.networking.k8s.io',
    plural: 'httproutes',
    versions: ['v1', 'v1beta1'],
  },
  {
    kind: 'linkerd-httproute',
    label: 'Linkerd HTTPRoute',
    group: 'policy.linkerd.io',
    plural: 'httproutes',
    versions: ['v1beta3', 'v1beta2', 'v1beta1'],
  },
  {
    kind: 'trafficsplit',
    label: 'SMI TrafficSplit',
    group: 'split.smi-spec.io',
    plural: 'trafficsplits',
    versions: ['v1alpha2', 'v1alpha1'],
  },
  {
    kind: 'flagger-canary',
    label: 'Flagger Canary',
    group: 'flagger.app',
    plural: 'canaries',
    versions: ['v1beta1'],
  },
  {
    kind: 'argo-rollout',
    label: 'Argo Rollout',
    group: 'argoproj.io',
    plural: 'rollouts',
    versions: ['v1alpha1'],
  },
];

export const ANALYSIS_RUNS = { group: 'argoproj.io', version: 'v1alpha1', plural: 'analysisruns' } as const;

export interface APIGroupList {
  groups: Array<{ name: string; versions: Array<{ version: string }> }>;
}

export interface Discovered {
  found: Partial<Record<CanaryKind, ApiResource>>;
  /** Providers the cluster does not serve, with why ("CRD not installed", "serves only v1alpha3"). */
  missing: Array<{ kind: CanaryKind; label: string; why: string }>;
}

/**
 * Matches the wanted resources against the groups the API server serves. The resource lists of the
 * served versions say whether the plural is there (policy.linkerd.io has other kinds too).
 */
export function matchDiscovery(
  groups: APIGroupList,
  resources: (group: string, version: string) => string[] | undefined,
): Discovered {
  const out: Discovered = { found: {}, missing: [] };
  for (const w of WANTED) {
    const g = groups.groups.find((x) => x.name === w.group);
    if (!g) {
      out.missing.push({ kind: w.kind, label: w.label, why: `not installed (no API group ${w.group})` });
      continue;
    }
    const served = g.versions.map((v) => v.version);
    const version = w.versions.find((v) => served.includes(v) && resources(w.group, v)?.includes(w.plural));
    if (!version) {
      out.missing.push({
        kind: w.kind,
        label: w.label,
        why: `${w.group} serves ${served.join(', ')} without ${w.plural} in a version Kubemate reads (${w.versions.join(', ')})`,
      });
      continue;
    }
    out.found[w.kind] = { kind: w.kind, label: w.label, group: w.group, version, plural: w.plural };
  }
  return out;
}

export async function discover(cluster: KubeCluster, signal?: AbortSignal): Promise<Discovered> {
  const groups = await kubeCall(cluster, 'read API groups', () =>
    cluster.raw.get<APIGroupList>('/apis', {}, signal),
  );
  const lists = new Map<string, string[] | undefined>();
  const read = Promise.all(
    WANTED.flatMap((w) => {
      const g = groups.groups.find((x) => x.name === w.group);
      if (!g) return [];
      return w.versions
        .filter((v) => g.versions.some((x) => x.version === v))
        .map(async (v) => {
          const key = `${w.group}/${v}`;
          if (lists.has(key)) return;
          lists.set(key, undefined);
          try {
            const r = await cluster.raw.get<{ resources: Array<{ name: string }> }>(
              `/apis/${key}`,
              {},
              signal,
            );
            lists.set(
              key,
              r.resources.map((x) => x.name),
            );
          } catch (e) {
            if (!(e instanceof ApiException && e.code === 404)) throw e;
          }
        });
    }),
  );
  await kubeCall(cluster, 'read API resources', () => read);
  return matchDiscovery(groups, (g, v) => lists.get(`${g}/${v}`));
}

export function resourcePath(
  r: { group: string; version: string; plural: string },
  namespace?: string,
  name?: string,
) {
  const ns = namespace ? `/namespaces/${namespace}` : '';
  return `/apis/${r.group}/${r.version}${ns}/${r.plural}${name ? `/${name}` : ''}`;
}
