import type { ParsedDocument } from './loaders/types.js';
import type { ChunkMetadata } from './types.js';

/**
 * Endings of alert names as Prometheus rule sets spell them (kube-prometheus, node-exporter mixins,
 * typical team rules). A CamelCase word found in text counts as an alert only with one of these
 * endings and a well-known prefix, so class names, event and pod reasons (OutOfMemoryError,
 * CrashLoopBackOff, ContainerCreating, BackoffLimitExceeded) are not taken for alerts. Other alert
 * names come from front matter or from an explicit `alertname=` / `alert:`.
 */
const ALERT_SUFFIXES = words(`
  Down High Low Firing Failing Failed Failures Errors Latency Slow Full FillingUp CrashLooping NotReady
  Pressure Expiring Expiry Expired ExpiresSoon Overcommit Unavailable Unreachable Missing Mismatch
  Saturated Saturation Throttling Restarting Degraded Stuck Lag Burn BurnRate Exhausted Flapping Absent
  Exceeded NotScheduled Misscheduled Unhealthy Spike Outage Drops Dropped Timeout Timeouts Rejected
  NoLeader Changes Usage`);
const ALERT_PREFIXES = words(`
  Kube Node Prometheus Alertmanager Etcd CoreDNS Cert Certificate Target CPU Cpu Host Ingress Nginx Istio
  Velero Argo Flux Container Pod Deployment StatefulSet DaemonSet Job Cron Persistent Volume Pvc PVC Api
  API Slo SLO Http HTTP Grpc GRPC Redis Kafka Postgres Mysql MySQL Rabbitmq RabbitMQ`);
/** Node conditions and kubelet event reasons that look like alert names. */
const NOT_ALERTS = /^Node(Has|Not)|^(Kubelet|Node)(Ready|Schedulable)$/;
const CAMEL = /\b[A-Z][A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*\b/g;
const ALERT_CONTEXT = /\b(?:alertname\s*[=:~!]+\s*["']?|alert:\s*["']?)([A-Za-z][A-Za-z0-9_]+)/g;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Names that are examples or placeholders, not a real namespace or service. */
const PLACEHOLDERS = new Set(
  words('namespace ns name service svc my-namespace my-service example foo bar xxx'),
);

function words(list: string): string[] {
  return list.split(/\s+/).filter(Boolean);
}

export function looksLikeAlert(word: string): boolean {
  if (NOT_ALERTS.test(word)) return false;
  if (!ALERT_SUFFIXES.some((s) => word.endsWith(s) && word.length > s.length)) return false;
  return ALERT_PREFIXES.some((p) => word.startsWith(p) && word.length > p.length);
}

export function alertsInText(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(ALERT_CONTEXT)) found.add(m[1]!);
  for (const m of text.matchAll(CAMEL)) if (looksLikeAlert(m[0])) found.add(m[0]);
  return [...found];
}

function names(text: string, patterns: RegExp[]): string[] {
  const found = new Set<string>();
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const name = m[1]!;
      if (name.length <= 63 && DNS_LABEL.test(name) && !PLACEHOLDERS.has(name)) found.add(name);
    }
  }
  return [...found];
}

/** Namespaces named the way commands and queries name them: `-n x`, `--namespace=x`, `namespace="x"`. */
export function namespacesInText(text: string): string[] {
  return names(text, [
    /(?:^|[\s`'"(])(?:-n|--namespace)[ =]([a-z0-9][-a-z0-9]*)(?![-A-Za-z0-9_.<>/])/gm,
    /\bnamespace\s*(?:=~?|:)\s*["']([a-z0-9][-a-z0-9]*)["']/g,
    /"namespace"\s*:\s*"([a-z0-9][-a-z0-9]*)"/g,
  ]);
}

/** Services named as objects or labels: `svc/x`, `service/x`, `service="x"`. */
export function servicesInText(text: string): string[] {
  return names(text, [
    /\b(?:svc|service|services)\/([a-z0-9][-a-z0-9]*)\b/g,
    /\bservice\s*(?:=~?|:)\s*["']([a-z0-9][-a-z0-9]*)["']/g,
  ]);
}

function unique(values: string[], fold: (s: string) => string = (s) => s): string[] {
  const seen = new Map<string, string>();
  for (const v of values) if (!seen.has(fold(v))) seen.set(fold(v), v);
  return [...seen.values()];
}

/** Document-level metadata every chunk carries: front matter first, then what the text names. */
export function documentMetadata(doc: ParsedDocument, team?: string): ChunkMetadata {
  const fm = doc.frontMatter;
  return {
    tags: unique(fm.tags.map((t) => t.toLowerCase())),
    alerts: unique([...fm.alerts, ...alertsInText(doc.plainText)], (s) => s.toLowerCase()),
    services: unique([...fm.services, ...servicesInText(doc.plainText)]),
    namespaces: unique([...fm.namespaces, ...namespacesInText(doc.plainText)]),
    ...(team ? { team } : {}),
  };
}
