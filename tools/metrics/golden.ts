import { z } from 'zod';
import type { HttpBackend } from '../clients/http-backend.js';
import { defineTool, type ToolDef } from '../core/types.js';
import { namespaceName, objectName } from '../shared/k8s-names.js';
import {
  bytes,
  clusterArg,
  escapeRegex,
  type Labels,
  num,
  type PromQueryData,
  pct,
  promApi,
  quote,
  readAnnotations,
  sampleValue,
  TOOLSET,
} from './common.js';
import { durationArg, parseDuration } from './time.js';

type Family = 'linkerd' | 'http';

interface Candidate {
  family: Family;
  /** Label matchers inside the braces, without the namespace. */
  selector: string;
  /** How to tell a returned series belongs to this candidate. */
  accepts(labels: Labels): boolean;
}

const STATUS_LABELS = ['code', 'status', 'status_code'] as const;

/** Pods of a Deployment (name-hash-xxxxx), StatefulSet (name-0) or DaemonSet (name-xxxxx). */
export function podRegex(workload: string): string {
  return `${escapeRegex(workload)}-([a-z0-9]{5,10}-[a-z0-9]{5}|[0-9]+|[a-z0-9]{5})`;
}

function candidates(workload: string): Candidate[] {
  const re = new RegExp(`^(?:${podRegex(workload)})$`);
  const byLabel = (family: Family, label: string): Candidate => ({
    family,
    selector: `${label}=${quote(workload)}`,
    accepts: (l) => l[label] === workload,
  });
  const byPod = (family: Family): Candidate => ({
    family,
    selector: `pod=~${quote(podRegex(workload))}`,
    accepts: (l) => l.pod !== undefined && re.test(l.pod),
  });
  return [
    ...['deployment', 'statefulset', 'daemonset'].map((l) => byLabel('linkerd', l)),
    byPod('linkerd'),
    ...['deployment', 'app', 'app_kubernetes_io_name', 'service', 'job'].map((l) => byLabel('http', l)),
    byPod('http'),
  ];
}

const FAMILY = {
  linkerd: {
    title: 'Linkerd proxy metrics',
    requests: 'request_total',
    metrics: ['request_total', 'response_total', 'response_latency_ms_bucket'],
    extra: 'direction="inbound"',
  },
  http: {
    title: 'common HTTP server metrics',
    requests: 'http_requests_total',
    metrics: ['http_requests_total', 'http_request_duration_seconds_bucket'],
    extra: '',
  },
} as const;

async function instant(prom: HttpBackend, query: string, signal: AbortSignal): Promise<number | undefined> {
  const { data } = await promApi<PromQueryData>(prom, 'api/v1/query', { query }, signal);
  if (data.resultType === 'scalar') return sampleValue(data.result[1]);
  if (data.resultType !== 'vector' || data.result.length === 0) return undefined;
  const v = sampleValue(data.result[0]!.value[1]);
  return Number.isNaN(v) ? undefined : v;
}

function queriesFor(
  family: Family,
  sel: string,
  statusLabel: string | undefined,
  w: string,
): Record<string, string> {
  if (family === 'linkerd') {
    const q = (p: number) =>
      `histogram_quantile(${p}, sum by (le) (rate(response_latency_ms_bucket{${sel}}[${w}])))`;
    return {
      requestRate: `sum(rate(request_total{${sel}}[${w}]))`,
      errorRatio: `(sum(rate(response_total{${sel}, classification="failure"}[${w}])) or vector(0)) / sum(rate(response_total{${sel}}[${w}]))`,
      latencyP50: q(0.5),
      latencyP95: q(0.95),
      latencyP99: q(0.99),
    };
  }
  const q = (p: number) =>
    `histogram_quantile(${p}, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[${w}]))) * 1000`;
  return {
    requestRate: `sum(rate(http_requests_total{${sel}}[${w}]))`,
    ...(statusLabel
      ? {
          errorRatio: `(sum(rate(http_requests_total{${sel}, ${statusLabel}=~"5.."}[${w}])) or vector(0)) / sum(rate(http_requests_total{${sel}}[${w}]))`,
        }
      : {}),
    latencyP50: q(0.5),
    latencyP95: q(0.95),
    latencyP99: q(0.99),
  };
}

function saturationQueries(namespace: string, workload: string, w: string): Record<string, string> {
  const pods = `namespace=${quote(namespace)}, pod=~${quote(podRegex(workload))}`;
  const containers = `${pods}, container!="", container!="POD"`;
  return {
    cpuUsed: `sum(rate(container_cpu_usage_seconds_total{${containers}}[${w}]))`,
    cpuLimit: `sum(kube_pod_container_resource_limits{${pods}, resource="cpu"})`,
    memoryUsed: `sum(container_memory_working_set_bytes{${containers}})`,
    memoryLimit: `sum(kube_pod_container_resource_limits{${pods}, resource="memory"})`,
  };
}

const optionalNumber = z.number().optional();

const goldenSignals = defineTool({
  name: 'workload_golden_signals',
  title: 'Workload: Golden signals',
  description:
    'The four golden signals of one workload from Prometheus: request rate, error rate, latency p50/p95/p99, and saturation (CPU and memory against the pods\' limits). Tries Linkerd proxy metrics first, then common HTTP server metric names (http_requests_total, http_request_duration_seconds), and shows the PromQL it used for each signal so you can refine it. Call it for "is service X healthy" or during an incident on one workload.',
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceName.describe('Namespace of the workload'),
    workload: objectName.describe('Deployment, StatefulSet or DaemonSet name'),
    window: durationArg
      .refine((d) => (parseDuration(d) ?? 0) >= 2, 'must be at least 2s')
      .default('5m')
      .describe('Rate window, e.g. 1m, 5m (default), 1h'),
  }),
  output: z.object({
    namespace: z.string(),
    workload: z.string(),
    window: z.string(),
    source: z.string(),
    family: z.enum(['linkerd', 'http', 'none']),
    metrics: z.array(z.string()).describe('metric names the request signals came from'),
    selector: z.string().optional(),
    statusLabel: z.string().optional(),
    signals: z.object({
      requestRate: optionalNumber.describe('requests per second'),
      errorRatio: optionalNumber.describe('failed / all requests, 0..1'),
      errorRate: optionalNumber.describe('failed requests per second'),
      latencyMs: z.object({ p50: optionalNumber, p95: optionalNumber, p99: optionalNumber }),
      cpu: z.object({ usedCores: optionalNumber, limitCores: optionalNumber, ratio: optionalNumber }),
      memory: z.object({ usedBytes: optionalNumber, limitBytes: optionalNumber, ratio: optionalNumber }),
    }),
    queries: z.record(z.string(), z.string()).describe('the PromQL behind each signal'),
    notFound: z.array(z.string()).describe('signals for which no metrics were found'),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const prom = ctx.backends.prometheus.pick(args.cluster);
    const ns = `namespace=${quote(args.namespace)}`;
    const all = candidates(args.workload);
    const matchers = all.map((c) => {
      const f = FAMILY[c.family];
      return `${f.requests}{${[ns, f.extra, c.selector].filter(Boolean).join(', ')}}`;
    });
    const lookback = Math.max(parseDuration(args.window)!, 60);
    const end = Date.now() / 1000;
    const { data: series } = await promApi<Labels[]>(
      prom,
      'api/v1/series',
      { 'match[]': matchers, start: end - lookback, end },
      ctx.signal,
    );
    const chosen = all.find((c) =>
      series.some(
        (s) => s.__name__ === FAMILY[c.family].requests && s.namespace === args.namespace && c.accepts(s),
      ),
    );
    const statusLabel =
      chosen?.family === 'http'
        ? STATUS_LABELS.find((l) =>
            series.some((s) => s.__name__ === 'http_requests_total' && chosen.accepts(s) && l in s),
          )
        : undefined;
    const sel = chosen ? [ns, FAMILY[chosen.family].extra, chosen.selector].filter(Boolean).join(', ') : '';
    const queries = {
      ...(chosen ? queriesFor(chosen.family, sel, statusLabel, args.window) : {}),
      ...saturationQueries(args.namespace, args.workload, args.window),
    };
    const values: Record<string, number | undefined> = Object.fromEntries(
      await Promise.all(
        Object.entries(queries).map(async ([k, q]) => [k, await instant(prom, q, ctx.signal)] as const),
      ),
    );
    const v = (k: string) => values[k];
    const ratio = (a?: number, b?: number) => (a !== undefined && b ? a / b : undefined);
    const requestRate = v('requestRate');
    const errorRatio = v('errorRatio');
    const signals = {
      requestRate,
      errorRatio,
      errorRate: errorRatio !== undefined && requestRate !== undefined ? errorRatio * requestRate : undefined,
      latencyMs: { p50: v('latencyP50'), p95: v('latencyP95'), p99: v('latencyP99') },
      cpu: { usedCores: v('cpuUsed'), limitCores: v('cpuLimit'), ratio: ratio(v('cpuUsed'), v('cpuLimit')) },
      memory: {
        usedBytes: v('memoryUsed'),
        limitBytes: v('memoryLimit'),
        ratio: ratio(v('memoryUsed'), v('memoryLimit')),
      },
    };
    const notFound = Object.keys(queries).filter((k) => values[k] === undefined);
    if (!chosen) notFound.unshift('requestRate', 'errorRatio', 'latency');
    if (chosen?.family === 'http' && !statusLabel) notFound.push('errorRatio (no code or status label)');

    const where = `${args.namespace}/${args.workload}`;
    const lines = [`Golden signals of ${where} over the last ${args.window} (${prom.label}).`];
    if (chosen) {
      const f = FAMILY[chosen.family];
      lines.push(
        `Traffic, errors and latency from ${f.title} (${f.metrics.join(', ')}) selected by {${sel}}.`,
      );
      lines.push(`  request rate  ${requestRate !== undefined ? `${num(requestRate)} req/s` : 'no data'}`);
      lines.push(
        `  error rate    ${errorRatio !== undefined ? `${pct(errorRatio)} (${num(signals.errorRate ?? 0)} req/s failing${statusLabel ? `; 5xx by label ${statusLabel}` : ''})` : 'no data'}`,
      );
      const l = signals.latencyMs;
      const ms = (x?: number) => (x !== undefined && Number.isFinite(x) ? `${num(x)} ms` : 'no data');
      lines.push(`  latency       p50 ${ms(l.p50)}, p95 ${ms(l.p95)}, p99 ${ms(l.p99)}`);
    } else {
      lines.push(
        `No request metrics found for ${where}: looked for Linkerd proxy metrics (request_total with direction="inbound" and a deployment, statefulset, daemonset or pod label) and common HTTP server metrics (http_requests_total with a deployment, app, app_kubernetes_io_name, service, job or pod label) in namespace ${args.namespace} over the last ${args.window}. Find what exists with metrics_series or metrics_label_values (label __name__).`,
      );
    }
    const { cpu, memory } = signals;
    lines.push(
      `  CPU           ${cpu.usedCores !== undefined ? `${num(cpu.usedCores)} cores` : 'no data'}${cpu.limitCores !== undefined ? ` of ${num(cpu.limitCores)} limit (${pct(cpu.ratio ?? Number.NaN)})` : ' (no limit found)'}`,
      `  memory        ${memory.usedBytes !== undefined ? bytes(memory.usedBytes) : 'no data'}${memory.limitBytes !== undefined ? ` of ${bytes(memory.limitBytes)} limit (${pct(memory.ratio ?? Number.NaN)})` : ' (no limit found)'}`,
      'PromQL used:',
      ...Object.entries(queries).map(([k, q]) => `  ${k}: ${q}`),
    );
    const found = Object.keys(queries).length - notFound.filter((k) => k in queries).length;
    return {
      kind: 'doc',
      status: chosen || found > 0 ? 'success' : 'no_data',
      text: lines.join('\n'),
      structured: {
        namespace: args.namespace,
        workload: args.workload,
        window: args.window,
        source: prom.label,
        family: chosen?.family ?? 'none',
        metrics: chosen ? [...FAMILY[chosen.family].metrics] : [],
        ...(chosen ? { selector: `{${sel}}` } : {}),
        ...(statusLabel ? { statusLabel } : {}),
        signals: JSON.parse(JSON.stringify(signals)),
        queries,
        notFound,
      },
    };
  },
});

export const goldenTools: ToolDef[] = [goldenSignals];
