import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentAnswer, AgentEvent } from '../../agent/index.js';
import type { Config } from '../../app/config.js';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import { hashToken } from '../../mcp/auth.js';
import { silentLogger } from '../../tools/core/logger.js';
import { baseEnv, type CliRun, runKubemate } from '../support/cli.js';
import {
  adminClients,
  createDeployment,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  testKubeconfig,
  uniqueName,
  waitForDeploymentReady,
  waitForRunningPods,
} from '../support/kube.js';
import {
  type OllamaChatRequest,
  type ScriptedOllama,
  startScriptedOllama,
} from '../support/ollama-scripted.js';
import { who } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  carol: [slack:UCAROL]
bindings:
  - subjects: [alice, carol]
    roles: [operator]
`;
const TOKEN = 'kmt_agent-surfaces-test-token';
const alice = who('slack:UALICE');
const carol = who('slack:UCAROL');
const ns = uniqueName('asksurf');
let ollama: ScriptedOllama;
let cfg: Config;
let policyFile: string;

const toolText = (r: OllamaChatRequest) =>
  r.messages
    .filter((m) => m.role === 'tool')
    .map((m) => m.content)
    .join('\n');
const replicas = async (name: string) =>
  (await adminClients().apps.readNamespacedDeployment({ namespace: ns, name })).spec?.replicas;
const openApp = () => buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger);

/** `node dist/app/main.js …` as alice against the same data dir, policy and model: another process. */
function cli(args: string[]): Promise<CliRun> {
  return runKubemate(args, {
    ...baseEnv(),
    KUBEMATE_DATA_DIR: cfg.dataDir,
    KUBEMATE_POLICY__FILE: policyFile,
    KUBEMATE_KUBERNETES__KUBECONFIG: testKubeconfig(),
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__URL: ollama.url,
    KUBEMATE_LOCAL__PRINCIPAL: '{id: "slack:UALICE", groups: []}',
    KUBEMATE_LOG__LEVEL: 'warn',
  });
}

beforeAll(async () => {
  ollama = await startScriptedOllama();
  await createNamespace(ns);
  await createDeployment(ns, 'api', 2);
  await waitForRunningPods(ns, 'app=api', 2);
  await waitForDeploymentReady(ns, 'api', 2);
  cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__URL: ollama.url,
    KUBEMATE_AUTH__TOKENS: [
      { name: 'chat', sha256: hashToken(TOKEN), principal: { id: 'slack:UALICE', groups: [] } },
    ],
  });
  policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
});

afterAll(async () => {
  await ollama?.close();
  await deleteNamespace(ns);
});

describe('approval pause and resume across a restart', () => {
  it('pauses in one process, is approved in another, resumes in a third: the deployment really changed', async () => {
    ollama.setChat((r) => {
      if (toolText(r).includes('approved by carol and executed')) return { content: 'Scaled as approved.' };
      return {
        toolCalls: [{ name: 'deployment_scale', arguments: { namespace: ns, name: 'api', replicas: 4 } }],
      };
    });
    // 1. Alice asks; the run pauses on a ticket. The app (and its SQLite files) then close.
    const first = openApp();
    const paused = await first.agent().ask({ question: `scale ${ns}/api to 4 replicas`, principal: alice });
    first.close();
    expect(paused.status).toBe('paused');
    expect(paused.pendingTicket!.plan).toBe(
      `scale Deployment ${ns}/api in cluster 'admin' from 2 to 4 replicas (2 ready now).`,
    );
    expect(await replicas('api')).toBe(2);

    // 2. A fresh app: carol approves; the pipeline runs the call and records the outcome on the ticket.
    const second = openApp();
    const approved = await second.pipeline.approve(paused.pendingTicket!.id, carol);
    second.close();
    expect(approved.status, approved.text).toBe('success');
    expect(await replicas('api')).toBe(4);

    // 3. Another process resumes the run from the agent store and reports the outcome.
    const resumed = await cli(['ask', '--resume', paused.runId, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const answer = JSON.parse(resumed.stdout) as AgentAnswer;
    expect(answer.status).toBe('answered');
    expect(answer.runId).toBe(paused.runId);
    expect(answer.text).toMatch(
      new RegExp(
        `^Ticket ${paused.pendingTicket!.id} was approved by carol and ran: scale Deployment ${ns}/api in cluster 'admin' from 2 to 4 replicas \\(2 ready now\\)\\. Result: `,
      ),
    );
    expect(answer.text).toContain('Scaled as approved.');
    expect(await replicas('api')).toBe(4);
  });
});

describe('kubemate ask', () => {
  it('streams the answer to stdout and the tool calls to stderr', async () => {
    ollama.setChat((r, i) =>
      i === 0
        ? { toolCalls: [{ name: 'pods_list', arguments: { namespace: ns } }] }
        : { content: `All ${/(\d+) pods in namespace/.exec(toolText(r))?.[1] ?? '?'} api pods are Running.` },
    );
    const run = await cli(['ask', `how are the api pods in ${ns}?`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^All 4 api pods are Running\.\n\nTool calls: pods_list namespace="asksurf-[^"]+" → success\n/,
    );
    expect(run.stderr).toContain(`· pods_list {"namespace":"${ns}"}`);
    expect(run.stderr).toMatch(/\[answered\] thread th_[0-9a-f]{16} · run run_[0-9a-f]{16} · 2 model calls/);
  });

  it('bad input: a clear message and exit code 2', async () => {
    const run = await cli(['ask']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('kubemate: give a question');
  });

  it('--check names the missing model and the exact pull command', async () => {
    const ok = await cli(['ask', '--check']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain(`ok: Ollama at ${ollama.url} is up and has model 'llama3.1:8b'`);
    const missing = await cli(['ask', '--check', '--json']);
    expect(JSON.parse(missing.stdout)).toMatchObject({ ok: true, reachable: true, modelAvailable: true });
  });
});

describe('/api/ask', () => {
  let app: App;
  let server: FastifyInstance;
  beforeAll(async () => {
    app = openApp();
    server = await buildHttpServer(app);
  });
  afterAll(async () => {
    await server.close();
    app.close();
  });

  const post = (url: string, body: unknown, token: string | null = TOKEN) =>
    server.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      payload: JSON.stringify(body),
    });

  /** The SSE body as [event name, data] pairs. */
  function events(body: string): Array<[string, AgentEvent & { message?: string }]> {
    return body
      .split('\n\n')
      .filter((b) => b.trim())
      .map((block) => {
        const name = /^event: (.+)$/m.exec(block)![1]!;
        const data = JSON.parse(/^data: (.+)$/m.exec(block)![1]!);
        return [name, data];
      });
  }

  it('streams the run as server-sent events, as the token’s principal; a follow-up uses the thread', async () => {
    const seen: OllamaChatRequest[] = [];
    ollama.setChat((r) => {
      seen.push(r);
      if (r.messages.at(-1)!.role === 'tool') return { content: 'Four api pods, all Running.' };
      if (r.messages.at(-1)!.content.startsWith('and'))
        return { content: 'As I said: four api pods, all Running.' };
      return { toolCalls: [{ name: 'pods_list', arguments: { namespace: ns } }] };
    });
    const res = await post('/api/ask', { question: `how many api pods in ${ns}?` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const list = events(res.body);
    // Text streams in between; notices (e.g. from runbook retrieval) may come first.
    expect(list.map(([n]) => n).filter((n) => n !== 'text' && n !== 'notice')).toEqual([
      'tool_call',
      'tool_result',
      'done',
    ]);
    expect(list.find(([n]) => n === 'tool_call')![1]).toEqual({
      type: 'tool_call',
      name: 'pods_list',
      args: { namespace: ns },
    });
    const text = list.map(([, d]) => (d.type === 'text' ? d.delta : '')).join('');
    expect(text).toContain('Four api pods, all Running.');
    const done = list.at(-1)![1] as Extract<AgentEvent, { type: 'done' }>;
    expect(done.answer.status).toBe('answered');
    expect(done.answer.toolCalls).toEqual([
      { name: 'pods_list', args: { namespace: ns }, status: 'success' },
    ]);
    expect(seen[0]!.messages[0]!.content).toContain("You answer slack:UALICE's questions");

    const again = await post('/api/ask', {
      question: 'and how many are ready?',
      threadId: done.answer.threadId,
    });
    const second = events(again.body).at(-1)![1] as Extract<AgentEvent, { type: 'done' }>;
    expect(second.answer.threadId).toBe(done.answer.threadId);
    expect(seen.at(-1)!.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
  });

  it('needs the bearer token; refuses bad bodies with 400; unknown runs are an error event', async () => {
    const anonymous = await post('/api/ask', { question: 'hi' }, null);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="kubemate"');
    expect((await post('/api/ask', { question: 'hi' }, 'kmt_wrong')).statusCode).toBe(401);
    const bad = await post('/api/ask', { question: '', extra: 1 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/^invalid request: /);
    expect(bad.json().error).toContain('question: the question is empty');
    expect(bad.json().error).toContain('Unrecognized key');
    const badRun = await post('/api/ask/resume', { runId: 'nope' });
    expect(badRun.statusCode).toBe(400);
    expect(badRun.json().error).toBe('invalid request: runId: must be a run id such as run_0123456789abcdef');
    const unknown = await post('/api/ask/resume', { runId: 'run_0123456789abcdef' });
    expect(events(unknown.body)).toEqual([
      ['error', { type: 'error', message: "no agent run 'run_0123456789abcdef'" }],
    ]);
  });
});
