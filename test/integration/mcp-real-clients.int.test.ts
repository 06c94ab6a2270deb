// Kubemate's MCP server driven by clients nobody here wrote: the official MCP Inspector CLI (as a
// separate process, over Streamable HTTP and stdio) and LangChain.js through @langchain/mcp-adapters.
// Each acts as one principal, and what it may do is decided by a policy file, like any other caller.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MultiServerMCPClient } from '@langchain/mcp-adapters';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import { hashToken } from '../../mcp/auth.js';
import { silentLogger } from '../../tools/core/logger.js';
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

const run = promisify(execFile);
const INSPECTOR = path.resolve('node_modules/@modelcontextprotocol/inspector-cli/build/cli.js');
// The 1.x CLI finds its own package.json relative to the working directory, not to itself, so it
// runs from its build folder (where ../package.json is its own).
const INSPECTOR_CWD = path.dirname(INSPECTOR);
const TOKEN = 'kmt_real-clients-test-token';
const namespace = uniqueName('clients');
const other = uniqueName('clients-other');

/** Alice may read the cluster toolset in one namespace only; nothing else. */
function policyFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubemate-policy-'));
  const file = path.join(dir, 'policy.yaml');
  writeFileSync(
    file,
    [
      'version: 1',
      'roles:',
      '  one-namespace-reader:',
      '    - toolsets: [cluster]',
      '      verbs: [read]',
      `      namespaces: [${namespace}]`,
      'bindings:',
      '  - subjects: [alice]',
      '    roles: [one-namespace-reader]',
    ].join('\n'),
  );
  return file;
}

const audit = new MemoryAudit();
let app: App;
let server: FastifyInstance;
let url: string;

beforeAll(async () => {
  await createNamespace(namespace);
  await createNamespace(other);
  await createDeployment(namespace, 'web', 2);
  await waitForRunningPods(namespace, 'app=web', 2);
  app = buildApp(
    kubemateConfig({
      KUBEMATE_POLICY__FILE: policyFile(),
      KUBEMATE_AUTH__TOKENS: [
        { name: 'ide', sha256: hashToken(TOKEN), principal: { id: 'alice', groups: [] } },
      ],
    }),
    silentLogger,
    { audit },
  );
  server = await buildHttpServer(app);
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  url = `http://127.0.0.1:${address.port}/mcp`;
});

afterAll(async () => {
  await server?.close();
  await Promise.all([deleteNamespace(namespace), deleteNamespace(other)]);
});

const resultsFor = (tool: string) => audit.records.filter((r) => r.kind === 'result' && r.tool === tool);

describe('the official MCP Inspector CLI', () => {
  async function inspect(...args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await run(
      process.execPath,
      [INSPECTOR, '--cli', url, '--transport', 'http', '--header', `Authorization: Bearer ${TOKEN}`, ...args],
      { timeout: 60_000, cwd: INSPECTOR_CWD },
    );
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  it("lists only the tools the principal's policy lets it call", async () => {
    const listed = (await inspect('--method', 'tools/list')) as { tools: Array<{ name: string }> };
    const names = listed.tools.map((t) => t.name);
    expect(names).toContain('pods_list');
    expect(names).toContain('workload_describe');
    // Writes and other toolsets are not offered to a reader of one namespace.
    expect(names).not.toContain('pods_delete');
    expect(names).not.toContain('resources_apply');
    expect(names).not.toContain('promql_query');
  });

  it('calls pods_list through the guarded pipeline, as alice', async () => {
    const before = resultsFor('pods_list').length;
    const result = (await inspect(
      '--method',
      'tools/call',
      '--tool-name',
      'pods_list',
      '--tool-arg',
      `namespace=${namespace}`,
    )) as {
      isError?: boolean;
      structuredContent: { total: number; byStatus: Record<string, number> };
    };
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent.total).toBe(2);
    expect(result.structuredContent.byStatus).toEqual({ Running: 2 });
    const records = resultsFor('pods_list').slice(before);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ principal: { id: 'alice' }, outcome: 'success', args: { namespace } });
  });

  it('is refused, and audited, outside the granted namespace', async () => {
    const result = (await inspect(
      '--method',
      'tools/call',
      '--tool-name',
      'pods_list',
      '--tool-arg',
      `namespace=${other}`,
    )) as {
      isError?: boolean;
      content: Array<{ text: string }>;
    };
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/not allowed|denied|no role/i);
    const denial = audit.records.find((r) => r.kind === 'decision' && r.args.namespace === other);
    expect(denial?.decision?.effect).toBe('deny');
    expect(denial?.principal.id).toBe('alice');
  });

  it('is turned away without a token', async () => {
    const failed = await run(
      process.execPath,
      [INSPECTOR, '--cli', url, '--transport', 'http', '--method', 'tools/list'],
      { timeout: 60_000, cwd: INSPECTOR_CWD },
    ).then(
      () => undefined,
      (e: { stderr?: string; stdout?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    expect(failed).toMatch(/401|bearer token is required/i);
  });

  it('drives `kubemate mcp` over stdio as the local principal', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kubemate-data-'));
    const env = [
      `KUBEMATE_DATA_DIR=${dataDir}`,
      `KUBEMATE_KUBERNETES__KUBECONFIG=${testKubeconfig()}`,
      'KUBEMATE_KUBERNETES__DEFAULT_CLUSTER=kubemate',
      'KUBEMATE_LOG__LEVEL=silent',
      `KUBEMATE_POLICY__FILE=${policyFile()}`,
      'KUBEMATE_LOCAL__PRINCIPAL={"id":"alice","groups":[]}',
    ];
    const { stdout } = await run(
      process.execPath,
      [
        INSPECTOR,
        '--cli',
        ...env.flatMap((e) => ['-e', e]),
        process.execPath,
        path.resolve('dist/app/main.js'),
        'mcp',
        '--method',
        'tools/call',
        '--tool-name',
        'pods_list',
        '--tool-arg',
        `namespace=${namespace}`,
      ],
      { timeout: 60_000, cwd: INSPECTOR_CWD },
    );
    const result = JSON.parse(stdout) as { isError?: boolean; structuredContent: { total: number } };
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent.total).toBe(2);
  });
});

describe('LangChain.js through @langchain/mcp-adapters', () => {
  it('loads the tools and runs pods_list as alice, through the pipeline', async () => {
    const client = new MultiServerMCPClient({
      mcpServers: {
        kubemate: { transport: 'http', url, headers: { Authorization: `Bearer ${TOKEN}` } },
      },
      useStandardContentBlocks: true,
    });
    try {
      const tools = await client.getTools();
      const names = tools.map((t) => t.name);
      expect(names).toContain('pods_list');
      expect(names).not.toContain('nodes_drain');
      const podsList = tools.find((t) => t.name === 'pods_list')!;
      const before = resultsFor('pods_list').length;
      const output = await podsList.invoke({ namespace });
      const text = JSON.stringify(output);
      expect(text).toContain(`2 pods in namespace '${namespace}'`);
      expect(text).toContain('2 Running');
      const records = resultsFor('pods_list').slice(before);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ principal: { id: 'alice' }, outcome: 'success' });

      // A refused call is an error the agent sees, not a crash, and it runs nothing.
      const refused = await podsList.invoke({ namespace: other }).then(
        (v) => JSON.stringify(v),
        (e: Error) => e.message,
      );
      expect(refused).toMatch(/not allowed|denied|no role/i);
    } finally {
      await client.close();
    }
  });
});
