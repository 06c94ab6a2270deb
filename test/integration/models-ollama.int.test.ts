// The models toolset end to end against a real Ollama (test/env/ollama.ts), through the guarded
// pipeline and MCP: approvals for writes, the configured models protected, pulls only from allowed
// loopback registries (a real pull from a registry speaking Ollama's wire format, a refused one, and
// one that fails cleanly), never an outside host.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../app/config.js';
import { modelChecks } from '../../app/model-check.js';
import { type App, buildApp } from '../../app/wiring.js';
import { buildMcpServer } from '../../mcp/server.js';
import { silentLogger } from '../../tools/core/logger.js';
import { TEST_CHAT_MODEL, TEST_EMBED_DIMENSIONS, TEST_EMBED_MODEL } from '../env/ollama.js';
import { testenvCacheRoot } from '../env/prepare.js';
import { kubemateConfig } from '../support/kube.js';
import { startRegistry } from '../support/ollama-registry.js';
import { who } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  carol: [slack:UCAROL]
  robot: [token:ci]
bindings:
  - subjects: [alice, carol]
    roles: [admin]
  - subjects: [robot]
    roles: [operator]
approvals:
  - subjects: [robot]
    tools: [model_pull]
    approvers: { count: 0 }
  - verbs: [write, admin]
    approvers: { count: 1 }
`;
const alice = who('slack:UALICE');
const carol = who('slack:UCAROL');
const robot = who('token:ci', [], 'mcp-http');
const u = Math.random().toString(36).slice(2, 8);

let app: App;
let config: Config;
let url: string;
let registry: Server;
let registryPort: number;
let deadPort: number;
const registryHits: string[] = [];

const store = path.join(testenvCacheRoot(), 'ollama-store');

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const tags = async () =>
  ((await (await fetch(`${url}/api/tags`)).json()) as { models: Array<{ name: string }> }).models.map(
    (m) => m.name,
  );

function conforms(tool: string, structured: unknown): void {
  const schema = app.pipeline.registry.jsonSchemas(tool).output!;
  const check = new AjvJsonSchemaValidator().getValidator(schema as never)(structured);
  expect(check.valid, `${tool}: ${check.errorMessage}`).toBe(true);
}

beforeAll(async () => {
  url = inject('ollamaUrl');
  ({ server: registry, port: registryPort } = await startRegistry(store, registryHits));
  deadPort = await closedPort();
  const modelsDir = join(testenvCacheRoot(), 'ollama-store');
  const cfg = kubemateConfig({
    KUBEMATE_MODELS__OLLAMA: [
      {
        name: 'local',
        url,
        allowedRegistries: [`127.0.0.1:${registryPort}`, `127.0.0.1:${deadPort}`],
        insecureRegistries: true,
        modelsDir,
        timeoutSeconds: 60,
      },
    ],
    KUBEMATE_LLM__URL: url,
    KUBEMATE_LLM__MODEL: TEST_CHAT_MODEL,
    KUBEMATE_RUNBOOKS__EMBEDDING__URL: url,
    KUBEMATE_RUNBOOKS__EMBEDDING__MODEL: TEST_EMBED_MODEL,
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  mkdirSync(cfg.dataDir, { recursive: true });
  config = { ...cfg, policy: { ...cfg.policy, file: policyFile } };
  app = buildApp(config, silentLogger);
}, 300_000);

afterAll(async () => {
  app?.close();
  await new Promise((r) => registry?.close(r));
  // Whatever a test left behind under its own names.
  for (const name of await tags().catch(() => [] as string[])) {
    if (name.includes(u))
      await fetch(`${url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: name }) });
  }
});

describe('reads', () => {
  it('models_list shows both test models with family, size and quantisation', async () => {
    const r = await app.pipeline.invoke('models_list', {}, alice);
    expect(r.status, r.text).toBe('success');
    conforms('models_list', r.structured);
    const items = (r.structured as { items: Array<Record<string, unknown>> }).items;
    const gemma = items.find((m) => m.name === TEST_CHAT_MODEL);
    expect(gemma).toMatchObject({ family: 'gemma3', quantization: 'Q4_K_M' });
    expect(gemma!.sizeBytes as number).toBeGreaterThan(200e6);
    expect(items.find((m) => m.name === TEST_EMBED_MODEL)).toMatchObject({ family: 'bert' });
    expect(r.text).toMatch(
      /^\d+ models on Ollama 'local' at http:\/\/127\.0\.0\.1:\d+, [\d.]+ [MG]B on disk\./,
    );
  });

  it('model_show reports capabilities, context and embedding length, and the licence line', async () => {
    const chat = await app.pipeline.invoke('model_show', { model: TEST_CHAT_MODEL }, alice);
    expect(chat.status, chat.text).toBe('success');
    conforms('model_show', chat.structured);
    expect(chat.structured).toMatchObject({
      family: 'gemma3',
      quantization: 'Q4_K_M',
      contextLength: 32768,
      license: 'Gemma Terms of Use (https://ai.google.dev/gemma/terms)',
    });
    expect((chat.structured as { capabilities: string[] }).capabilities).toEqual(
      expect.arrayContaining(['completion', 'tools']),
    );
    const embed = await app.pipeline.invoke('model_show', { model: TEST_EMBED_MODEL }, alice);
    expect(embed.structured).toMatchObject({
      embeddingLength: TEST_EMBED_DIMENSIONS,
      capabilities: ['embedding'],
    });
  });

  it('model_show of a missing model is a clear not-found naming the server', async () => {
    const r = await app.pipeline.invoke('model_show', { model: `nope-${u}:1b` }, alice);
    expect(r.status).toBe('error');
    expect(r.text).toMatch(new RegExp(`Ollama 'local' at .*nope-${u}:1b.*not found`));
  });

  it('rejects a model name that is not one, before anything is called', async () => {
    const r = await app.pipeline.invoke('model_show', { model: '../../etc/passwd' }, alice);
    expect(r.status).toBe('invalid');
    expect(r.text).toMatch(/must be an Ollama model name/);
  });

  it('models_running shows a loaded model with its memory, and model_unload frees it', async () => {
    const emb = await fetch(`${url}/api/embed`, {
      method: 'POST',
      body: JSON.stringify({ model: TEST_EMBED_MODEL, input: ['warm up'], keep_alive: '5m' }),
    });
    expect(emb.ok).toBe(true);
    const running = await app.pipeline.invoke('models_running', {}, alice);
    conforms('models_running', running.structured);
    const loaded = (
      running.structured as { items: Array<{ name: string; sizeBytes: number; expiresAt: string }> }
    ).items.find((m) => m.name === TEST_EMBED_MODEL);
    expect(loaded?.sizeBytes).toBeGreaterThan(10e6);
    expect(Date.parse(loaded!.expiresAt)).toBeGreaterThan(Date.now());
    expect(running.text).toMatch(new RegExp(`${TEST_EMBED_MODEL.replace(/[.:]/g, '\\$&')} .* in \\d+[sm]`));

    const asked = await app.pipeline.invoke('model_unload', { model: TEST_EMBED_MODEL }, alice);
    expect(asked.status).toBe('approval_required');
    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status, done.text).toBe('success');
    expect(done.structured).toMatchObject({ model: TEST_EMBED_MODEL, wasLoaded: true });
    const ps = (await (await fetch(`${url}/api/ps`)).json()) as { models: Array<{ name: string }> };
    expect(ps.models.map((m) => m.name)).not.toContain(TEST_EMBED_MODEL);
  });
});

describe('writes behind approval', () => {
  it('model_copy waits for another person, then copies; a second copy onto the name is refused', async () => {
    const dest = `copy-${u}:v1`;
    const asked = await app.pipeline.invoke(
      'model_copy',
      { source: TEST_EMBED_MODEL, destination: dest },
      alice,
    );
    expect(asked.status).toBe('approval_required');
    expect(asked.ticket!.plan).toContain(`copy ${TEST_EMBED_MODEL} to ${dest} on Ollama 'local' at ${url}.`);
    expect(await tags()).not.toContain(dest);
    const self = await app.pipeline.approve(asked.ticket!.id, alice);
    expect(self.status).not.toBe('success');
    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status, done.text).toBe('success');
    expect(await tags()).toContain(dest);

    const again = await app.pipeline.invoke(
      'model_copy',
      { source: TEST_EMBED_MODEL, destination: dest },
      alice,
    );
    const refused = await app.pipeline.approve(again.ticket!.id, carol);
    expect(refused.status).toBe('error');
    expect(refused.text).toMatch(/already exists/);
  });

  it('model_create derives a model with a system prompt and parameters', async () => {
    const name = `ops-${u}:v1`;
    const args = {
      model: name,
      from: TEST_CHAT_MODEL,
      system: 'You answer questions about Kubernetes operations.',
      parameters: { temperature: 0.2, num_ctx: 4096 },
    };
    const asked = await app.pipeline.invoke('model_create', args, alice);
    expect(asked.status).toBe('approval_required');
    expect(asked.ticket!.plan).toContain(
      `create ${name} on Ollama 'local' at ${url} from ${TEST_CHAT_MODEL} with system prompt "You answer questions about Kubernetes operations.", parameters {"temperature":0.2,"num_ctx":4096}.`,
    );
    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status, done.text).toBe('success');
    const show = await app.pipeline.invoke('model_show', { model: name }, alice);
    expect(show.structured).toMatchObject({
      system: 'You answer questions about Kubernetes operations.',
      parameters: expect.objectContaining({ temperature: ['0.2'], num_ctx: ['4096'] }),
    });
  });

  it('model_create refuses a file when no importDir is configured, and needs from or file', async () => {
    const none = await app.pipeline.invoke('model_create', { model: `x-${u}` }, alice);
    expect(none.status).toBe('invalid');
    expect(none.text).toMatch(/give exactly one of from/);
    const asked = await app.pipeline.invoke('model_create', { model: `x-${u}`, file: 'model.gguf' }, alice);
    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status).toBe('error');
    expect(done.text).toMatch(/no importDir configured/);
  });

  it('model_delete refuses the agent model and the embedding model without force, and deletes others', async () => {
    for (const [model, why] of [
      [TEST_CHAT_MODEL, 'the agent is configured to use'],
      [TEST_EMBED_MODEL, 'runbook embeddings are configured to use'],
    ] as const) {
      const asked = await app.pipeline.invoke('model_delete', { model }, alice);
      expect(asked.status).toBe('approval_required');
      expect(asked.ticket!.plan).toContain('refused without force');
      const done = await app.pipeline.approve(asked.ticket!.id, carol);
      expect(done.status).toBe('error');
      expect(done.text).toContain(why);
      expect(await tags()).toContain(model);
    }
    const victim = `victim-${u}:v1`;
    await fetch(`${url}/api/copy`, {
      method: 'POST',
      body: JSON.stringify({ source: TEST_EMBED_MODEL, destination: victim }),
    });
    const asked = await app.pipeline.invoke('model_delete', { model: victim }, alice);
    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status, done.text).toBe('success');
    expect(await tags()).not.toContain(victim);
  });
});

describe('model_pull', () => {
  it('refuses a registry the configuration does not allow, and reaches nothing', async () => {
    const before = registryHits.length;
    const asked = await app.pipeline.invoke(
      'model_pull',
      { model: `registry.example.com/team/m-${u}:1` },
      alice,
    );
    expect(asked.status).toBe('approval_required');
    expect(asked.ticket!.plan).toMatch(/preview unavailable: .*may not pull from 'registry\.example\.com'/);
    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status).toBe('error');
    expect(done.text).toMatch(
      /may not pull from 'registry\.example\.com': allowed registries are 127\.0\.0\.1:/,
    );
    expect(registryHits.length).toBe(before);
  });

  it('fails cleanly when the allowed registry is down', async () => {
    const model = `127.0.0.1:${deadPort}/kubemate/m-${u}:1`;
    const asked = await app.pipeline.invoke('model_pull', { model }, alice);
    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status).toBe('error');
    expect(done.text).toMatch(
      new RegExp(
        `Ollama 'local' at .* failed pulling ${model.replace(/[.:]/g, '\\$&')}.*(connection refused|connect)`,
        'i',
      ),
    );
    expect(await tags()).not.toContain(model);
  });

  it('refuses a pull the disk is known too small for, before Ollama is asked', async () => {
    const model = `127.0.0.1:${registryPort}/kubemate/huge:${u}`;
    const asked = await app.pipeline.invoke('model_pull', { model }, alice);
    expect(asked.ticket!.plan).toMatch(
      /preview unavailable: not pulling .*downloads 10 PB but only .* is free/,
    );
    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status).toBe('error');
    expect(done.text).toMatch(/downloads 10 PB but only/);
    // Kubemate read the manifest; Ollama never asked for a blob.
    expect(registryHits.filter((h) => h.includes('/kubemate/huge/blobs/'))).toEqual([]);
    expect(await tags()).not.toContain(model);
  });

  it('pulls from an allowed loopback registry over MCP, with progress notifications, without approval for the robot', async () => {
    const model = `127.0.0.1:${registryPort}/kubemate/minilm:${u}`;
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await buildMcpServer(app.pipeline, robot).connect(serverSide);
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(clientSide);
    const progress: Array<{ progress: number; total?: number; message?: string }> = [];
    const result = (await client.callTool({ name: 'model_pull', arguments: { model } }, undefined, {
      onprogress: (p) => progress.push(p),
      timeout: 120_000,
    })) as CallToolResult;
    await client.close();
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      model,
      registry: `127.0.0.1:${registryPort}`,
      status: 'success',
    });
    expect(progress.map((p) => p.message)).toEqual(expect.arrayContaining(['pulling manifest', 'success']));
    // The MiniLM weights layer (F16, about 46 MB) is reported with its size.
    expect(progress.some((p) => (p.total ?? 0) > 40e6 && p.progress === p.total)).toBe(true);
    expect(registryHits).toContain(`GET /v2/kubemate/minilm/manifests/${u}`);
    expect(await tags()).toContain(model);
    const embed = (await (
      await fetch(`${url}/api/embed`, { method: 'POST', body: JSON.stringify({ model, input: ['pulled'] }) })
    ).json()) as { embeddings: number[][] };
    expect(embed.embeddings[0]).toHaveLength(TEST_EMBED_DIMENSIONS);
  });
});

describe('kubemate ask --check through the models tools', () => {
  it('finds the chat and embedding models present, capable, and of the runbook store dimension', async () => {
    const checks = await modelChecks(app.pipeline, alice, config);
    expect(checks.map((c) => [c.role, c.model, c.ok])).toEqual([
      ['chat', TEST_CHAT_MODEL, true],
      ['embedding', TEST_EMBED_MODEL, true],
    ]);
    expect(checks[0]!.capabilities).toEqual(expect.arrayContaining(['completion', 'tools']));
    expect(checks[1]).toMatchObject({ present: true, embeddingLength: TEST_EMBED_DIMENSIONS });
  });

  it('says when the runbook store holds vectors of another dimension, and when a model is missing', async () => {
    const Database = (await import('better-sqlite3')).default;
    const dataDir = mkdtempSync(join(tmpdir(), 'kubemate-check-'));
    const db = new Database(join(dataDir, 'runbooks.db'));
    db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    db.prepare("INSERT INTO meta VALUES ('dimension', '768')").run();
    db.close();
    const other: Config = { ...config, dataDir, llm: { ...config.llm, model: `absent-${u}:1b` } };
    const checks = await modelChecks(app.pipeline, alice, other);
    expect(checks[0]).toMatchObject({ role: 'chat', ok: false, present: false });
    expect(checks[0]!.message).toContain(`absent-${u}:1b`);
    expect(checks[1]).toMatchObject({ role: 'embedding', ok: false, storeDimension: 768 });
    expect(checks[1]!.message).toMatch(/gives 384-dimension vectors but the runbook store holds 768/);
  });
});
