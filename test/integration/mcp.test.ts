import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import { hashToken } from '../../mcp/auth.js';
import { buildMcpServer } from '../../mcp/server.js';
import { GuardOnlyPolicy } from '../../policies/guard.js';
import { KubeClusters } from '../../tools/clients/kube.js';
import { clusterTools } from '../../tools/cluster/index.js';
import { ToolPipeline } from '../../tools/core/invoke.js';
import { silentLogger } from '../../tools/core/logger.js';
import { ToolMetrics } from '../../tools/core/metrics.js';
import { defaultRedactor } from '../../tools/core/redact.js';
import { ToolRegistry } from '../../tools/core/registry.js';
import { countingTools } from '../support/fake-tools.js';
import {
  createDeployment,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  testKubeconfig,
  uniqueName,
  waitForRunningPods,
} from '../support/kube.js';
import { MemoryAudit } from '../support/pipeline.js';

const TOKEN = 'kmt_integration-test-token';
const namespace = uniqueName('mcp');
const principal = { id: 'alice', groups: ['ops'], source: 'mcp-stdio' as const };

interface PodsList {
  total: number;
  byStatus: Record<string, number>;
  items: Array<{ name: string; status: string; ready: string; node: string }>;
}

function expectThreeRunning(result: CallToolResult) {
  expect(result.isError).toBeFalsy();
  const s = result.structuredContent as unknown as PodsList;
  expect(s.total).toBe(3);
  expect(s.byStatus).toEqual({ Running: 3 });
  expect(s.items.map((i) => i.ready)).toEqual(['1/1', '1/1', '1/1']);
  expect(s.items.every((i) => i.name.startsWith('web-') && i.node.startsWith('kwok-node-'))).toBe(true);
  const text = (result.content as Array<{ type: string; text: string }>)[0]!.text;
  expect(text).toContain(`3 pods in namespace '${namespace}' of cluster 'kubemate': 3 Running.`);
  expect(text.match(/ 1\/1 +Running /g)).toHaveLength(3);
}

async function listAndCall(client: Client) {
  const { tools } = await client.listTools();
  const pods = tools.find((t) => t.name === 'pods_list');
  expect(pods?.outputSchema).toBeDefined();
  expect(pods?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
  const result = (await client.callTool({ name: 'pods_list', arguments: { namespace } })) as CallToolResult;
  expectThreeRunning(result);
}

let app: App;

beforeAll(async () => {
  await createNamespace(namespace);
  await createDeployment(namespace, 'web', 3);
  await waitForRunningPods(namespace, 'app=web', 3);
  app = buildApp(
    kubemateConfig({
      KUBEMATE_AUTH__TOKENS: [
        { name: 'ide', sha256: hashToken(TOKEN), principal: { id: 'bob', groups: ['ops'] } },
      ],
    }),
    silentLogger,
  );
});

afterAll(async () => {
  await deleteNamespace(namespace);
});

describe('MCP over the in-memory transport', () => {
  it('lists the tools and reads a 3-replica Deployment as 3 Running pods', async () => {
    const server = buildMcpServer(app.pipeline, principal);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(clientSide);
    await listAndCall(client);
    await client.close();
  });

  it('hides and refuses write tools in read-only mode', async () => {
    const { tools: fakes, runs } = countingTools();
    const pipeline = new ToolPipeline({
      registry: new ToolRegistry([clusterTools, fakes]),
      policy: new GuardOnlyPolicy({
        readOnly: true,
        disableDestructive: false,
        allowTools: [],
        denyTools: [],
      }),
      backends: { kube: new KubeClusters({ kubeconfig: testKubeconfig(), defaultCluster: 'kubemate' }) },
      audit: new MemoryAudit(),
      metrics: new ToolMetrics(),
      logger: silentLogger,
      redact: defaultRedactor,
      maxTokens: 6000,
      timeoutMs: 10_000,
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await buildMcpServer(pipeline, principal).connect(serverSide);
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(clientSide);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('widget_get');
    expect(names).not.toContain('widget_scale');
    expect(names).not.toContain('widget_delete');
    const refused = (await client.callTool({
      name: 'widget_scale',
      arguments: { id: 'a', replicas: 2 },
    })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toContain('read-only mode');
    expect(runs.write).toBe(0);
    await client.close();
  });
});

describe('MCP over stdio', () => {
  it('serves the same tools from `kubemate mcp`', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['dist/app/main.js', 'mcp'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        KUBEMATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'kubemate-data-')),
        KUBEMATE_KUBERNETES__KUBECONFIG: testKubeconfig(),
        KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'kubemate',
        KUBEMATE_LOG__LEVEL: 'warn',
      },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(transport);
    await listAndCall(client);
    await client.close();
  });
});

describe('MCP over Streamable HTTP', () => {
  let server: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    server = await buildHttpServer(app);
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    base = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await server.close();
  });

  it('serves tools to a client with a valid bearer token', async () => {
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      }),
    );
    await listAndCall(client);
    await client.close();
  });

  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
  };
  const post = (headers: Record<string, string>) =>
    fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify(initialize),
    });

  it('refuses a missing or unknown token', async () => {
    const missing = await post({});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain(
      'bearer token is required',
    );
    const wrong = await post({ authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    const ok = await post({ authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
  });

  it('refuses a foreign Origin and a foreign Host (DNS rebinding)', async () => {
    const foreign = await post({ authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { message: string } }).error.message).toContain(
      "Origin 'https://evil.example' is not allowed",
    );
    const rebound = await server.inject({
      method: 'POST',
      url: '/mcp',
      headers: {
        host: 'attacker.example:8080',
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
      },
      payload: initialize,
    });
    expect(rebound.statusCode).toBe(403);
    expect(rebound.json().error.message).toContain("Host 'attacker.example:8080' is not allowed");
  });

  it('answers health, readiness and per-tool Prometheus metrics', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    // Cluster names only for a caller with a token.
    expect(await ready.json()).toEqual({ status: 'ready' });
    const named = await fetch(`${base}/readyz`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(((await named.json()) as { clusters: string[] }).clusters).toContain('kubemate');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/kubemate_tool_calls_total\{tool="pods_list",status="success"\} [1-9]/);
    expect(metrics).toMatch(/kubemate_tool_duration_seconds_bucket\{le="[0-9.]+",tool="pods_list"\}/);
  });
});
