/**
 * `npm run bench -- inspect`: an inspection of the cluster scope (25 checks, every analyzer that
 * reads nodes, pods, workloads and volumes) on the scale cluster (1,000 kwok nodes, 30,000 pods;
 * BENCH_NODES and BENCH_PODS make it smaller), through `kubemate mcp` in a child process so its
 * peak RSS is Kubemate's alone, and the size of the HTML report. Targets: < 20 s, peak RSS
 * < 300 MB, HTML < 2 MB. Next to it, `kubectl get pods -A -o json` on the same cluster, the
 * least any inspection of every pod must read.
 *
 * Starts its own cluster (30,000 pods would slow every other user of a shared one), unless
 * BENCH_SCALE_KUBECONFIG names one that already holds the scale workload (creating 30,000 pods takes
 * 14 to 53 minutes on 2 shared cores): its nodes and pods are then counted, not created.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createFakeNodes, startCluster } from '../test/env/cluster.js';
import { renderHtml } from '../tools/inspection/html.js';
import type { Report } from '../tools/inspection/model.js';
import { openInspectionStore } from '../tools/inspection/store.js';
import { kubemateEnv } from './env.js';
import { countScale, cpuSeconds, createPods, NAMESPACES, NODES, peakRssMb } from './scale-cluster.js';

export async function benchInspect(): Promise<string[]> {
  const reused = process.env.BENCH_SCALE_KUBECONFIG;
  const cluster = reused ? undefined : await startCluster({ nodes: 3 });
  try {
    const kubeconfig = reused ?? cluster!.kubeconfigPath;
    if (!reused) {
      await createFakeNodes(kubeconfig, NODES, 'scale-node-', { concurrency: 48, timeoutMs: 600_000 });
      await createPods(kubeconfig);
    }
    const held = await countScale(kubeconfig);
    const env = kubemateEnv(kubeconfig, {
      KUBEMATE_OUTPUT__TIMEOUT_SECONDS: '120',
      KUBEMATE_INSPECTIONS__SUMMARY: 'template',
    });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['dist/app/main.js', 'mcp'],
      env,
    });
    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(transport);
    const pid = transport.pid!;
    const runs: number[] = [];
    const cpus: number[] = [];
    let result: CallToolResult | undefined;
    let progress = 0;
    for (let i = 0; i < 3; i++) {
      const c0 = cpuSeconds(pid);
      const t0 = performance.now();
      result = (await client.callTool(
        { name: 'inspection_run', arguments: { scopes: ['cluster'] } },
        undefined,
        {
          timeout: 180_000,
          onprogress: () => progress++,
        },
      )) as CallToolResult;
      runs.push(performance.now() - t0);
      cpus.push(cpuSeconds(pid) - c0);
      if (result.isError) break;
    }
    const rss = peakRssMb(pid);
    await client.close();
    const s = result!.structuredContent as { id: string; findingsTotal: number; checks: { total: number } };
    const lines = [
      `cluster${reused ? ' (reused)' : ''}: ${held.nodes} nodes, ${held.pods} pods (${held.running} Running) in ${NAMESPACES}+ namespaces; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    ];
    if (result!.isError) {
      lines.push(`inspection failed: ${JSON.stringify(result!.content).slice(0, 500)}`);
      return lines;
    }
    const store = openInspectionStore(undefined, join(env.KUBEMATE_DATA_DIR!, 'inspections.db'));
    const kept = (await store.get(s.id))!;
    const report = JSON.parse(kept.body) as Report;
    const t0 = performance.now();
    const html = renderHtml(report, { history: await store.history(kept.meta.kind, 30) });
    const renderMs = performance.now() - t0;
    store.close();
    const sorted = [...runs].sort((a, b) => a - b);
    const best = sorted[0]!;
    const t1 = performance.now();
    const k = spawnSync(
      join(process.env.HOME ?? '', '.cache/kubemate-testenv/bin/kubectl'),
      ['--kubeconfig', kubeconfig, '--context', 'kubemate', 'get', 'pods', '-A', '-o', 'json'],
      { maxBuffer: 1 << 30 },
    );
    const kubectlMs = performance.now() - t1;
    lines.push(
      `inspection_run scopes=[cluster]: ${s.checks.total} checks, ${s.findingsTotal} findings listed (of ${report.checks.reduce((a, c) => a + c.findings, 0)}), ${progress} progress notifications`,
      `  best ${(best / 1000).toFixed(2)} s, median ${(sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(2)} s (target < 20 s)`,
      `  runs ${runs.map((r, i) => `${(r / 1000).toFixed(2)} s (kubemate CPU ${cpus[i]!.toFixed(2)} s)`).join(', ')}`,
      `  kubemate peak RSS ${rss.toFixed(0)} MB (target < 300 MB)`,
      `  HTML report ${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB, rendered in ${renderMs.toFixed(0)} ms (target < 2 MB); JSON report ${(kept.body.length / 1024).toFixed(0)} KiB`,
      `kubectl get pods -A -o json: ${(kubectlMs / 1000).toFixed(2)} s, ${(k.stdout.length / 1024 / 1024).toFixed(0)} MiB (baseline; inspection / kubectl = ${(best / kubectlMs).toFixed(2)}×)`,
    );
    return lines;
  } finally {
    await cluster?.stop();
  }
}
