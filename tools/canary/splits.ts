/**
 * Traffic splits of three providers in one shape: Gateway API HTTPRoute and Linkerd's own
 * HTTPRoute (backendRefs with weights, per rule) and SMI TrafficSplit (backends with weights).
 * Reading and the JSON patches that change weights are pure; the patch tests the object's
 * resourceVersion first, so a change made meanwhile (or the object gone) writes nothing.
 */
import { ToolError } from '../core/errors.js';
import type { CanaryKind } from './common.js';
import { type Backend, type Percentages, percentages } from './weights.js';

export type SplitKind = Extract<CanaryKind, 'httproute' | 'linkerd-httproute' | 'trafficsplit'>;
export const SPLIT_KINDS: readonly SplitKind[] = ['httproute', 'linkerd-httproute', 'trafficsplit'];

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  controller?: boolean;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    ownerReferences?: OwnerRef[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
}

/** One weighted place in the object: a rule of a route, or the TrafficSplit's backend list. */
export interface SplitRule {
  /** Rule index in spec.rules; 0 for a TrafficSplit. */
  index: number;
  backends: Array<Backend & { path: string }>;
}

export interface Split {
  kind: SplitKind;
  namespace: string;
  name: string;
  resourceVersion: string;
  /** Every rule that sends traffic to more than one backend. */
  weighted: SplitRule[];
  /** Rules with one backend (or none): not splits, but shown. */
  otherRules: number;
  owners: OwnerRef[];
  /** The SMI apex service, or the route's parent gateways. */
  service?: string;
  parents: string[];
}

function refName(ref: BackendRef, namespace: string): string {
  return ref.namespace && ref.namespace !== namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

/** SMI v1alpha1 weights are quantities ("500m"); later versions are integers. */
function smiWeight(w: unknown): number {
  if (typeof w === 'number') return w;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(w ?? ''));
  if (!m) return 0;
  return m[2] === 'm' ? Number(m[1]) / 1000 : Number(m[1]);
}

export function readSplit(kind: SplitKind, o: KubeObject): Split {
  const namespace = o.metadata.namespace ?? '';
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const base = {
    kind,
    namespace,
    name: o.metadata.name,
    resourceVersion: o.metadata.resourceVersion ?? '',
    owners: o.metadata.ownerReferences ?? [],
  };
  if (kind === 'trafficsplit') {
    const backends = ((spec.backends as Array<{ service: string; weight: unknown }>) ?? []).map((b, j) => ({
      name: b.service,
      weight: smiWeight(b.weight),
      path: `/spec/backends/${j}/weight`,
    }));
    return {
      ...base,
      weighted: backends.length > 1 ? [{ index: 0, backends }] : [],
      otherRules: backends.length > 1 ? 0 : 1,
      service: String(spec.service ?? ''),
      parents: [],
    };
  }
  const rules = (spec.rules as Array<{ backendRefs?: BackendRef[] }>) ?? [];
  const weighted: SplitRule[] = [];
  let otherRules = 0;
  rules.forEach((rule, i) => {
    const refs = (rule.backendRefs ?? []).filter((r) => (r.kind ?? 'Service') === 'Service' && !r.group);
    if (refs.length < 2) {
      otherRules++;
      return;
    }
    weighted.push({
      index: i,
      backends: (rule.backendRefs ?? []).flatMap((r, j) =>
        (r.kind ?? 'Service') === 'Service' && !r.group
          ? [
              {
                name: refName(r, namespace),
                weight: r.weight ?? 1,
                path: `/spec/rules/${i}/backendRefs/${j}/weight`,
              },
            ]
          : [],
      ),
    });
  });
  const parents = ((spec.parentRefs as Array<{ name: string; kind?: string }>) ?? []).map(
    (p) => `${p.kind ?? 'Gateway'}/${p.name}`,
  );
  return { ...base, weighted, otherRules, parents };
}

/** The weights of the split, requiring every weighted rule to split between the same backends. */
export function splitWeights(s: Split): Percentages {
  const first = s.weighted[0];
  if (!first) {
    throw new ToolError(
      'invalid_arguments',
      `${describeSplit(s)} has no weighted backends: ${s.kind === 'trafficsplit' ? 'it has fewer than two backends' : 'no rule sends traffic to more than one Service'}, so there is no traffic to shift. Nothing was changed.`,
    );
  }
  return percentages(first.backends);
}

/** Rules of a route that split between different sets of backends cannot be shifted as one. */
export function assertUniform(s: Split): void {
  const names = (r: SplitRule) =>
    r.backends
      .map((b) => b.name)
      .sort()
      .join(',');
  const odd = s.weighted.find((r) => names(r) !== names(s.weighted[0]!));
  if (odd) {
    throw new ToolError(
      'invalid_arguments',
      `${describeSplit(s)}: rule ${s.weighted[0]!.index} splits between ${names(s.weighted[0]!)} but rule ${odd.index} between ${names(odd)}; Kubemate shifts routes whose weighted rules use the same backends. Nothing was changed.`,
    );
  }
}

/** Weights to write per backend: the percentages themselves, so the object reads as it is meant. */
export function weightPatch(s: Split, to: Percentages): Array<Record<string, unknown>> {
  const ops: Array<Record<string, unknown>> = [
    { op: 'test', path: '/metadata/resourceVersion', value: s.resourceVersion },
  ];
  for (const rule of s.weighted) {
    for (const b of rule.backends) {
      const value = to[b.name];
      if (value === undefined) throw new ToolError('internal', `no weight planned for backend ${b.name}`);
      // `add` replaces a member that exists and creates one that was left to its default.
      ops.push({ op: 'add', path: b.path, value });
    }
  }
  return ops;
}

export const LABELS: Record<SplitKind, string> = {
  httproute: 'HTTPRoute',
  'linkerd-httproute': 'Linkerd HTTPRoute',
  trafficsplit: 'TrafficSplit',
};

export const describeSplit = (s: { kind: SplitKind; namespace: string; name: string }) =>
  `${LABELS[s.kind]} ${s.namespace}/${s.name}`;
