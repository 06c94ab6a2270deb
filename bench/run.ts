/**
 * `npm run bench`: tools/call round trips of pods_list over stdio and Streamable HTTP against a real
 * API server holding 1,000 pods on 100 kwok nodes, next to the same list made directly with
 * @kubernetes/client-node. Prints p50, p99, calls per second, ratios and the answer's size in tokens.
 *
 * Also the policy engine and the audit log (no cluster needed). `npm run bench -- policy|audit|pods`
 * runs one part; `npm run bench -- metrics` runs the promql_query_range benchmark on a real
 * Prometheus (bench/metrics.ts); `npm run bench -- runbooks` the runbook knowledge base (ingestion,
 * query latency at 100,000 chunks; bench/runbooks.ts); `npm run bench -- agent` the agent's overhead per
 * step and prompt tokens per question over the eval scenarios (bench/agent.ts). `npm run bench -- chat` the
 * chat path from a signed Slack message to the first visible reply (bench/chat.ts); `npm run bench -- im` the
 * same for Feishu/Lark and WeCom, with their decrypt + verify + dispatch time (bench/im.ts). `npm run bench -- canary`
 * canary_analyze's overhead and canary_list across 500 routes (bench/canary.ts). `npm run bench -- inspect`
 * an inspection of the cluster scope on 1,000 nodes and 30,000 pods (bench/inspect.ts). `npm run bench -- alerts`
 * Alertmanager webhook ingest, enrichment and storm memory (bench/alerts.ts). `npm run bench -- models` the
 * models toolset's overhead over the ollama client and one agent step on the real Ollama (bench/models.ts). Uses the cluster at KUBEMATE_TEST_KUBECONFIG when set, otherwise starts one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { hashToken } from '../mcp/auth.js';
import { createFakeNodes, startCluster } from '../test/env/cluster.js';
import type { KubeCluster } from '../tools/clients/kube.js';
import { KubeReader } from '../tools/clients/kube-raw.js';
import { podSummaries } from '../tools/cluster/pod-table.js';
import { estimateTokens } from '../tools/core/shaping.js';
import { benchAgent } from './agent.js';
import { benchAlerts } from './alerts.js';
import { benchAudit } from './audit.js';
import { benchCanary } from './canary.js';
import { benchChat } from './chat.js';
import { kubemateEnv } from './env.js';
import { benchHa } from './ha.js';
import { benchIm } from './im.js';
import { benchInspect } from './inspect.js';
import { benchMetrics } from './metrics.js';
import { benchModels } from './models.js';
import { benchPolicy } from './policy.js';
import { benchRedact } from './redact.js';
import { benchRunbooks } from './runbooks.js';
import { fmt, measureInterleaved, type Timing } from './stats.js';

const NODES = 100;
const PODS = 1000;
const DEPLOYMENTS = 10;
const NAMESPACE = 'bench';
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 60);
const TOKEN = 'kmt_bench-token';

async function ensureWorkload(kubeconfig: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext('admin');
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  await createFakeNodes(kubeconfig, NODES, 'kwok-node-');
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } }).catch(() => undefined);
  for (let d = 0; d < DEPLOYMENTS; d++) {
    const name = `svc-${d}`;
    await apps
      .createNamespacedDeployment({
        namespace: NAMESPACE,
        body: {
          metadata: { name },
          spec: {
            replicas: PODS / DEPLOYMENTS,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: { containers: [{ name: 'main', image: `registry.local/${name}:1` }] },
            },
          },
        },
      })
      .catch(() => undefined);
  }
  const started = Date.now();
  for (;;) {
    const pods = await core.listNamespacedPod({ namespace: NAMESPACE });
    const running = pods.items.filter((p) => p.status?.phase === 'Running').length;
    if (running === PODS && pods.items.length === PODS) break;
    if (Date.now() - started > 600_000) throw new Error(`only ${running}/${PODS} pods Running`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  process.stderr.write(
    `workload ready: ${PODS} pods on ${NODES} nodes (${Math.round((Date.now() - started) / 1000)}s)\n`,
  );
}

/** The baseline: the same paged list Kubemate makes, directly with the client library. */
function directList(kubeconfig: string): () => Promise<V1Pod[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext('kubemate');
  const core = kc.makeApiClient(CoreV1Api);
  return async () => {
    const out: V1Pod[] = [];
    let cont: string | undefined;
    do {
      const page = await core.listNamespacedPod({ namespace: NAMESPACE, limit: 500, _continue: cont });
      out.push(...page.items);
      cont = page.metadata?._continue || undefined;
    } while (cont);
    if (out.length !== PODS) throw new Error(`direct list saw ${out.length} pods`);
    return out;
  };
}

/** The read Kubemate itself makes (the server-side pod table), called directly: isolates Kubemate's own overhead. */
function readerList(kubeconfig: string): () => Promise<unknown[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext('kubemate');
  const cluster = { raw: new KubeReader(kc) } as unknown as KubeCluster;
  return async () => {
    const pods = await podSummaries(cluster, { namespace: NAMESPACE });
    if (pods.length !== PODS) throw new Error(`reader saw ${pods.length} pods`);
    return pods;
  };
}

async function callPods(client: Client): Promise<CallToolResult> {
  const result = (await client.callTool({
    name: 'pods_list',
    arguments: { namespace: NAMESPACE },
  })) as CallToolResult;
  if (result.isError) throw new Error(`pods_list failed: ${JSON.stringify(result.content)}`);
  return result;
}

async function startHttp(kubeconfig: string): Promise<{ child: ChildProcess; url: URL }> {
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const child = spawn(process.execPath, ['dist/app/main.js', 'serve', '--port', String(port)], {
    env: {
      ...kubemateEnv(kubeconfig),
      KUBEMATE_AUTH__TOKENS: JSON.stringify([
        { name: 'bench', sha256: hashToken(TOKEN), principal: { id: 'bench', groups: [] } },
      ]),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = new URL(`http://127.0.0.1:${port}/mcp`);
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return { child, url };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('kubemate serve did not start');
}

function row(label: string, t: Timing, base?: Timing): string {
  const ratio = base ? `  p50 ratio ${(t.p50 / base.p50).toFixed(3)}×` : '';
  return `${label.padEnd(26)} p50 ${fmt(t.p50).padStart(9)}  p99 ${fmt(t.p99).padStart(9)}  ${t.perSecond.toFixed(1).padStart(6)} calls/s${ratio}`;
}

async function main(): Promise<void> {
  const only = process.argv[2];
  if (!only || only === 'policy') process.stdout.write(`${benchPolicy().join('\n')}\n`);
  if (!only || only === 'audit') process.stdout.write(`${(await benchAudit()).join('\n')}\n`);
  if (only === 'metrics') process.stdout.write(`${(await benchMetrics()).join('\n')}\n`);
  if (only === 'runbooks') await benchRunbooks();
  if (only === 'agent') process.stdout.write(`${(await benchAgent()).join('\n')}\n`);
  if (only === 'chat') process.stdout.write(`${(await benchChat()).join('\n')}\n`);
  if (only === 'alerts') process.stdout.write(`${(await benchAlerts()).join('\n')}\n`);
  if (only === 'canary') process.stdout.write(`${(await benchCanary()).join('\n')}\n`);
  if (only === 'im') process.stdout.write(`${(await benchIm()).join('\n')}\n`);
  if (only === 'inspect') process.stdout.write(`${(await benchInspect()).join('\n')}\n`);
  if (only === 'ha') process.stdout.write(`${(await benchHa()).join('\n')}\n`);
  if (only === 'models') process.stdout.write(`${(await benchModels()).join('\n')}\n`);
  if (!only || only === 'redact') process.stdout.write(`${benchRedact().join('\n')}\n`);
  if (only && only !== 'pods') return;
  const external = process.env.KUBEMATE_TEST_KUBECONFIG;
  const cluster = external ? undefined : await startCluster({ nodes: 3 });
  const kubeconfig = external ?? cluster!.kubeconfigPath;
  try {
    await ensureWorkload(kubeconfig);

    const stdioClient = new Client({ name: 'bench', version: '1' });
    await stdioClient.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['dist/app/main.js', 'mcp'],
        env: kubemateEnv(kubeconfig),
      }),
    );
    const http = await startHttp(kubeconfig);
    const httpClient = new Client({ name: 'bench', version: '1' });
    await httpClient.connect(
      new StreamableHTTPClientTransport(http.url, {
        requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      }),
    );
    const timings = await measureInterleaved(
      {
        direct: directList(kubeconfig),
        reader: readerList(kubeconfig),
        stdio: () => callPods(stdioClient),
        http: () => callPods(httpClient),
      },
      ITERATIONS,
    );
    const direct = timings.direct!;
    const reader = timings.reader!;
    const stdio = timings.stdio!;
    const overHttp = timings.http!;
    const answer = await callPods(stdioClient);
    await stdioClient.close();
    await httpClient.close();
    http.child.kill('SIGTERM');
    await once(http.child, 'exit');

    const text = (answer.content as Array<{ text: string }>)[0]!.text;
    const structured = answer.structuredContent as {
      total: number;
      byStatus: Record<string, number>;
      shown: number;
    };
    const textTokens = estimateTokens(text);
    const structuredTokens = estimateTokens(JSON.stringify(structured));
    const exact =
      structured.total === PODS && Object.values(structured.byStatus).reduce((a, b) => a + b, 0) === PODS;

    const lines = [
      `pods_list round trip, ${PODS} pods on ${NODES} kwok nodes, ${ITERATIONS} rounds, contenders interleaved`,
      row('direct @kubernetes/client-node', direct),
      row('kubemate MCP over stdio', stdio, direct),
      row('kubemate MCP over HTTP', overHttp, direct),
      'Kubemate reads the server-side pod table over a keep-alive connection; against that same read, its own overhead is:',
      row('direct, same table read', reader),
      row('kubemate MCP over stdio', stdio, reader),
      row('kubemate MCP over HTTP', overHttp, reader),
      `answer size: text ${textTokens} tokens + structured ${structuredTokens} tokens = ${textTokens + structuredTokens} tokens (target < 8000); rows shown ${structured.shown} of ${structured.total}`,
      `totals exact: ${exact} (total ${structured.total}, by status ${JSON.stringify(structured.byStatus)})`,
      `targets: stdio p50 ratio ${(stdio.p50 / direct.p50).toFixed(3)}× and HTTP p50 ratio ${(overHttp.p50 / direct.p50).toFixed(3)}× (target ≤ 1.10×)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await cluster?.stop();
  }
}

await main();
