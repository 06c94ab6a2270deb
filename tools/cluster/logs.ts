import type { V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { type KubeCluster, kubeCall } from '../clients/kube.js';
import { suggestion, ToolError } from '../core/errors.js';
import { redactLog } from '../core/redact.js';
import { defineTool, type ToolDef } from '../core/types.js';
import { containerName } from '../shared/k8s-names.js';
import { collapseLog, renderCollapsed } from '../shared/log-text.js';
import { clipCounted } from '../shared/text.js';
import {
  assertNamespaceExists,
  clusterArg,
  nameArg,
  namespaceArg,
  PAGE_SIZE,
  readAnnotations,
  TOOLSET,
} from './common.js';

const DEFAULT_TAIL = 200;
const MAX_TAIL = 5000;
/** Server-side cap on what the kubelet sends; 5,000 long lines stay within it. */
const LIMIT_BYTES = 2 * 1024 * 1024;
const STRUCTURED_CHARS = 6_000;

function containerNames(pod: V1Pod): { main: string[]; init: string[] } {
  return {
    main: (pod.spec?.containers ?? []).map((c) => c.name),
    init: (pod.spec?.initContainers ?? []).map((c) => c.name),
  };
}

function pickContainer(pod: V1Pod, requested: string | undefined, ref: string): string {
  const { main, init } = containerNames(pod);
  const all = [...main, ...init];
  if (requested) {
    if (all.includes(requested)) return requested;
    throw new ToolError(
      'not_found',
      `pod ${ref} has no container '${requested}'${suggestion(requested, all)}; its containers: ${main.join(', ')}${init.length ? `; init containers: ${init.join(', ')}` : ''}`,
    );
  }
  const annotated = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
  if (annotated && all.includes(annotated)) return annotated;
  if (main.length === 0) throw new ToolError('not_found', `pod ${ref} has no containers`);
  return main[0]!;
}

function stateOf(pod: V1Pod, container: string): string {
  const s = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find(
    (c) => c.name === container,
  );
  if (!s?.state) return 'no status reported yet';
  if (s.state.waiting) return `waiting: ${s.state.waiting.reason ?? 'unknown'}`;
  if (s.state.terminated)
    return `terminated: ${s.state.terminated.reason ?? `exit ${s.state.terminated.exitCode}`}`;
  return 'running';
}

/** Turns the API server's log failures into messages that say what to do next. */
function logError(
  e: unknown,
  cluster: KubeCluster,
  pod: V1Pod,
  ref: string,
  container: string,
  previous: boolean,
) {
  const err = e instanceof ToolError ? e : undefined;
  const detail = err?.message.replace(/^cannot [^:]*: /, '') ?? String(e);
  const state = stateOf(pod, container);
  const node = pod.spec?.nodeName;
  if (/previous terminated container .* not found/i.test(detail)) {
    return new ToolError(
      'not_found',
      `container '${container}' of pod ${ref} has no previous terminated instance (it is ${state}); ask without previous=true`,
    );
  }
  if (/is waiting to start|ContainerCreating|PodInitializing|is not valid for pod/i.test(detail)) {
    return new ToolError(
      'not_found',
      `container '${container}' of pod ${ref} has no logs yet: ${detail} (state: ${state}). Use pods_get or workload_describe to see why it does not start${previous ? '' : ', or previous=true for the last crashed instance'}.`,
    );
  }
  if (err?.code === 'forbidden' || err?.code === 'unauthorized' || err?.code === 'unknown_cluster')
    return err;
  if (err?.code === 'backend_unavailable') return err;
  return new ToolError(
    'backend_error',
    `logs of container '${container}' in pod ${ref} are not available from cluster '${cluster.name}': the API server could not get them from the kubelet${node ? ` on node '${node}'` : ''} (${detail}). The node may be down or may not serve logs (simulated nodes usually do not). Container state: ${state}. Use pods_get and events_list to see why it failed.`,
  );
}

const entryOut = z.object({ count: z.number(), text: z.string() });

const podsLogs = defineTool({
  name: 'pods_logs',
  title: 'Pods: Logs',
  description:
    "Read a pod container's recent log (default the last 200 lines, up to 5000), with repeated lines collapsed into one with a count (lines differing only in timestamps, numbers or ids count as repeats) and the distinct error lines summarised at the top. Call this when a pod crashes or misbehaves and events do not explain why; use previous=true for the container instance that crashed last (CrashLoopBackOff), sinceSeconds for a recent window.",
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.describe('Namespace of the pod'),
    pod: nameArg.describe('Pod name'),
    container: containerName
      .optional()
      .describe(
        "Container name; default: the pod's default or first container (others are listed in the answer)",
      ),
    previous: z.boolean().optional().describe('Logs of the previous, terminated instance of the container'),
    tailLines: z
      .number()
      .int()
      .min(1)
      .max(MAX_TAIL)
      .optional()
      .describe(`Lines from the end (default ${DEFAULT_TAIL}, max ${MAX_TAIL})`),
    sinceSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .optional()
      .describe('Only lines from the last N seconds'),
  }),
  output: z.object({
    cluster: z.string(),
    namespace: z.string(),
    pod: z.string(),
    container: z.string(),
    containers: z.array(z.string()),
    previous: z.boolean(),
    lines: z.number(),
    distinct: z.number(),
    bytes: z.number(),
    cutByServer: z.boolean().describe('true when the server stopped at its byte limit'),
    errorLines: z.number(),
    warningLines: z.number(),
    errors: z.array(entryOut),
    entries: z.array(entryOut).describe('collapsed lines, newest last; older ones omitted first'),
    entriesOmitted: z.number(),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const ref = `${args.namespace}/${args.pod}`;
    const pod = await kubeCall(cluster, `get pod ${ref}`, () =>
      cluster.raw.get<V1Pod>(`/api/v1/namespaces/${args.namespace}/pods/${args.pod}`),
    ).catch(async (e) => {
      if (!(e instanceof ToolError) || e.code !== 'not_found') throw e;
      await assertNamespaceExists(cluster, args.namespace);
      const names = await cluster.raw
        .get<{ items?: V1Pod[] }>(`/api/v1/namespaces/${args.namespace}/pods`, { limit: PAGE_SIZE })
        .then((l) => (l.items ?? []).map((p) => p.metadata?.name ?? ''))
        .catch(() => [] as string[]);
      throw new ToolError(
        'not_found',
        `pod '${args.pod}' not found in namespace '${args.namespace}' of cluster '${cluster.name}'${suggestion(args.pod, names)}`,
      );
    });
    const container = pickContainer(pod, args.container, ref);
    const { main, init } = containerNames(pod);
    const tailLines = args.tailLines ?? DEFAULT_TAIL;
    const previous = args.previous ?? false;
    const text = await kubeCall(cluster, `read logs of ${ref}`, () =>
      cluster.core.readNamespacedPodLog({
        namespace: args.namespace,
        name: args.pod,
        container,
        previous,
        tailLines,
        limitBytes: LIMIT_BYTES,
        ...(args.sinceSeconds ? { sinceSeconds: args.sinceSeconds } : {}),
      }),
    ).catch((e) => {
      throw logError(e, cluster, pod, ref, container, previous);
    });
    const raw = typeof text === 'string' ? text : String(text ?? '');
    const bytes = Buffer.byteLength(raw);
    const cutByServer = bytes >= LIMIT_BYTES;
    // Redacted before lines are collapsed and reordered: a key block is only recognisable whole.
    const log = collapseLog(redactLog(raw));
    const rendered = renderCollapsed(log);
    const others = [...main, ...init].filter((c) => c !== container);
    const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
    const window = `${previous ? 'previous instance, ' : ''}last ${n(tailLines, 'line')}${args.sinceSeconds ? ` of the last ${args.sinceSeconds}s` : ''}`;
    const header = [
      `Logs of container '${container}' in pod ${ref} (${window}) in cluster '${cluster.name}': ${n(log.lines, 'line')}, ${log.entries.length} distinct after collapsing, ${log.errorLines} error and ${log.warningLines} warning lines.`,
      others.length ? `Other containers: ${others.join(', ')} (pass container=NAME).` : '',
      cutByServer
        ? `The server stopped at ${LIMIT_BYTES} bytes; ask for fewer tailLines or a sinceSeconds window.`
        : '',
    ]
      .filter(Boolean)
      .join(' ');

    // Structured entries: the newest that fit a fixed share of the budget.
    const entries: Array<{ count: number; text: string }> = [];
    let used = 0;
    for (let i = rendered.shown.length - 1; i >= 0; i--) {
      const e = rendered.shown[i]!;
      const t = clipCounted(e.text, 300);
      if (used + t.length > STRUCTURED_CHARS && entries.length > 0) break;
      used += t.length + 20;
      entries.unshift({ count: e.count, text: t });
    }
    const structured = {
      cluster: cluster.name,
      namespace: args.namespace,
      pod: args.pod,
      container,
      containers: [...main, ...init],
      previous,
      lines: log.lines,
      distinct: log.entries.length,
      bytes,
      cutByServer,
      errorLines: log.errorLines,
      warningLines: log.warningLines,
      errors: rendered.errors.map((e) => ({ count: e.count, text: clipCounted(e.text, 300) })),
      entries,
      entriesOmitted: log.entries.length - entries.length,
    };
    if (log.lines === 0) {
      return {
        kind: 'doc',
        status: 'no_data',
        text: `${header}\nThe log is empty for this window${previous ? '' : '; try previous=true if the container restarted, or a larger sinceSeconds'}.`,
        structured,
      };
    }
    return { kind: 'doc', text: `${header}\n\n${rendered.text}`, structured };
  },
});

export const logTools: ToolDef[] = [podsLogs];
