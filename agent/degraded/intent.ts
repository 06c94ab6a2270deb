import type { ThreadContext } from '../store.js';

/**
 * Degraded mode's command parser: a few fixed phrasings mapped to tools, deterministic, so that
 * with no model the team can still look at the cluster and ask for changes (which the pipeline
 * decides on as for any other caller). "its"/"it" refers to the thread's last target.
 */

export type Intent =
  | { kind: 'tool'; tool: string; args: Record<string, unknown>; context?: ThreadContext }
  /** Logs of a pod, or of the pods of a workload when `name` is not a pod. */
  | { kind: 'logs'; namespace: string; name: string; previous: boolean; context: ThreadContext }
  | { kind: 'help' }
  /** A command was recognised but something is missing; the text says what. */
  | { kind: 'incomplete'; message: string }
  | { kind: 'none' };

const NAME = '[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?';
const REF = `(?:(${NAME})/)?(${NAME})`;
const IN_NS = `(?:\\s+(?:in|of|from)\\s+(?:the\\s+)?(?:namespace\\s+|ns\\s+)?(${NAME})(?:\\s+namespace)?|\\s+-n\\s+(${NAME}))?`;

const WORKLOAD: Record<string, 'Deployment' | 'StatefulSet' | 'DaemonSet'> = {
  deployment: 'Deployment',
  deploy: 'Deployment',
  statefulset: 'StatefulSet',
  sts: 'StatefulSet',
  daemonset: 'DaemonSet',
  ds: 'DaemonSet',
};

const PRONOUN = /^(it|its|it's|that|this|them|the same)$/;

function clean(input: string): string {
  return input
    .normalize('NFKC')
    .toLowerCase()
    .trim()
    .replace(/[?!.。？！]+$/u, '')
    .replace(/^(and|also|what about|how about|ok|okay|now)[\s,]+/, '')
    .replace(
      /^(please\s+|kubemate[\s,]+|can you\s+|could you\s+|show( me)?\s+|list\s+|get\s+|give me\s+|what are( the)?\s+|which\s+|the\s+)+/,
      '',
    )
    .replace(/\s+please$/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Resolves `ns/name`, `name in ns`, or a pronoun, against the thread's last target. */
function target(
  nsA: string | undefined,
  name: string,
  nsB: string | undefined,
  nsC: string | undefined,
  ctx: ThreadContext,
): { namespace?: string; name: string } | { error: string } {
  if (PRONOUN.test(name)) {
    if (!ctx.name) return { error: `I do not know what "${name}" refers to yet; name it, e.g. payments/api` };
    return { ...(ctx.namespace ? { namespace: ctx.namespace } : {}), name: ctx.name };
  }
  const namespace = nsA ?? nsB ?? nsC ?? ctx.namespace;
  return { ...(namespace ? { namespace } : {}), name };
}

const needNamespace = (example: string) =>
  ({ kind: 'incomplete', message: `which namespace? Say it like this: ${example}` }) as const;

type Rule = [RegExp, (m: RegExpExecArray, ctx: ThreadContext) => Intent];

/** Resolves a matched target (groups: ns-before, name, ns-after, -n ns) or says what is missing. */
function resolve(
  m: RegExpExecArray,
  at: number,
  ctx: ThreadContext,
  example: string,
): { namespace: string; name: string } | { kind: 'incomplete'; message: string } {
  const t = target(m[at], m[at + 1]!, m[at + 2], m[at + 3], ctx);
  if ('error' in t) return { kind: 'incomplete', message: t.error };
  if (!t.namespace) return needNamespace(example);
  return { namespace: t.namespace, name: t.name };
}

const KINDS: Record<string, string> = {
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  jobs: 'Job',
  cronjobs: 'CronJob',
};

const RULES: Rule[] = [
  [/^(help|commands|what can you do|\?)$/, () => ({ kind: 'help' })],
  [
    /^(approvals|tickets|pending (approvals|tickets)|approval tickets)$/,
    () => ({ kind: 'tool', tool: 'approvals_list', args: { status: 'pending' } }),
  ],
  [
    /^approve (?:ticket )?(apr_[0-9a-f]{12})$/,
    (m) => ({ kind: 'tool', tool: 'approvals_approve', args: { ticket: m[1] } }),
  ],
  [
    /^reject (?:ticket )?(apr_[0-9a-f]{12})(?:[:,]?\s+(?:because\s+)?(.+))?$/,
    (m) => ({
      kind: 'tool',
      tool: 'approvals_reject',
      args: { ticket: m[1], ...(m[2] ? { reason: m[2] } : {}) },
    }),
  ],
  [
    new RegExp(
      `^scale (?:(deployment|deploy|statefulset|sts) )?${REF}${IN_NS} (?:to )?(\\d+)(?: replicas?)?$`,
    ),
    (m, ctx) => {
      const t = resolve(m, 2, ctx, 'scale payments/api to 3');
      if ('kind' in t) return t;
      const kind = WORKLOAD[m[1] ?? 'deployment'];
      return {
        kind: 'tool',
        tool: kind === 'StatefulSet' ? 'statefulset_scale' : 'deployment_scale',
        args: { namespace: t.namespace, name: t.name, replicas: Number(m[6]) },
        context: { ...t, kind: kind! },
      };
    },
  ],
  [
    new RegExp(`^(?:rollout )?restart (?:(deployment|deploy|statefulset|sts|daemonset|ds) )?${REF}${IN_NS}$`),
    (m, ctx) => {
      const t = resolve(m, 2, ctx, 'restart deployment payments/api');
      if ('kind' in t) return t;
      const remembered = ctx.name === t.name && ctx.kind && ctx.kind in WORKLOAD_KINDS ? ctx.kind : undefined;
      const kind = WORKLOAD[m[1] ?? ''] ?? remembered ?? 'Deployment';
      return {
        kind: 'tool',
        tool: 'workload_rollout_restart',
        args: { namespace: t.namespace, kind, name: t.name },
        context: { ...t, kind },
      };
    },
  ],
  [
    new RegExp(`^(?:rollback|roll back|undo)(?: deployment| deploy)? ${REF}${IN_NS}$`),
    (m, ctx) => {
      const t = resolve(m, 1, ctx, 'rollback payments/api');
      if ('kind' in t) return t;
      return { kind: 'tool', tool: 'workload_rollout_undo', args: t, context: { ...t, kind: 'Deployment' } };
    },
  ],
  [
    new RegExp(`^delete pod ${REF}${IN_NS}$`),
    (m, ctx) => {
      const t = resolve(m, 1, ctx, 'delete pod payments/api-7d9f-x2');
      if ('kind' in t) return t;
      return { kind: 'tool', tool: 'pods_delete', args: t };
    },
  ],
  [
    new RegExp(`^(cordon|uncordon|drain) (?:node )?(${NAME})$`),
    (m) => ({ kind: 'tool', tool: `nodes_${m[1]}`, args: { name: m[2] } }),
  ],
  [
    new RegExp(
      `^(previous |last )?logs? (?:of |for )?(?:pod |deployment |deploy )?${REF}${IN_NS}( previous)?$`,
    ),
    (m, ctx) => {
      const t = resolve(m, 2, ctx, 'logs payments/api');
      if ('kind' in t) return t;
      return logsIntent(t, !!(m[1] || m[6]), ctx);
    },
  ],
  [
    /^(?:its|it's|their) (previous |last )?logs?$/,
    (m, ctx) => {
      const t = target(undefined, 'its', undefined, undefined, ctx);
      if ('error' in t) return { kind: 'incomplete', message: t.error };
      if (!t.namespace) return needNamespace('logs payments/api');
      return logsIntent({ namespace: t.namespace, name: t.name }, !!m[1], ctx);
    },
  ],
  [
    new RegExp(`^describe (pod|deployment|deploy|statefulset|sts|daemonset|ds|job|cronjob) ${REF}${IN_NS}$`),
    (m, ctx) => {
      const t = resolve(m, 2, ctx, `describe ${m[1]} payments/api`);
      if ('kind' in t) return t;
      if (m[1] === 'pod') return { kind: 'tool', tool: 'pods_get', args: t, context: { ...t, kind: 'Pod' } };
      const kind = WORKLOAD[m[1]!] ?? (m[1] === 'job' ? 'Job' : 'CronJob');
      return {
        kind: 'tool',
        tool: 'workload_describe',
        args: { namespace: t.namespace, kind, name: t.name },
        context: { ...t, kind },
      };
    },
  ],
  [
    new RegExp(`^(?:describe )?node (${NAME})$`),
    (m) => ({ kind: 'tool', tool: 'nodes_get', args: { name: m[1] } }),
  ],
  [
    new RegExp(`^(unhealthy |failing |broken |crashing )?pods(?: in all namespaces| everywhere)?${IN_NS}$`),
    (m) => {
      const namespace = m[2] ?? m[3];
      return {
        kind: 'tool',
        tool: 'pods_list',
        args: { ...(namespace ? { namespace } : {}), ...(m[1] ? { unhealthy: true } : {}) },
        ...(namespace ? { context: { namespace } } : {}),
      };
    },
  ],
  [
    new RegExp(`^(warnings?|warning events|events)${IN_NS}$`),
    (m) => {
      const namespace = m[2] ?? m[3];
      return {
        kind: 'tool',
        tool: 'events_list',
        args: {
          ...(namespace ? { namespace } : {}),
          ...(m[1]!.startsWith('warning') ? { warningsOnly: true } : {}),
        },
      };
    },
  ],
  [/^(nodes|node status|all nodes|cluster nodes)$/, () => ({ kind: 'tool', tool: 'nodes_list', args: {} })],
  [/^(namespaces|all namespaces)$/, () => ({ kind: 'tool', tool: 'namespaces_list', args: {} })],
  [
    new RegExp(`^(deployments|statefulsets|daemonsets|jobs|cronjobs|workloads)${IN_NS}$`),
    (m) => {
      const namespace = m[2] ?? m[3];
      const kind = KINDS[m[1]!];
      return {
        kind: 'tool',
        tool: 'workloads_list',
        args: { ...(namespace ? { namespace } : {}), ...(kind ? { kind } : {}) },
      };
    },
  ],
  [
    new RegExp(`^(?:summary|health|status|overview)(?: (?:of|in|for) (?:namespace )?(${NAME}))?$`),
    (m) => ({ kind: 'tool', tool: 'namespace_summary', args: m[1] ? { namespace: m[1] } : {} }),
  ],
];

const WORKLOAD_KINDS = { Deployment: 1, StatefulSet: 1, DaemonSet: 1 };

function logsIntent(t: { namespace: string; name: string }, previous: boolean, ctx: ThreadContext): Intent {
  return {
    kind: 'logs',
    namespace: t.namespace,
    name: t.name,
    previous,
    context: { ...t, ...(ctx.name === t.name && ctx.kind ? { kind: ctx.kind } : {}) },
  };
}

export function parseIntent(input: string, ctx: ThreadContext = {}): Intent {
  const q = clean(input);
  if (!q) return { kind: 'none' };
  for (const [re, build] of RULES) {
    const m = re.exec(q);
    if (m) return build(m, ctx);
  }
  return { kind: 'none' };
}

export const COMMAND_EXAMPLES = [
  'pods in payments',
  'unhealthy pods',
  'logs payments/api',
  'describe pod payments/api-7d9f-x2',
  'describe deployment payments/api',
  'events in payments',
  'nodes',
  'summary of payments',
  'restart deployment payments/api',
  'scale payments/api to 3',
  'approvals',
];
