import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentAnswer } from '../../agent/index.js';
import { type App, buildApp } from '../../app/wiring.js';
import { silentLogger } from '../../tools/core/logger.js';
import { askCollect, deadPort, makeAgent, memoryRunbooks, ollamaAt } from '../support/agent-harness.js';
import {
  adminClients,
  createDeployment,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  uniqueName,
  waitForRunningPods,
} from '../support/kube.js';
import {
  type OllamaChatRequest,
  type ScriptedOllama,
  startScriptedOllama,
} from '../support/ollama-scripted.js';
import { MemoryAudit } from '../support/pipeline.js';
import { who } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  carol: [slack:UCAROL]
  dave: [slack:UDAVE]
bindings:
  - subjects: [alice, carol]
    roles: [operator]
  - subjects: [dave]
    roles: [viewer]
`;
const alice = who('slack:UALICE');
const dave = who('slack:UDAVE');
const ns = uniqueName('agent');
let ollama: ScriptedOllama;
let app: App;
let audit: MemoryAudit;
let pods: string[];

const toolText = (r: OllamaChatRequest) =>
  r.messages
    .filter((m) => m.role === 'tool')
    .map((m) => m.content)
    .join('\n');

beforeAll(async () => {
  ollama = await startScriptedOllama();
  await createNamespace(ns);
  await createDeployment(ns, 'api', 2);
  pods = (await waitForRunningPods(ns, 'app=api', 2)).map((p) => p.metadata!.name!).sort();
  const cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__URL: ollama.url,
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  audit = new MemoryAudit();
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger, { audit });
});

afterAll(async () => {
  app?.close();
  await ollama?.close();
  await deleteNamespace(ns);
});

describe('the agent on the real cluster', () => {
  it('lists pods, reads one pod’s logs, and answers from them, every call as the asker', async () => {
    ollama.setChat((r, i) => {
      if (i === 0) return { toolCalls: [{ name: 'pods_list', arguments: { namespace: ns } }] };
      if (i === 1) {
        const pod = /\b(api-[a-z0-9]+-[a-z0-9]+)\b/.exec(toolText(r))?.[1] ?? 'none';
        return { toolCalls: [{ name: 'pods_logs', arguments: { namespace: ns, pod } }] };
      }
      const line = /payment authorization failed[^\n]*/.exec(toolText(r))?.[0] ?? 'no log line seen';
      return { content: `Both api pods run; the log says: ${line}` };
    });
    const { answer } = await askCollect(app.agent(), `how is the api deployment in ${ns} doing?`, alice);
    expect(answer.status).toBe('answered');
    expect(
      answer.toolCalls.map((c) => [c.name, c.status]),
      answer.text,
    ).toEqual([
      ['pods_list', 'success'],
      ['pods_logs', 'success'],
    ]);
    const logsArgs = answer.toolCalls[1]!.args as { pod: string };
    expect(pods).toContain(logsArgs.pod);
    // The answer rests on what the cluster returned (kwok serves checkout-api's log for container main).
    expect(answer.text).toMatch(
      /the log says: payment authorization failed\s+\{"order_id": 18958, "attempt": 3/,
    );
    expect(answer.text).toContain(
      `Tool calls: pods_list namespace="${ns}" → success; pods_logs namespace="${ns}" pod="${logsArgs.pod}" → success`,
    );
    const results = audit.records.filter(
      (r) => r.kind === 'result' && ['pods_list', 'pods_logs'].includes(r.tool),
    );
    expect(results.map((r) => [r.tool, r.principal.id, r.principal.source, r.person, r.outcome])).toEqual([
      ['pods_list', 'slack:UALICE', 'agent', 'alice', 'success'],
      ['pods_logs', 'slack:UALICE', 'agent', 'alice', 'success'],
    ]);
  });

  it('a viewer is never offered a write tool, even when asking for one', async () => {
    const offered: string[][] = [];
    ollama.setChat((r) => {
      offered.push((r.tools ?? []).map((t) => t.function.name));
      return { content: 'You may not scale.' };
    });
    await app.agent().ask({ question: `scale ${ns}/api to 3 and restart it`, principal: dave });
    await app.agent().ask({ question: `scale ${ns}/api to 3 and restart it`, principal: alice });
    expect(offered[0]).toContain('pods_list');
    expect(offered[0]!.filter((n) => !app.pipeline.registry.find(n)!.annotations.readOnlyHint)).toEqual([]);
    expect(offered[1]).toEqual(expect.arrayContaining(['deployment_scale', 'workload_rollout_restart']));
    expect(offered[1]).not.toContain('nodes_drain');
  });
});

describe('degraded mode (no model) on the real cluster', () => {
  const runbooks = memoryRunbooks([
    {
      source: 'crashloop.md',
      headingPath: ['CrashLoopBackOff', 'First checks'],
      text: 'Read the previous container log with pods_logs previous=true; check the exit code and memory limit.',
    },
  ]);
  const degraded = () => makeAgent({ pipeline: app.pipeline, llm: null, runbooks }).agent;
  const ask = (q: string, threadId?: string): Promise<AgentAnswer> =>
    degraded().ask({ question: q, principal: alice, ...(threadId ? { threadId } : {}) });

  it('runs direct commands through the pipeline and says the model is offline', async () => {
    const listed = await ask(`pods in ${ns}`);
    expect(listed.status).toBe('degraded');
    expect(listed.text).toMatch(
      /^The model is offline \(no model is configured \(llm.provider: none\)\), so I am answering without it\./,
    );
    expect(listed.text).toContain(`pods_list namespace="${ns}":`);
    for (const p of pods) expect(listed.text).toContain(p);
    // "logs NS/api" names a deployment: the agent finds its pod.
    const logs = await ask(`logs ${ns}/api`);
    expect(logs.toolCalls.map((c) => [c.name, c.status])).toEqual([
      ['pods_logs', 'error'],
      ['pods_list', 'success'],
      ['pods_logs', 'success'],
    ]);
    expect(logs.text).toContain('payment authorization failed');
  });

  it('remembers the target for follow-ups, and writes still need approval', async () => {
    const agent = degraded();
    const first = await agent.ask({ question: `describe deployment ${ns}/api`, principal: alice });
    expect(first.toolCalls[0]).toMatchObject({ name: 'workload_describe', status: 'success' });
    const logs = await agent.ask({ question: 'and its logs?', principal: alice, threadId: first.threadId });
    expect(logs.toolCalls.at(-1)).toMatchObject({ name: 'pods_logs', status: 'success' });
    const restart = await agent.ask({ question: 'restart it', principal: alice, threadId: first.threadId });
    expect(restart.status).toBe('paused');
    expect(restart.toolCalls).toEqual([
      {
        name: 'workload_rollout_restart',
        args: { namespace: ns, kind: 'Deployment', name: 'api' },
        status: 'approval_required',
      },
    ]);
    const ticket = await app.approvals!.get(restart.pendingTicket!.id);
    expect(ticket.plan).toContain(
      `requested via: requested directly by alice as a command ('restart it') while the model was offline`,
    );
    const deployment = await adminClients().apps.readNamespacedDeployment({ namespace: ns, name: 'api' });
    expect(
      deployment.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'],
    ).toBeUndefined();
    await app.pipeline.reject(ticket.id, alice, 'test over');
  });

  it('answers a free question from the runbooks, cited, with help on commands', async () => {
    const answer = await ask('my pod keeps crashing with CrashLoopBackOff, what do I check first?');
    expect(answer.status).toBe('degraded');
    expect(answer.text).toContain(
      'What the runbooks say about this:\n\n[crashloop.md › CrashLoopBackOff › First checks]\nRead the previous container log',
    );
    expect(answer.citations.map((c) => c.source)).toEqual(['crashloop.md']);
    expect(answer.text).toContain(
      'I did not understand a command in that; try one of these:\n  - pods in payments',
    );
    expect(answer.toolCalls).toEqual([]);
  });

  it('an unreachable model server is degraded mode too, saying why', async () => {
    const { agent } = makeAgent({
      pipeline: app.pipeline,
      llm: ollamaAt(`http://127.0.0.1:${await deadPort()}`),
      runbooks,
    });
    const answer = await agent.ask({ question: `pods in ${ns}`, principal: alice });
    expect(answer.status).toBe('degraded');
    expect(answer.text).toMatch(
      /^The model is offline \(cannot reach the Ollama server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
    expect(answer.toolCalls[0]).toMatchObject({ name: 'pods_list', status: 'success' });
  });
});
