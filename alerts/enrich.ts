import type { Principal } from '../policies/types.js';
import type { InvokeResult, ToolPipeline } from '../tools/core/invoke.js';
import type { AlertRecord, GroupRecord } from './store.js';

/** What an alert's labels point at, as Kubernetes objects, in the order they are read. */
export interface Target {
  tool: string;
  args: Record<string, unknown>;
  label: string;
}

const WORKLOAD_LABELS: Array<[string, string]> = [
  ['deployment', 'Deployment'],
  ['statefulset', 'StatefulSet'],
  ['daemonset', 'DaemonSet'],
  ['job_name', 'Job'],
  ['cronjob', 'CronJob'],
];

const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** `node-1:9100` (node_exporter's instance) → node-1; an IP is not a node name. */
const nodeName = (v: string | undefined) => {
  const name = (v ?? '').replace(/:\d+$/, '');
  return DNS_NAME.test(name) && !/^\d+(\.\d+){3}$/.test(name) ? name : undefined;
};

/**
 * The objects the alerts name, deduplicated: a workload (deployment=…, statefulset=…), else a pod,
 * and a node (node=…, or instance= when it is a host name). Labels are data: only names that are
 * valid Kubernetes names are used, and only as arguments of read tools.
 */
export function targetsOf(group: GroupRecord, alerts: AlertRecord[]): Target[] {
  const seen = new Set<string>();
  const out: Target[] = [];
  const add = (t: Target) => {
    const key = `${t.tool} ${JSON.stringify(t.args)}`;
    if (seen.has(key) || out.length >= 6) return;
    seen.add(key);
    out.push(t);
  };
  for (const labels of [group.labels, ...alerts.map((a) => a.labels)]) {
    const namespace = labels.namespace;
    const ns = namespace && DNS_NAME.test(namespace) ? namespace : undefined;
    let workload = false;
    for (const [label, kind] of WORKLOAD_LABELS) {
      const name = labels[label];
      if (ns && name && DNS_NAME.test(name)) {
        add({
          tool: 'workload_describe',
          args: { namespace: ns, kind, name },
          label: `${kind} ${ns}/${name}`,
        });
        workload = true;
      }
    }
    if (!workload && ns && labels.pod && DNS_NAME.test(labels.pod))
      add({ tool: 'pods_get', args: { namespace: ns, name: labels.pod }, label: `pod ${ns}/${labels.pod}` });
    const node = nodeName(
      labels.node ?? labels.kubernetes_node ?? (labels.instance && !ns ? labels.instance : undefined),
    );
    if (node) add({ tool: 'nodes_get', args: { name: node }, label: `node ${node}` });
  }
  return out;
}

export interface Evidence {
  label: string;
  call: string;
  status: string;
  text: string;
}

export interface Enrichment {
  /** The objects read, the warnings seen, the signals and the runbooks, as text for the thread. */
  text: string;
  evidence: Evidence[];
  /** The runbook sections that matched ("file › heading"). */
  runbooks: string[];
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * The deterministic part of triage, no model needed: each object the labels name, read through the
 * pipeline as the triage principal (so the policy and the audit see every read); the namespace's
 * recent warning events; the workload's golden signals when Prometheus is configured; the runbook
 * sections that match the alert.
 */
export async function enrich(
  pipeline: ToolPipeline,
  principal: Principal,
  group: GroupRecord,
  alerts: AlertRecord[],
): Promise<Enrichment> {
  const evidence: Evidence[] = [];
  const call = async (
    tool: string,
    args: Record<string, unknown>,
    label: string,
  ): Promise<InvokeResult | undefined> => {
    if (!pipeline.registry.find(tool)) return undefined;
    const r = await pipeline.invoke(tool, args, principal);
    evidence.push({
      label,
      call: `${tool} ${Object.entries(args)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' ')}`,
      status: r.status,
      text: r.text,
    });
    return r;
  };

  const targets = targetsOf(group, alerts);
  for (const t of targets) await call(t.tool, t.args, t.label);
  const namespaces = [
    ...new Set(targets.map((t) => t.args.namespace).filter((n): n is string => typeof n === 'string')),
  ];
  for (const namespace of namespaces.slice(0, 2))
    await call('events_list', { namespace, warningsOnly: true }, `warning events in ${namespace}`);
  for (const t of targets.filter((x) => x.tool === 'workload_describe').slice(0, 2)) {
    const { namespace, name } = t.args as { namespace: string; name: string };
    await call(
      'workload_golden_signals',
      { namespace, workload: name, window: '10m' },
      `golden signals of ${namespace}/${name}`,
    );
  }
  const alertname = group.labels.alertname ?? alerts[0]?.labels.alertname ?? '';
  const summary = alerts[0]?.annotations.summary ?? alerts[0]?.annotations.description ?? '';
  const runbookResult = await call(
    'runbooks_search',
    { query: cut(`${alertname} ${summary}`.trim() || 'alert', 500), limit: 3 },
    'runbooks',
  );
  const runbooks =
    runbookResult && !runbookResult.isError
      ? (
          (
            runbookResult.structured as
              | { passages?: Array<{ source: string; headingPath?: string[] }> }
              | undefined
          )?.passages ?? []
        ).map((r) => [r.source, ...(r.headingPath ?? [])].join(' › '))
      : [];

  const sections = evidence.map((e) => {
    const ok = e.status === 'success' || e.status === 'no_data';
    const body = ok ? cut(e.text.trim(), 1500) : `(${e.status}) ${cut(e.text.trim(), 300)}`;
    return `*${e.label}* (\`${e.call}\`)\n${body}`;
  });
  return { text: sections.join('\n\n'), evidence, runbooks };
}
