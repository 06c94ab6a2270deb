/**
 * `npm run bench -- metrics`: promql_query_range over 500 series × 1,000 points on a real
 * Prometheus. The history is backfilled honestly: the test exporter exposes the 500 series live,
 * and 1,000 earlier points of each are written as OpenMetrics and turned into TSDB blocks with
 * `promtool tsdb create-blocks-from openmetrics` before Prometheus starts.
 *
 * Kubemate's overhead is each tool call through the pipeline minus the time that same call spent
 * in its HTTP request to Prometheus (timed around HttpBackend.request): Prometheus takes seconds
 * and varies by hundreds of milliseconds on a shared machine, so subtracting separately timed
 * queries would measure Prometheus's jitter, not Kubemate. The overhead includes JSON.parse of the
 * answer, which any client needs (its own time is shown too). Output tokens (text + structured)
 * are set against the raw JSON's tokens.
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../app/config.js';
import { buildApp } from '../app/wiring.js';
import { buildMcpServer } from '../mcp/server.js';
import { startPrometheusStack } from '../test/env/prometheus.js';
import { HttpBackend } from '../tools/clients/http-backend.js';
import { silentLogger } from '../tools/core/logger.js';
import { estimateTokens } from '../tools/core/shaping.js';
import { fmt, percentile } from './stats.js';

const SERIES = 500;
const POINTS = 1000;
const STEP = 15;
const ROUNDS = Number(process.env.BENCH_METRICS_ROUNDS ?? 10);
const METRIC = 'bench_http_requests_per_second';

/** A plausible request rate per series: its own level, a slow wave, noise, and a few spikes. */
function value(series: number, t: number): number {
  const base = 5 + (series % 50) * 2;
  const wave = Math.sin(t / 3600 + series) * base * 0.2;
  const noise = Math.sin(t * 12.9898 + series * 78.233) * base * 0.05;
  const spike = series % 97 === 0 && Math.floor(t / STEP) % 331 === 0 ? base * 4 : 0;
  return Math.max(0, Number((base + wave + noise + spike).toFixed(3)));
}

function openMetrics(start: number): string {
  const lines = [`# HELP ${METRIC} Synthetic request rate.`, `# TYPE ${METRIC} gauge`];
  for (let s = 0; s < SERIES; s++) {
    for (let i = 0; i < POINTS; i++) {
      const t = start + i * STEP;
      lines.push(`${METRIC}{namespace="bench",pod="api-${s}",series="${s}"} ${value(s, t)} ${t}`);
    }
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

const agent = new http.Agent({ keepAlive: true });

/** The query as a plain client makes it: node:http over a keep-alive connection, body read whole. */
function rawGet(url: URL): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve(Buffer.concat(parts)));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function row(label: string, samples: number[]): string {
  const min = Math.min(...samples);
  return `${label.padEnd(44)} p50 ${fmt(percentile(samples, 50)).padStart(9)}  p99 ${fmt(percentile(samples, 99)).padStart(9)}  min ${fmt(min).padStart(9)}`;
}

export async function benchMetrics(): Promise<string[]> {
  // Whole steps, ending well before Prometheus starts scraping, so the window holds only backfill.
  const end = Math.floor(Date.now() / 1000 / STEP) * STEP - 600;
  const start = end - (POINTS - 1) * STEP;
  const t0 = performance.now();
  const stack = await startPrometheusStack({
    backfillOpenMetrics: openMetrics(start),
    exporter: (e) => e.setBulk(METRIC, SERIES, (s, now) => value(s, now)),
  });
  const setupSeconds = (performance.now() - t0) / 1000;
  const app = buildApp(
    loadConfig({
      env: {
        KUBEMATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'kubemate-bench-')),
        KUBEMATE_LOG__LEVEL: 'silent',
        KUBEMATE_OBSERVABILITY__PROMETHEUS: JSON.stringify([
          { url: stack.prometheusUrl, timeoutSeconds: 60 },
        ]),
      },
    }),
    silentLogger,
  );
  const principal = { id: 'bench', groups: [], source: 'cli' as const };
  const args = { query: METRIC, start, end, step: `${STEP}s` };
  const url = new URL('/api/v1/query_range', stack.prometheusUrl);
  for (const [k, v] of Object.entries({ query: METRIC, start, end, step: STEP }))
    url.searchParams.set(k, String(v));

  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await buildMcpServer(app.pipeline, { ...principal, source: 'mcp-stdio' }).connect(serverSide);
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(clientSide);

  try {
    const rawBody = await (await fetch(url)).text();
    const rawData = JSON.parse(rawBody) as { data: { result: Array<{ values: unknown[] }> } };
    const series = rawData.data.result.length;
    const points = rawData.data.result.reduce((n, s) => n + s.values.length, 0);
    if (series !== SERIES || points !== SERIES * POINTS) {
      throw new Error(
        `Prometheus returned ${series} series and ${points} points, expected ${SERIES} × ${POINTS}`,
      );
    }
    // The HTTP time of each tool call, measured around the one request it makes.
    let httpMs = 0;
    const request = HttpBackend.prototype.request;
    HttpBackend.prototype.request = async function (this: HttpBackend, ...a: Parameters<typeof request>) {
      const t = performance.now();
      try {
        return await request.apply(this, a);
      } finally {
        httpMs += performance.now() - t;
      }
    };
    const samples = {
      http: [] as number[],
      tool: [] as number[],
      overhead: [] as number[],
      cpu: [] as number[],
      mcp: [] as number[],
      parse: [] as number[],
    };
    const time = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      return performance.now() - t;
    };
    let answer: Awaited<ReturnType<typeof app.pipeline.invoke>> | undefined;
    for (let round = -2; round < ROUNDS; round++) {
      const http = await time(() => rawGet(url));
      httpMs = 0;
      const cpuBefore = process.cpuUsage();
      const tool = await time(async () => {
        answer = await app.pipeline.invoke('promql_query_range', args, principal);
        if (answer.status !== 'success') throw new Error(answer.text);
      });
      const used = process.cpuUsage(cpuBefore);
      const cpu = (used.user + used.system) / 1000;
      const overhead = tool - httpMs;
      const mcp = await time(async () => {
        const r = (await client.callTool({ name: 'promql_query_range', arguments: args })) as CallToolResult;
        if (r.isError) throw new Error(JSON.stringify(r.content));
      });
      const parse = await time(async () => JSON.parse(rawBody));
      if (round < 0) continue; // warm-up
      for (const [k, v] of Object.entries({ http, tool, overhead, cpu, mcp, parse })) {
        samples[k as keyof typeof samples].push(v);
      }
    }
    HttpBackend.prototype.request = request;
    const textTokens = estimateTokens(answer!.text);
    const structuredTokens = estimateTokens(JSON.stringify(answer!.structured));
    const rawTokens = estimateTokens(rawBody);
    const total = textTokens + structuredTokens;
    const s = answer!.structured as {
      seriesTotal: number;
      pointsTotal: number;
      seriesWithStats: number;
      seriesWithValues: number;
    };
    const p50 = percentile(samples.overhead, 50);
    return [
      `promql_query_range, ${SERIES} series × ${POINTS} points (step ${STEP}s) backfilled with promtool into a real Prometheus; setup ${setupSeconds.toFixed(1)} s; ${ROUNDS} rounds after 2 warm-up`,
      row('raw HTTP query_range (node:http, body read)', samples.http),
      row('kubemate pipeline (invoke), total', samples.tool),
      row('kubemate MCP (in-memory client), total', samples.mcp),
      row('kubemate overhead (call − its own HTTP time)', samples.overhead),
      row('kubemate CPU time per call (all of it)', samples.cpu),
      row('  of which any client pays: JSON.parse', samples.parse),
      `answer: text ${textTokens} + structured ${structuredTokens} = ${total} tokens (target < 4000); raw JSON ${rawTokens} tokens (${(rawBody.length / 1e6).toFixed(1)} MB): ${(rawTokens / total).toFixed(0)}× smaller (ratio ${(total / rawTokens).toFixed(5)})`,
      `totals exact: ${s.seriesTotal === SERIES && s.pointsTotal === SERIES * POINTS} (series ${s.seriesTotal}, points ${s.pointsTotal}); stats for ${s.seriesWithStats} series, values for ${s.seriesWithValues}`,
      `overhead / JSON.parse of the same answer on the same machine: ${(p50 / percentile(samples.parse, 50)).toFixed(2)} (p50s)`,
      `targets: overhead p50 ${fmt(p50)} (< 200 ms: ${p50 < 200 ? 'met' : 'NOT met'}), output ${total} tokens (< 4000: ${total < 4000 ? 'met' : 'NOT met'}); machine load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
    ];
  } finally {
    await client.close();
    app.close();
    agent.destroy();
    await stack.stop();
  }
}
