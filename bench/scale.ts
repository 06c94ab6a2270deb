/**
 * A large bank cluster: 1,000 kwok nodes and 30,000 pods. Times the namespace summary, pods_list
 * across all namespaces filtered to unhealthy pods, and nodes_list through `kubemate mcp` (a child
 * process, so its peak RSS is Kubemate's alone), next to `kubectl get -A` on the same cluster.
 * Targets: each answer under 3 s and 8,000 tokens; Kubemate's peak RSS under 250 MB.
 *
 * Always starts its own cluster (30,000 pods would slow every other user of a shared one).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createFakeNodes, startCluster } from '../test/env/cluster.js';
import { estimateTokens } from '../tools/core/shaping.js';
import { kubemateEnv } from './env.js';
import { createPods, NAMESPACES, NODES, PODS, peakRssMb, UNHEALTHY_EVERY } from './scale-cluster.js';

function kubectl(kubeconfig: string, args: string[]): { ms: number; tokens: number; rssMb: number } {
  const bin = join(process.env.HOME ?? '', '.cache/kubemate-testenv/bin/kubectl');
  const t0 = performance.now();
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', '%M', bin, '--kubeconfig', kubeconfig, '--context', 'kubemate', ...args],
    {
      maxBuffer: 1 << 30,
      encoding: 'utf8',
    },
  );
  const ms = performance.now() - t0;
  const rssKb = Number(r.stderr.trim().split('\n').at(-1));
  return { ms, tokens: estimateTokens(r.stdout), rssMb: rssKb / 1024 };
}

async function main(): Promise<void> {
  const cluster = await startCluster({ nodes: 3 });
  try {
    const kubeconfig = cluster.kubeconfigPath;
    await createFakeNodes(kubeconfig, NODES, 'scale-node-', { concurrency: 48, timeoutMs: 600_000 });
    await createPods(kubeconfig);

    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['dist/app/main.js', 'mcp'],
      env: kubemateEnv(kubeconfig, { KUBEMATE_OUTPUT__TIMEOUT_SECONDS: '60' }),
    });
    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(transport);
    const pid = transport.pid!;

    const calls: Array<[string, string, Record<string, unknown>]> = [
      ['namespace summary (all namespaces)', 'namespace_summary', {}],
      ['unhealthy pods, all namespaces', 'pods_list', { unhealthy: true }],
      ['nodes', 'nodes_list', {}],
    ];
    const lines = [
      `cluster: ${NODES} kwok nodes, ${PODS} pods in ${NAMESPACES} namespaces (${Math.ceil(PODS / UNHEALTHY_EVERY)} Pending)`,
    ];
    for (const [label, tool, args] of calls) {
      const runs: number[] = [];
      let result: CallToolResult | undefined;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        result = (await client.callTool({ name: tool, arguments: args }, undefined, {
          timeout: 120_000,
        })) as CallToolResult;
        runs.push(performance.now() - t0);
      }
      const text = (result!.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n');
      const tokens = estimateTokens(text) + estimateTokens(JSON.stringify(result!.structuredContent ?? {}));
      const best = Math.min(...runs);
      lines.push(
        `${label.padEnd(36)} ${tool.padEnd(18)} best ${(best / 1000).toFixed(2)} s, median ${(runs.sort((a, b) => a - b)[1]! / 1000).toFixed(2)} s, ${tokens} tokens${result!.isError ? ` ERROR: ${text.slice(0, 200)}` : ''} (targets < 3 s, < 8000 tokens)`,
      );
    }
    lines.push(`kubemate peak RSS ${peakRssMb(pid).toFixed(0)} MB (target < 250 MB)`);
    await client.close();

    for (const [label, args] of [
      ['kubectl get pods -A', ['get', 'pods', '-A']],
      ['kubectl get nodes', ['get', 'nodes']],
    ] as const) {
      const k = kubectl(kubeconfig, [...args]);
      lines.push(
        `${label.padEnd(36)} ${(k.ms / 1000).toFixed(2)} s, ${k.tokens} tokens, peak RSS ${k.rssMb.toFixed(0)} MB (baseline)`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await cluster.stop();
  }
}

await main();
