/**
 * A small exporter the tests control: realistic HTTP-server and container metrics for made-up
 * workloads, in the Prometheus text format. Counters are computed at scrape time from elapsed time
 * (piecewise linear, continuous across changes), so the rates Prometheus computes are exactly the
 * rates a test asked for, and a test can check Kubemate's figures against them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Latency as a histogram: cumulative fraction of requests at or below each bound (milliseconds). */
export interface LatencySpec {
  boundsMs: number[];
  cumulative: number[];
}

export interface WorkloadSpec {
  namespace: string;
  workload: string;
  /** `linkerd`: the Linkerd proxy's names; `http`: common HTTP server names (client_golang, Micrometer…). */
  naming: 'linkerd' | 'http';
  /** For `http` naming: the label carrying the status code. */
  statusLabel?: 'code' | 'status';
  pods: string[];
  /** Requests per second, across all pods. */
  rps: number;
  /** Fraction of requests that fail (HTTP 5xx; Linkerd classification="failure"). */
  errorRatio: number;
  latency: LatencySpec;
  /** CPU in use (cores, all pods) and the sum of the pods' limits. */
  cpu?: { cores: number; limitCores: number };
  /** Working set (bytes, all pods) and the sum of the pods' limits. */
  memory?: { bytes: number; limitBytes: number };
}

/** A counter that grows at `perSecond` since `since`, on top of what it had counted before. */
class LinearCounter {
  private base = 0;
  private since = Date.now() / 1000;
  constructor(private perSecond: number) {}
  value(now: number): number {
    return this.base + this.perSecond * (now - this.since);
  }
  setRate(perSecond: number, now: number): void {
    this.base = this.value(now);
    this.since = now;
    this.perSecond = perSecond;
  }
}

interface Workload {
  spec: WorkloadSpec;
  /** Per pod: requests ok, requests failed, one per latency bucket (cumulative), latency sum, CPU seconds. */
  counters: Map<string, LinearCounter>;
}

function labels(pairs: Record<string, string>): string {
  const body = Object.entries(pairs)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(',');
  return `{${body}}`;
}

/** Per-second rates of every counter of one pod of a workload, keyed like the counters map. */
function podRates(spec: WorkloadSpec): Record<string, number> {
  const pods = spec.pods.length;
  const rps = spec.rps / pods;
  const rates: Record<string, number> = {
    ok: rps * (1 - spec.errorRatio),
    failed: rps * spec.errorRatio,
    cpu: (spec.cpu?.cores ?? 0) / pods,
  };
  // The mean of each bucket's upper bound weighs the latency sum: a plausible _sum for the histogram.
  let sum = 0;
  let prev = 0;
  spec.latency.boundsMs.forEach((bound, i) => {
    const cum = spec.latency.cumulative[i]!;
    rates[`bucket${i}`] = rps * cum;
    sum += (cum - prev) * bound;
    prev = cum;
  });
  rates.latencySumMs = rps * sum;
  return rates;
}

export class TestExporter {
  private readonly workloads = new Map<string, Workload>();
  private bulk: { metric: string; series: number; value: (i: number, now: number) => number } | undefined;
  private server: http.Server | undefined;
  url = '';
  scrapes = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.scrapes++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(this.render(Date.now() / 1000));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds a workload, or changes one (counters continue from where they are). */
  setWorkload(spec: WorkloadSpec): void {
    const key = `${spec.namespace}/${spec.workload}`;
    const now = Date.now() / 1000;
    const existing = this.workloads.get(key);
    const rates = podRates(spec);
    if (existing && existing.spec.pods.join() === spec.pods.join()) {
      for (const pod of spec.pods) {
        for (const [name, rate] of Object.entries(rates))
          existing.counters.get(`${pod}/${name}`)?.setRate(rate, now);
      }
      existing.spec = spec;
      return;
    }
    const counters = new Map<string, LinearCounter>();
    for (const pod of spec.pods) {
      for (const [name, rate] of Object.entries(rates))
        counters.set(`${pod}/${name}`, new LinearCounter(rate));
    }
    this.workloads.set(key, { spec, counters });
  }

  /** Many plain series of one gauge (for the benchmark): `metric{series="i"}` = value(i, now). */
  setBulk(metric: string, series: number, value: (i: number, now: number) => number): void {
    this.bulk = { metric, series, value };
  }

  render(now: number): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    const all = [...this.workloads.values()];
    const linkerd = all.filter((w) => w.spec.naming === 'linkerd');
    const plain = all.filter((w) => w.spec.naming === 'http');
    const c = (w: Workload, pod: string, name: string) => w.counters.get(`${pod}/${name}`)!.value(now);

    if (linkerd.length) {
      family('request_total', 'counter', 'Total count of HTTP requests.');
      for (const w of linkerd) {
        for (const pod of w.spec.pods) {
          const l = { direction: 'inbound', namespace: w.spec.namespace, deployment: w.spec.workload, pod };
          out.push(`request_total${labels({ ...l, tls: 'true' })} ${c(w, pod, 'ok') + c(w, pod, 'failed')}`);
        }
      }
      family('response_total', 'counter', 'Total count of HTTP responses.');
      for (const w of linkerd) {
        for (const pod of w.spec.pods) {
          const l = { direction: 'inbound', namespace: w.spec.namespace, deployment: w.spec.workload, pod };
          out.push(
            `response_total${labels({ ...l, classification: 'success', status_code: '200' })} ${c(w, pod, 'ok')}`,
          );
          out.push(
            `response_total${labels({ ...l, classification: 'failure', status_code: '503' })} ${c(w, pod, 'failed')}`,
          );
        }
      }
      family('response_latency_ms', 'histogram', 'Elapsed times between a request and its response.');
      for (const w of linkerd) {
        for (const pod of w.spec.pods) {
          const l = { direction: 'inbound', namespace: w.spec.namespace, deployment: w.spec.workload, pod };
          w.spec.latency.boundsMs.forEach((bound, i) => {
            out.push(
              `response_latency_ms_bucket${labels({ ...l, le: String(bound) })} ${c(w, pod, `bucket${i}`)}`,
            );
          });
          const total = c(w, pod, 'ok') + c(w, pod, 'failed');
          out.push(`response_latency_ms_bucket${labels({ ...l, le: '+Inf' })} ${total}`);
          out.push(`response_latency_ms_sum${labels(l)} ${c(w, pod, 'latencySumMs')}`);
          out.push(`response_latency_ms_count${labels(l)} ${total}`);
        }
      }
    }

    if (plain.length) {
      family('http_requests_total', 'counter', 'Total number of HTTP requests by status code.');
      for (const w of plain) {
        const status = w.spec.statusLabel ?? 'code';
        for (const pod of w.spec.pods) {
          const l = { namespace: w.spec.namespace, pod, method: 'GET', handler: '/api' };
          out.push(`http_requests_total${labels({ ...l, [status]: '200' })} ${c(w, pod, 'ok')}`);
          out.push(`http_requests_total${labels({ ...l, [status]: '500' })} ${c(w, pod, 'failed')}`);
        }
      }
      family('http_request_duration_seconds', 'histogram', 'HTTP request latencies in seconds.');
      for (const w of plain) {
        for (const pod of w.spec.pods) {
          const l = { namespace: w.spec.namespace, pod, method: 'GET', handler: '/api' };
          w.spec.latency.boundsMs.forEach((bound, i) => {
            out.push(
              `http_request_duration_seconds_bucket${labels({ ...l, le: String(bound / 1000) })} ${c(w, pod, `bucket${i}`)}`,
            );
          });
          const total = c(w, pod, 'ok') + c(w, pod, 'failed');
          out.push(`http_request_duration_seconds_bucket${labels({ ...l, le: '+Inf' })} ${total}`);
          out.push(`http_request_duration_seconds_sum${labels(l)} ${c(w, pod, 'latencySumMs') / 1000}`);
          out.push(`http_request_duration_seconds_count${labels(l)} ${total}`);
        }
      }
    }

    const withCpu = all.filter((w) => w.spec.cpu);
    const withMemory = all.filter((w) => w.spec.memory);
    if (withCpu.length) {
      family('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed in seconds.');
      for (const w of withCpu) {
        for (const pod of w.spec.pods) {
          const l = {
            namespace: w.spec.namespace,
            pod,
            container: 'main',
            image: `registry.local/${w.spec.workload}:1`,
          };
          out.push(`container_cpu_usage_seconds_total${labels(l)} ${c(w, pod, 'cpu')}`);
        }
      }
    }
    if (withMemory.length) {
      family('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.');
      for (const w of withMemory) {
        for (const pod of w.spec.pods) {
          const l = {
            namespace: w.spec.namespace,
            pod,
            container: 'main',
            image: `registry.local/${w.spec.workload}:1`,
          };
          out.push(
            `container_memory_working_set_bytes${labels(l)} ${w.spec.memory!.bytes / w.spec.pods.length}`,
          );
        }
      }
    }
    if (withCpu.length || withMemory.length) {
      family(
        'kube_pod_container_resource_limits',
        'gauge',
        'The number of requested limit resource by a container.',
      );
      for (const w of all) {
        for (const pod of w.spec.pods) {
          const l = { namespace: w.spec.namespace, pod, container: 'main', node: 'kwok-node-0' };
          if (w.spec.cpu) {
            out.push(
              `kube_pod_container_resource_limits${labels({ ...l, resource: 'cpu', unit: 'core' })} ${w.spec.cpu.limitCores / w.spec.pods.length}`,
            );
          }
          if (w.spec.memory) {
            out.push(
              `kube_pod_container_resource_limits${labels({ ...l, resource: 'memory', unit: 'byte' })} ${w.spec.memory.limitBytes / w.spec.pods.length}`,
            );
          }
        }
      }
    }

    if (this.bulk) {
      family(this.bulk.metric, 'gauge', 'Synthetic series for the benchmark.');
      for (let i = 0; i < this.bulk.series; i++) {
        out.push(`${this.bulk.metric}${labels({ series: String(i) })} ${this.bulk.value(i, now)}`);
      }
    }
    return `${out.join('\n')}\n`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** histogram_quantile's own interpolation over a cumulative histogram: what Prometheus will answer. */
export function expectedQuantile(q: number, latency: LatencySpec): number {
  const rank = q;
  let lowerBound = 0;
  let below = 0;
  for (let i = 0; i < latency.boundsMs.length; i++) {
    const cum = latency.cumulative[i]!;
    if (cum >= rank) {
      const upper = latency.boundsMs[i]!;
      return lowerBound + ((upper - lowerBound) * (rank - below)) / (cum - below);
    }
    lowerBound = latency.boundsMs[i]!;
    below = cum;
  }
  return lowerBound;
}
