import type { V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { z } from 'zod';
import { type KubeCluster, kubeCall } from '../clients/kube.js';
import { suggestion, ToolError } from '../core/errors.js';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import { anyObjectName, assertObjectName } from '../shared/k8s-names.js';
import {
  age,
  assertNamespaceExists,
  clusterArg,
  countBy,
  formatCounts,
  namespaceArg,
  PAGE_SIZE,
  readAnnotations,
  selectorArg,
  summarisePod,
  TOOLSET,
} from './common.js';
import { qualified, type Resolution, resolveResource } from './discovery.js';
import { sanitize, secretKeys, shortenStrings } from './sanitize.js';

/** Any Kubernetes object in its JSON form. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean }>;
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
}

/** A one-word status any kind can have, from the fields most kinds share, and whether it is healthy. */
export function genericStatus(obj: KubeObject, kind: string): { status: string; healthy: boolean } {
  if (kind === 'Pod') {
    const s = summarisePod(obj as V1Pod);
    return { status: s.status, healthy: s.healthy };
  }
  if (obj.metadata?.deletionTimestamp) return { status: 'Terminating', healthy: false };
  if (kind === 'Event') {
    const type = String(obj.type ?? 'Normal');
    return { status: type, healthy: type !== 'Warning' };
  }
  const status = (obj.status ?? {}) as Record<string, unknown>;
  const conditions = Array.isArray(status.conditions) ? (status.conditions as Condition[]) : [];
  const cond = (type: string) => conditions.find((c) => c.type === type);
  const failed = cond('Failed');
  if (failed?.status === 'True')
    return { status: `Failed${failed.reason ? `: ${failed.reason}` : ''}`, healthy: false };
  for (const type of ['Ready', 'Available', 'Established']) {
    const c = cond(type);
    if (!c) continue;
    if (c.status === 'True') return { status: type, healthy: true };
    return {
      status: `${c.status === 'False' ? 'Not' : 'Unknown:'}${type}${c.reason ? ` (${c.reason})` : ''}`,
      healthy: false,
    };
  }
  if (cond('Complete')?.status === 'True') return { status: 'Complete', healthy: true };
  if (typeof status.phase === 'string') {
    const ok = ['Running', 'Active', 'Succeeded', 'Bound', 'Available', 'Complete', 'Completed'];
    return { status: status.phase, healthy: ok.includes(status.phase) };
  }
  const desired = (obj.spec as { replicas?: number } | undefined)?.replicas;
  if (typeof desired === 'number') {
    const ready = typeof status.readyReplicas === 'number' ? status.readyReplicas : 0;
    return { status: ready >= desired ? 'Ready' : 'NotReady', healthy: ready >= desired };
  }
  return { status: '-', healthy: true };
}

/** A short kind-specific hint for the INFO column; never object content. */
function info(obj: KubeObject, kind: string): string {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const status = (obj.status ?? {}) as Record<string, unknown>;
  if (kind === 'Secret') return `${obj.type ?? 'Opaque'}, ${Object.keys(obj.data ?? {}).length} keys`;
  if (kind === 'ConfigMap') {
    return `${Object.keys(obj.data ?? {}).length + Object.keys(obj.binaryData ?? {}).length} keys`;
  }
  if (kind === 'Service') return `${spec.type ?? 'ClusterIP'} ${spec.clusterIP ?? ''}`.trim();
  if (typeof spec.replicas === 'number') return `ready ${status.readyReplicas ?? 0}/${spec.replicas}`;
  if (kind === 'Event') return String(obj.reason ?? '');
  if (kind === 'Node') return String((status.nodeInfo as { kubeletVersion?: string })?.kubeletVersion ?? '');
  return '';
}

interface ResourceRow {
  namespace: string;
  name: string;
  status: string;
  age: string;
  info: string;
  healthy: boolean;
}

/** Refuses a namespace for cluster-scoped kinds, so a namespace grant never reads cluster-wide objects. */
function checkScope(r: Resolution, namespace: string | undefined): void {
  if (!r.entry.namespaced && namespace) {
    throw new ToolError(
      'invalid_arguments',
      `${qualified(r.entry)} (kind ${r.entry.kind}) is cluster-scoped: omit the namespace`,
    );
  }
}

function resolvedNote(r: Resolution): string {
  return r.alsoIn.length > 0
    ? ` (also served as ${r.alsoIn.join(', ')}; use that name for the other one)`
    : '';
}

const kindArg = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9.-]*$/,
    'must be a kind or resource name such as Deployment, deploy or certificates.cert-manager.io',
  );

const resourcesList = defineTool({
  name: 'resources_list',
  title: 'Resources: List',
  description:
    'List objects of ANY kind, custom resources included: give the kind as a kind, plural or short name ("Deployment", "deployments", "deploy", "ing", a CRD\'s short name), group-qualified when two groups share it ("certificates.cert-manager.io"). Shows name, status and age, unhealthy first, with exact totals. Call this for kinds no dedicated tool covers (ConfigMaps, Services, Ingresses, PVCs, CRDs); prefer pods_list, workloads_list and nodes_list for those.',
  input: z.object({
    cluster: clusterArg,
    kind: kindArg.describe(
      'Kind, plural or short name, optionally group-qualified: "deploy", "Certificate.cert-manager.io"',
    ),
    namespace: namespaceArg
      .optional()
      .describe('Namespace; omit for all namespaces (and for cluster-scoped kinds)'),
    labelSelector: selectorArg.optional().describe('Kubernetes label selector, e.g. "app=api"'),
    fieldSelector: selectorArg.optional().describe('Kubernetes field selector, e.g. "metadata.name=api"'),
  }),
  output: listOutput({
    cluster: z.string(),
    kind: z.string(),
    apiVersion: z.string(),
    resource: z.string().describe('group-qualified plural, e.g. "deployments.apps"'),
    namespaced: z.boolean(),
    namespace: z.string().describe('namespace listed, "*" for all, "" for cluster-scoped kinds'),
    total: z.number(),
    unhealthy: z.number(),
    byStatus: z.record(z.string(), z.number()),
    items: z.array(
      z.object({
        namespace: z.string().optional(),
        name: z.string(),
        status: z.string(),
        age: z.string(),
        info: z.string().optional(),
      }),
    ),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const r = await resolveResource(cluster, args.kind, 'list');
    checkScope(r, args.namespace);
    const { entry } = r;
    const where = !entry.namespaced
      ? 'cluster scope'
      : args.namespace
        ? `namespace '${args.namespace}'`
        : 'all namespaces';
    const now = Date.now();
    const rows: ResourceRow[] = [];
    await kubeCall(cluster, `list ${qualified(entry)} in ${where}`, () =>
      cluster.raw.pages<KubeObject>(
        r.resolved.collectionPath(args.namespace),
        { labelSelector: args.labelSelector, fieldSelector: args.fieldSelector },
        (items) => {
          for (const obj of items) {
            const s = genericStatus(obj, entry.kind);
            rows.push({
              namespace: obj.metadata?.namespace ?? '',
              name: obj.metadata?.name ?? '',
              status: s.status,
              age: age(obj.metadata?.creationTimestamp, now),
              info: info(obj, entry.kind),
              healthy: s.healthy,
            });
          }
        },
      ),
    );
    if (rows.length === 0 && args.namespace) await assertNamespaceExists(cluster, args.namespace);
    rows.sort(
      (a, b) =>
        Number(a.healthy) - Number(b.healthy) ||
        a.namespace.localeCompare(b.namespace) ||
        a.name.localeCompare(b.name),
    );
    const byStatus = countBy(rows, (x) => x.status);
    const unhealthy = rows.filter((x) => !x.healthy).length;
    const filters = [
      args.labelSelector && `labels ${args.labelSelector}`,
      args.fieldSelector && `fields ${args.fieldSelector}`,
    ]
      .filter(Boolean)
      .join(', ');
    const what = `${qualified(entry)} (kind ${entry.kind}, ${r.resolved.apiVersion})`;
    const header =
      rows.length === 0
        ? `No ${what} in ${where} of cluster '${cluster.name}'${filters ? ` matching ${filters}` : ''}.${resolvedNote(r)}`
        : `${rows.length} ${what} in ${where} of cluster '${cluster.name}'${filters ? ` matching ${filters}` : ''}: ${formatCounts(byStatus)}.${unhealthy ? ` Unhealthy: ${unhealthy}.` : ''}${resolvedNote(r)}`;
    const showNs = entry.namespaced && !args.namespace;
    const showInfo = rows.some((x) => x.info);
    return {
      kind: 'list',
      header,
      columns: [...(showNs ? ['NAMESPACE'] : []), 'NAME', 'STATUS', 'AGE', ...(showInfo ? ['INFO'] : [])],
      items: rows,
      row: (x: ResourceRow) => [
        ...(showNs ? [x.namespace] : []),
        x.name,
        x.status,
        x.age,
        ...(showInfo ? [x.info] : []),
      ],
      toStructured: (x: ResourceRow) => ({
        ...(x.namespace ? { namespace: x.namespace } : {}),
        name: x.name,
        status: x.status,
        age: x.age,
        ...(x.info ? { info: x.info } : {}),
      }),
      narrow: entry.namespaced
        ? 'give a namespace, a labelSelector or a fieldSelector'
        : 'give a labelSelector or a fieldSelector',
      totals: {
        cluster: cluster.name,
        kind: entry.kind,
        apiVersion: r.resolved.apiVersion,
        resource: qualified(entry),
        namespaced: entry.namespaced,
        namespace: entry.namespaced ? (args.namespace ?? '*') : '',
        total: rows.length,
        unhealthy,
        byStatus,
      },
    };
  },
});

/** About 3,000 tokens of structured object at most; long strings and arrays are cut first. */
const OBJECT_CHARS = 12_000;

/** Arrays and maps cut to their first `n` entries, with a note of how many were left out. */
function cutCollections(v: unknown, n: number): unknown {
  if (Array.isArray(v)) {
    const kept = v.slice(0, n).map((x) => cutCollections(x, n));
    return v.length > n ? [...kept, `… ${v.length - n} more items`] : kept;
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v);
    const kept = entries.slice(0, n).map(([k, x]) => [k, cutCollections(x, n)]);
    if (entries.length > n) kept.push(['…', `${entries.length - n} more keys`]);
    return Object.fromEntries(kept);
  }
  return v;
}

/**
 * The object, cut step by step until it fits: shorter strings first, then fewer items in long
 * lists and maps (a ConfigMap with 300 keys), keeping the shape readable.
 */
export function fitObject(obj: unknown, maxChars = OBJECT_CHARS): { object: unknown; trimmed: boolean } {
  const first = shortenStrings(obj, 1000);
  if (JSON.stringify(first).length <= maxChars) return { object: first, trimmed: false };
  const steps: Array<[number, number]> = [
    [300, Number.POSITIVE_INFINITY],
    [100, Number.POSITIVE_INFINITY],
    [100, 20],
    [60, 10],
    [40, 5],
  ];
  let out: unknown = first;
  for (const [chars, items] of steps) {
    out = cutCollections(shortenStrings(obj, chars), items);
    if (JSON.stringify(out).length <= maxChars) break;
  }
  return { object: out, trimmed: true };
}

/** Compact YAML for the model: no managedFields, resourceVersion or empty maps. */
export function toYaml(obj: unknown): string {
  return stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false }).trimEnd();
}

async function notFoundHint(cluster: KubeCluster, r: Resolution, name: string, namespace?: string) {
  if (namespace) await assertNamespaceExists(cluster, namespace);
  const names = await cluster.raw
    .get<{ items?: KubeObject[] }>(r.resolved.collectionPath(namespace), { limit: PAGE_SIZE })
    .then((l) => (l.items ?? []).map((o) => o.metadata?.name ?? ''))
    .catch(() => [] as string[]);
  const where = namespace ? ` in namespace '${namespace}'` : '';
  return new ToolError(
    'not_found',
    `${r.entry.kind} '${name}' not found${where} of cluster '${cluster.name}'${suggestion(name, names)}`,
  );
}

const resourcesGet = defineTool({
  name: 'resources_get',
  title: 'Resources: Get',
  description:
    'Show one object of ANY kind (custom resources included) as compact YAML plus its structured form: spec, status, labels, owner references. Secret values never leave (only key names and sizes), credential-looking env values and annotations are masked, managedFields and last-applied-configuration are dropped. Call this to inspect a ConfigMap, Service, Ingress, CRD object or any field the summarising tools do not show; give kind and name (and namespace for namespaced kinds).',
  input: z.object({
    cluster: clusterArg,
    kind: kindArg.describe(
      'Kind, plural or short name, optionally group-qualified: "deploy", "Certificate.cert-manager.io"',
    ),
    name: anyObjectName.describe(
      'Object name (checked against the rules of its kind once the kind is known)',
    ),
    namespace: namespaceArg.optional().describe('Namespace of the object; omit for cluster-scoped kinds'),
  }),
  output: z.object({
    cluster: z.string(),
    kind: z.string(),
    apiVersion: z.string(),
    resource: z.string(),
    namespace: z.string().optional(),
    name: z.string(),
    trimmed: z.boolean().describe('true when long strings or arrays were shortened to fit'),
    secretKeys: z
      .array(z.object({ key: z.string(), bytes: z.number() }))
      .optional()
      .describe('for Secrets: the data keys and their sizes; values are never shown'),
    object: z.record(z.string(), z.unknown()),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const r = await resolveResource(cluster, args.kind, 'get');
    checkScope(r, args.namespace);
    assertObjectName(r.entry.group, r.entry.kind, args.name);
    const path = r.resolved.objectPath(args.name, args.namespace);
    const ref = args.namespace ? `${args.namespace}/${args.name}` : args.name;
    const obj = await kubeCall(cluster, `get ${qualified(r.entry)} ${ref}`, () =>
      cluster.raw.get<KubeObject>(path),
    ).catch(async (e) => {
      if (e instanceof ToolError && e.code === 'not_found') {
        throw await notFoundHint(cluster, r, args.name, args.namespace);
      }
      throw e;
    });
    const clean = sanitize(obj, r.entry.kind);
    if (clean.metadata) {
      delete clean.metadata.resourceVersion;
      delete clean.metadata.selfLink;
    }
    const { object, trimmed } = fitObject(clean);
    // A Secret's keys and sizes go on a line of their own, so that no redactor turns
    // "password: (12 bytes, hidden)" into noise; the values themselves were never read out.
    const keys = r.entry.kind === 'Secret' && r.entry.group === '' ? secretKeys(obj as never) : undefined;
    const { data: _d, stringData: _s, ...withoutData } = object as Record<string, unknown>;
    const text = [
      `${r.entry.kind} ${ref} (${r.resolved.apiVersion}) in cluster '${cluster.name}'${trimmed ? ' (long values shortened)' : ''}:`,
      ...(keys
        ? [
            `Data keys (values are never shown): ${keys.map((k) => `${k.key} (${k.bytes} bytes)`).join(', ') || 'none'}`,
          ]
        : []),
      toYaml(keys ? withoutData : object),
    ].join('\n');
    return {
      kind: 'doc',
      text,
      structured: {
        cluster: cluster.name,
        kind: r.entry.kind,
        apiVersion: r.resolved.apiVersion,
        resource: qualified(r.entry),
        ...(args.namespace ? { namespace: args.namespace } : {}),
        name: args.name,
        trimmed,
        ...(keys ? { secretKeys: keys } : {}),
        object: object as Record<string, unknown>,
      },
    };
  },
});

export const resourceTools: ToolDef[] = [resourcesList, resourcesGet];
