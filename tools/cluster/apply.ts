import { ApiException } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';
import { type ResolvedKind, resolveKind } from '../clients/discovery.js';
import { type KubeCluster, kubeError } from '../clients/kube.js';
import { ToolError } from '../core/errors.js';
import { defaultRedactor, redactDeep } from '../core/redact.js';
import { defineTool, type ToolDef } from '../core/types.js';
import { apiVersionProblem, assertObjectName, kindProblem, nameProblem } from '../shared/k8s-names.js';
import { clusterArg, namespaceArg, TOOLSET } from './common.js';
import { isCredentialChange } from './credential-paths.js';
import { capLines, diffObjects, type FieldChange, formatChange } from './object-diff.js';

const FIELD_MANAGER = 'kubemate';
const MAX_DOCUMENTS = 50;
const LINES_PER_OBJECT = 30;

type Obj = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string };
};

interface Target {
  doc: Obj;
  kind: ResolvedKind;
  namespace: string | undefined;
  path: string;
  label: string;
  secret: boolean;
}

type Result = 'created' | 'changed' | 'unchanged';

interface Outcome {
  target: Target;
  result: Result;
  changes: FieldChange[];
  /** For creations: fields the server filled in that the document did not set. */
  defaulted: number;
  /** Changes whose values are not shown: Secret data, credential-named fields, secret arguments. */
  hidden: Set<FieldChange>;
}

// Bookkeeping the server changes on every write; never part of what the user changes.
const IGNORED_METADATA = new Set([
  'managedFields',
  'resourceVersion',
  'generation',
  'uid',
  'creationTimestamp',
]);
const IDENTITY = new Set(['apiVersion', 'kind', 'metadata.name', 'metadata.namespace']);
const ignore = (keys: string[]) =>
  keys[0] === 'status' || (keys[0] === 'metadata' && keys.length === 2 && IGNORED_METADATA.has(keys[1]!));

/** Secret values never leave Kubemate: data, stringData, and the client-side-apply copy of the object. */
function hiddenPath(t: Target, c: FieldChange): boolean {
  return (
    t.secret &&
    (/^(data|stringData)\b/.test(c.path) ||
      c.path.startsWith('metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]'))
  );
}

const objects = (n: number) => `${n} ${n === 1 ? 'object' : 'objects'}`;

function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

const MASK = '[REDACTED]';

function maskSecret(obj: unknown): unknown {
  if (!isObj(obj)) return obj;
  if (obj.kind === 'List' && Array.isArray(obj.items)) return { ...obj, items: obj.items.map(maskSecret) };
  if (obj.kind !== 'Secret') return obj;
  const out: Record<string, unknown> = { ...obj };
  for (const field of ['data', 'stringData']) {
    const map = obj[field];
    if (isObj(map)) out[field] = Object.fromEntries(Object.keys(map).map((k) => [k, MASK]));
  }
  if (isObj(obj.metadata) && isObj(obj.metadata.annotations)) {
    const annotations = { ...obj.metadata.annotations };
    if ('kubectl.kubernetes.io/last-applied-configuration' in annotations)
      annotations['kubectl.kubernetes.io/last-applied-configuration'] = MASK;
    out.metadata = { ...obj.metadata, annotations };
  }
  return out;
}

/**
 * The manifest with every Secret's values masked (keys kept) and, in every kind, credential-named
 * values (env entries, headers, data keys) and secret arguments masked, for places that echo a
 * call's arguments: ticket plans and audit records. Text that does not parse is hidden whole.
 */
export function maskSecretValues(text: string): string {
  try {
    const docs = parseAllDocuments(text);
    if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) throw new Error('unparseable');
    return docs.map((d) => stringify(redactDeep(maskSecret(d.toJS()), defaultRedactor))).join('---\n');
  } catch {
    return `(a manifest of ${text.length} characters that does not parse; not shown)`;
  }
}

/** The objects of each document (a List's items too), for checks that run before anything else. */
function eachObject(value: unknown, visit: (item: unknown) => void): void {
  if (value === null || value === undefined) return;
  if (isObj(value) && value.kind === 'List' && Array.isArray(value.items)) value.items.forEach(visit);
  else visit(value);
}

/**
 * Why an object's identity cannot be sent to the API server: a malformed apiVersion or kind, a
 * name or namespace that breaks the path rules (`..` would address the parent object). Checked
 * again per kind once the kind is resolved (`assertObjectName`).
 */
function identityProblem(item: Record<string, unknown>): string | undefined {
  const meta = isObj(item.metadata) ? item.metadata : {};
  const kind = typeof item.kind === 'string' ? item.kind : '';
  if (typeof item.apiVersion === 'string') {
    const p = apiVersionProblem(item.apiVersion);
    if (p) return `apiVersion ${JSON.stringify(item.apiVersion)} is not valid: ${p}`;
  }
  if (typeof item.kind === 'string') {
    const p = kindProblem(item.kind);
    if (p) return `kind ${JSON.stringify(item.kind)} ${p}`;
  }
  if (typeof meta.name === 'string' && meta.name !== '') {
    const p = nameProblem(meta.name, 'path-segment');
    if (p) return `${kind || 'object'} name ${JSON.stringify(meta.name)} is not valid: it ${p}`;
  }
  if (meta.namespace !== undefined && meta.namespace !== null) {
    if (typeof meta.namespace !== 'string') return `${kind || 'object'} metadata.namespace must be a string`;
    const p = nameProblem(meta.namespace, 'dns1123-label');
    if (p) return `namespace ${JSON.stringify(meta.namespace)} is not valid: it ${p}`;
  }
  return undefined;
}

/**
 * The first invalid object identity in a manifest, for the input schema: such a call is refused
 * before any request and before any approval ticket. Text that does not parse is left to the
 * handler, which reports where.
 */
export function manifestIdentityProblem(text: string): string | undefined {
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) return undefined;
  let problem: string | undefined;
  docs.forEach((d, i) => {
    if (problem) return;
    eachObject(d.toJS(), (item) => {
      if (!problem && isObj(item)) {
        const p = identityProblem(item);
        if (p) problem = `document ${i + 1}: ${p}`;
      }
    });
  });
  return problem;
}

/** The documents of the YAML text; parse errors name the document and line but never quote it. */
function parseDocuments(text: string): Obj[] {
  const out: Obj[] = [];
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new ToolError('invalid_arguments', 'the YAML text is empty');
  docs.forEach((d, i) => {
    const err = d.errors[0];
    if (err) {
      const at = err.linePos?.[0] ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
      throw new ToolError(
        'invalid_arguments',
        `YAML document ${i + 1} does not parse${at}: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}. Nothing was applied.`,
      );
    }
    const value: unknown = d.toJS();
    if (value === null || value === undefined) return;
    const items = isObj(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      const where = `document ${i + 1}`;
      if (!isObj(item)) throw new ToolError('invalid_arguments', `${where} is not a Kubernetes object`);
      const meta = item.metadata;
      if (typeof item.apiVersion !== 'string' || typeof item.kind !== 'string' || !isObj(meta)) {
        throw new ToolError('invalid_arguments', `${where} needs apiVersion, kind and metadata`);
      }
      if (typeof meta.name !== 'string' || meta.name === '') {
        throw new ToolError(
          'invalid_arguments',
          `${where} (${item.kind}) needs metadata.name; generateName is not supported`,
        );
      }
      const problem = identityProblem(item);
      if (problem) throw new ToolError('invalid_arguments', `${where}: ${problem}. Nothing was applied.`);
      out.push(item as Obj);
    }
  });
  if (out.length === 0) throw new ToolError('invalid_arguments', 'the YAML text holds no objects');
  if (out.length > MAX_DOCUMENTS) {
    throw new ToolError('invalid_arguments', `${out.length} objects; apply at most ${MAX_DOCUMENTS} at once`);
  }
  return out;
}

/**
 * Resolves every object before anything is sent. A call scoped to a namespace (what the policy
 * checked) may only touch namespaced objects in that namespace.
 */
async function resolveTargets(cluster: KubeCluster, text: string, namespace?: string): Promise<Target[]> {
  const docs = parseDocuments(text);
  const targets: Target[] = [];
  for (const doc of docs) {
    const kind = await resolveKind(cluster, doc.apiVersion, doc.kind);
    const name = doc.metadata.name;
    assertObjectName(kind.group, kind.kind, name);
    const own = typeof doc.metadata.namespace === 'string' ? doc.metadata.namespace : undefined;
    let ns: string | undefined;
    if (kind.namespaced) {
      if (own && namespace && own !== namespace) {
        throw new ToolError(
          'invalid_arguments',
          `${kind.kind} ${name} names namespace '${own}' but the call is for namespace '${namespace}'. Nothing was applied.`,
        );
      }
      ns = own ?? namespace;
      if (!ns) {
        throw new ToolError(
          'invalid_arguments',
          `${kind.kind} ${name} is namespaced: set metadata.namespace or give the namespace argument. Nothing was applied.`,
        );
      }
    } else if (namespace) {
      throw new ToolError(
        'invalid_arguments',
        `${kind.kind} ${name} is cluster-scoped; a call for namespace '${namespace}' cannot apply it. Omit namespace (that needs a cluster-wide grant). Nothing was applied.`,
      );
    }
    const body = structuredClone(doc);
    if (ns) body.metadata.namespace = ns;
    else delete body.metadata.namespace;
    targets.push({
      doc: body,
      kind,
      namespace: ns,
      path: kind.objectPath(name, ns),
      label: `${kind.kind} ${ns ? `${ns}/` : ''}${name}`,
      secret: kind.group === '' && kind.kind === 'Secret',
    });
  }
  return targets;
}

async function readLive(cluster: KubeCluster, t: Target): Promise<Obj | undefined> {
  try {
    return await cluster.raw.get<Obj>(t.path);
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return undefined;
    throw kubeError(cluster, `get ${t.label}`, e);
  }
}

/** The fields a document sets; a Secret's stringData lands in data. */
function leafPaths(t: Target): Set<string> {
  const paths = diffObjects(undefined, t.doc).map((c) => c.path);
  return new Set(t.secret ? paths.map((p) => p.replace(/^stringData\b/, 'data')) : paths);
}

/** Server-side apply of one object (or its dry run), compared with what was live before. */
async function applyOne(
  cluster: KubeCluster,
  t: Target,
  opts: { force: boolean; dryRun: boolean; signal: AbortSignal },
): Promise<Outcome> {
  const live = await readLive(cluster, t);
  let after: Obj;
  try {
    after = await cluster.raw.request<Obj>('PATCH', t.path, {
      query: {
        fieldManager: FIELD_MANAGER,
        ...(opts.force ? { force: 'true' } : {}),
        ...(opts.dryRun ? { dryRun: 'All' } : {}),
      },
      contentType: 'application/apply-patch+yaml',
      // JSON is YAML; the server reads the same object the user wrote.
      body: JSON.stringify(t.doc),
      signal: opts.signal,
    });
  } catch (e) {
    const err = kubeError(cluster, `${opts.dryRun ? 'dry-run apply' : 'apply'} ${t.label}`, e);
    if (e instanceof ApiException && e.code === 409)
      throw new ToolError(err.code, `${err.message}; set force=true to take over these fields`);
    throw err;
  }
  const all = diffObjects(live ?? {}, after, { ignore });
  const hiddenOf = (changes: FieldChange[]) =>
    new Set(changes.filter((c) => hiddenPath(t, c) || isCredentialChange(c, [live, after, t.doc])));
  if (live) {
    const result = all.length ? 'changed' : 'unchanged';
    return { target: t, result, changes: all, defaulted: 0, hidden: hiddenOf(all) };
  }
  const asked = leafPaths(t);
  // The object's identity is already in the heading.
  const changes = all.filter((c) => asked.has(c.path) && !IDENTITY.has(c.path));
  const defaulted = all.filter((c) => !asked.has(c.path)).length;
  return { target: t, result: 'created', changes, defaulted, hidden: hiddenOf(changes) };
}

function describeOutcome(o: Outcome, dryRun: boolean): string[] {
  const verb = dryRun
    ? { created: 'would be created', changed: 'would change', unchanged: 'unchanged' }
    : { created: 'created', changed: 'changed', unchanged: 'unchanged' };
  const head = `${o.target.label}: ${verb[o.result]}${o.defaulted ? ` (plus ${o.defaulted} ${o.defaulted === 1 ? 'field' : 'fields'} defaulted by the server)` : ''}`;
  const lines = o.changes.map((c) => formatChange(c, o.hidden.has(c)));
  return [head, ...capLines(lines, LINES_PER_OBJECT)];
}

function structuredChange(o: Outcome, c: FieldChange) {
  const hide = o.hidden.has(c);
  const text = (v: unknown) => (hide ? '(hidden)' : JSON.stringify(v));
  return {
    op: c.op,
    path: c.path,
    ...(c.before !== undefined ? { before: text(c.before) } : {}),
    ...(c.after !== undefined ? { after: text(c.after) } : {}),
  };
}

const resourcesApply = defineTool({
  name: 'resources_apply',
  title: 'Resources: Apply',
  description:
    'Create or update Kubernetes objects from YAML the user gives (one or more documents), by server-side apply with field manager "kubemate", like `kubectl apply --server-side`. Call this to roll out a manifest change. The approval ticket shows a server-side dry-run diff of every object; Secret values are never shown, only their keys. Fields another manager owns make it fail unless force=true.',
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg
      .optional()
      .describe(
        'Namespace for objects that do not set one; when given, every object must be namespaced and in it',
      ),
    yaml: z
      .string()
      .min(1)
      .max(200_000)
      .superRefine((text, ctx) => {
        const problem = manifestIdentityProblem(text);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .describe('The manifest: YAML documents separated by ---'),
    force: z.boolean().default(false).describe('Take over fields that another field manager owns'),
  }),
  output: z.object({
    cluster: z.string(),
    created: z.number(),
    changed: z.number(),
    unchanged: z.number(),
    objects: z.array(
      z.object({
        apiVersion: z.string(),
        kind: z.string(),
        namespace: z.string().optional(),
        name: z.string(),
        result: z.enum(['created', 'changed', 'unchanged']),
        changes: z.array(
          z.object({
            op: z.enum(['add', 'remove', 'change']),
            path: z.string(),
            before: z.string().optional(),
            after: z.string().optional(),
          }),
        ),
      }),
    ),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  permission: { toolset: TOOLSET, verb: 'write', namespaced: true },
  redactArgs: (args) =>
    typeof args.yaml === 'string' ? { ...args, yaml: maskSecretValues(args.yaml) } : args,
  async preview(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const targets = await resolveTargets(cluster, args.yaml, args.namespace);
    const lines = [
      `server-side apply of ${objects(targets.length)} in cluster '${cluster.name}' (dry run, field manager ${FIELD_MANAGER}${args.force ? ', force' : ''}):`,
    ];
    for (const t of targets) {
      try {
        lines.push(
          ...describeOutcome(
            await applyOne(cluster, t, { force: args.force, dryRun: true, signal: ctx.signal }),
            true,
          ),
        );
      } catch (e) {
        lines.push(`${t.label}: will fail: ${(e as Error).message}`);
      }
    }
    return lines.join('\n');
  },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const targets = await resolveTargets(cluster, args.yaml, args.namespace);
    const done: Outcome[] = [];
    for (const t of targets) {
      try {
        done.push(await applyOne(cluster, t, { force: args.force, dryRun: false, signal: ctx.signal }));
      } catch (e) {
        if (!(e instanceof ToolError)) throw e;
        const before = done.length
          ? `Applied before the failure: ${done.map((o) => `${o.target.label} ${o.result}`).join(', ')}. `
          : 'Nothing was applied. ';
        const rest = targets.length - done.length - 1;
        throw new ToolError(
          e.code,
          `${e.message}. ${before}${rest > 0 ? `The remaining ${rest} objects were not applied.` : ''}`.trim(),
        );
      }
    }
    const count = (r: Result) => done.filter((o) => o.result === r).length;
    const structured = {
      cluster: cluster.name,
      created: count('created'),
      changed: count('changed'),
      unchanged: count('unchanged'),
      objects: done.map((o) => ({
        apiVersion: o.target.doc.apiVersion,
        kind: o.target.kind.kind,
        ...(o.target.namespace ? { namespace: o.target.namespace } : {}),
        name: o.target.doc.metadata.name,
        result: o.result,
        changes: o.changes.map((c) => structuredChange(o, c)),
      })),
    };
    const lines = [
      `Applied ${objects(done.length)} in cluster '${cluster.name}': ${structured.created} created, ${structured.changed} changed, ${structured.unchanged} unchanged.`,
      ...done.flatMap((o) => describeOutcome(o, false)),
    ];
    return { kind: 'doc', text: lines.join('\n'), structured };
  },
});

export const applyTools: ToolDef[] = [resourcesApply];
