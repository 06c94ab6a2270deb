/**
 * Degraded mode without a model: which cluster objects a plain question names. Two pure steps: the
 * mentions (words that could be names, namespaces the question points at, `ns/name` references),
 * then the one object they resolve to against what the cluster really holds. Nothing is guessed:
 * a word becomes a target only when an object of that name exists.
 */

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

export interface Mentions {
  /** `payments/api`: namespace and name together. */
  refs: Array<{ namespace: string; name: string }>;
  /** Words the question places as a namespace: "in namespace X", "X namespace", "-n X", "in X". */
  namespaces: string[];
  /** Words that could be object names, most telling first (before "service", "pod", "node"…). */
  names: string[];
  /** Words right beside a kind ("the quotes service", "pod api-7d-x2"). */
  besideKind: string[];
  /** A kind the question names ("deployment", "pod", "node"), when one. */
  kind?: 'workload' | 'pod' | 'node';
}

export interface Inventory {
  namespaces: string[];
  workloads: Array<{ kind: string; namespace: string; name: string }>;
  pods: Array<{ namespace: string; name: string }>;
  nodes: string[];
}

export type Target =
  | { kind: 'workload'; namespace: string; workloadKind: WorkloadKind; name: string }
  | { kind: 'pod'; namespace: string; name: string }
  | { kind: 'node'; name: string }
  | { kind: 'namespace'; namespace: string };

const NAME = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Words of questions that are never object names here (English function words, ops verbs). */
const COMMON = new Set(
  `a about after again all also am an and any are as at be been before being but by can could did do does
  doing down during each else ever for from get gets getting got had has have having how i if in into is
  it its just keep keeps kept me my no not now of off ok on once only or our out over please same see
  seem seems should so some still than that the their them then there these they this those through to
  too under up very was we were what when where which while who why will with would you your yet
  again anymore suddenly today since last hour hours minute minutes day days week
  pod pods service services svc deployment deployments deploy app apps application workload workloads
  statefulset statefulsets sts daemonset daemonsets ds job jobs cronjob cronjobs node nodes namespace
  namespaces ns cluster clusters container containers replica replicas
  restart restarts restarting restarted crash crashes crashing crashed crashloop crashlooping fail fails
  failing failed failure error errors down broken slow stuck pending running ready healthy unhealthy
  wrong problem problems issue issues happening happened going work working works check look show tell
  help fix why whats what's status state memory cpu disk oom oomkilled killed evicted latency timeout
  timeouts logs log events event alert alerts firing image pull pulling`.split(/\s+/),
);

const KIND_WORDS: Record<string, 'workload' | 'pod' | 'node'> = {
  service: 'workload',
  services: 'workload',
  svc: 'workload',
  deployment: 'workload',
  deploy: 'workload',
  app: 'workload',
  application: 'workload',
  workload: 'workload',
  statefulset: 'workload',
  sts: 'workload',
  daemonset: 'workload',
  ds: 'workload',
  job: 'workload',
  cronjob: 'workload',
  pod: 'pod',
  pods: 'pod',
  node: 'node',
  nodes: 'node',
};

const isName = (w: string) => NAME.test(w) && !/^\d+$/.test(w) && !/^\d+[./]\d+$/.test(w);

/** What in a question could name a cluster object. */
export function mentions(question: string): Mentions {
  const q = question.normalize('NFKC').toLowerCase();
  const tokens = q.match(/[a-z0-9][-a-z0-9./]*[a-z0-9]|[a-z0-9]/g) ?? [];
  const refs: Mentions['refs'] = [];
  const namespaces: string[] = [];
  const strong: string[] = [];
  const weak: string[] = [];
  let kind: Mentions['kind'];
  const add = (list: string[], w: string | undefined) => {
    if (w && isName(w) && !COMMON.has(w) && !list.includes(w)) list.push(w);
  };
  for (const [i, t] of tokens.entries()) {
    const ref = /^([a-z0-9][-a-z0-9]*)\/([a-z0-9][-a-z0-9.]*)$/.exec(t);
    if (ref && isName(ref[1]!) && isName(ref[2]!) && !/^\d/.test(ref[1]!)) {
      refs.push({ namespace: ref[1]!, name: ref[2]! });
      continue;
    }
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    if (t === 'namespace' || t === 'ns' || t === '-n') add(namespaces, next);
    if ((t === 'namespace' || t === 'ns') && prev) add(namespaces, prev);
    if ((t === 'in' || t === 'from') && next && next !== 'the') add(namespaces, next);
    if (t in KIND_WORDS) {
      kind ??= KIND_WORDS[t];
      add(strong, prev);
      if (next && !(next in KIND_WORDS)) add(strong, next);
    }
  }
  for (const t of tokens) if (!t.includes('/')) add(weak, t);
  const names = [...strong, ...weak.filter((w) => !strong.includes(w))];
  return { refs, namespaces, names, besideKind: strong, ...(kind ? { kind } : {}) };
}

const WORKLOAD_ORDER = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job'];

/** The workload a word names: the exact name, else the only one holding the word as whole dash-separated parts. */
function workloadFor(
  words: string[],
  list: Inventory['workloads'],
): Inventory['workloads'][number] | undefined {
  const sorted = [...list].sort((a, b) => WORKLOAD_ORDER.indexOf(a.kind) - WORKLOAD_ORDER.indexOf(b.kind));
  for (const w of words) {
    const exact = sorted.find((x) => x.name === w);
    if (exact) return exact;
  }
  for (const w of words) {
    if (w.length < 3) continue;
    const parts = sorted.filter((x) => `-${x.name}-`.includes(`-${w}-`));
    const names = new Set(parts.map((x) => `${x.namespace}/${x.name}`));
    if (names.size === 1) return parts[0];
  }
  return undefined;
}

/**
 * The one object the question is about, from what exists: a `ns/name` reference, else a workload,
 * pod or node named in the question (in the namespace it names, or the thread's), else the
 * namespace itself. Undefined when the question names nothing that exists.
 */
export function resolveTarget(m: Mentions, inv: Inventory, threadNamespace?: string): Target | undefined {
  const known = new Set(inv.namespaces);
  const named = [...m.refs.map((r) => r.namespace), ...m.namespaces, ...m.names].find((n) => known.has(n));
  const namespace = named ?? (threadNamespace && known.has(threadNamespace) ? threadNamespace : undefined);
  const words = [...m.refs.map((r) => r.name), ...m.names.filter((n) => n !== namespace)];
  const inNs = <T extends { namespace: string }>(xs: T[]) =>
    namespace ? xs.filter((x) => x.namespace === namespace) : xs;

  if (m.kind === 'node' || !namespace) {
    const node = words.find((w) => inv.nodes.includes(w));
    if (node) return { kind: 'node', name: node };
  }
  const pods = inNs(inv.pods);
  const workloads = inNs(inv.workloads);
  const pod = words.map((w) => pods.find((p) => p.name === w)).find(Boolean);
  if (pod && m.kind === 'pod') return { kind: 'pod', namespace: pod.namespace, name: pod.name };
  const workload = workloadFor(words, workloads);
  if (workload) {
    return {
      kind: 'workload',
      namespace: workload.namespace,
      workloadKind: workload.kind as WorkloadKind,
      name: workload.name,
    };
  }
  if (pod) return { kind: 'pod', namespace: pod.namespace, name: pod.name };
  return namespace ? { kind: 'namespace', namespace } : undefined;
}

/** Whether a question could name an object at all (so that plain how-to questions read nothing). */
export function mayNameObjects(m: Mentions): boolean {
  return (
    m.refs.length > 0 ||
    m.namespaces.length > 0 ||
    m.besideKind.length > 0 ||
    m.names.some((n) => /[-.\d]/.test(n))
  );
}
