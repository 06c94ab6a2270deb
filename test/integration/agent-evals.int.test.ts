// The agent eval scenarios (evals/agent/scenarios) against the real test cluster: every scenario's
// setup really creates the incident (Kubemate's own tools, through the pipeline, report the facts
// its answer must contain), and the scripted model drives the agent through all of them. The
// scripted model checks plumbing only; `npm run eval:agent` with OLLAMA_HOST evaluates a model.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import { forbiddenActions } from '../../evals/agent/audit.js';
import { EvalCluster, type Prepared } from '../../evals/agent/cluster/env.js';
import { mapPool } from '../../evals/agent/cluster/wait.js';
import { allHold, checkFacts } from '../../evals/agent/facts.js';
import { askScenario, EMBED_MODEL, SCRIPTED_MODEL } from '../../evals/agent/harness.js';
import { loadScenarios, ScenarioError } from '../../evals/agent/load.js';
import { SCRIPTED_NOTICE, scriptedChat } from '../../evals/agent/scripted-model.js';
import { EvalStack } from '../../evals/agent/stack.js';
import { fillDeep } from '../../evals/agent/template.js';
import type { KubeClusters } from '../../tools/clients/kube.js';
import { catalog } from '../../tools/cluster/discovery.js';
import { silentLogger } from '../../tools/core/logger.js';
import { buildRegistry } from '../../tools/index.js';
import { kubemateConfig, testKubeconfig } from '../support/kube.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';

const registry = buildRegistry();
const scenarios = loadScenarios({ knownTools: registry.names() });
const reader = { id: 'local:test', groups: ['local'], source: 'cli' as const };
let cluster: EvalCluster;
let prepared: Prepared[] = [];
let app: App;
/** What each scenario's tool calls returned, for the specificity check. */
const observed = new Map<string, string>();

const byId = (id: string) => prepared.find((p) => p.scenario.id === id)!;

/**
 * Kubemate's API discovery (tools/cluster/discovery.ts) asks for ~22 API groups at once over its 16
 * keep-alive sockets; node-fetch 2 then reports about 2% of those complete responses as "Premature
 * close" (node-fetch/node-fetch#1767), and the catalog is cached for 30 s without that group, so
 * resources_get says the cluster serves no Deployments. That is a bug of its own (reported); these
 * tests are about the scenarios and the agent, so they start each phase from a complete catalog.
 */
async function completeDiscovery(clusters: KubeClusters): Promise<void> {
  const cluster = clusters.get();
  const groups = await cluster.raw.get<{ groups: { name: string }[] }>('/apis');
  for (let attempt = 1; ; attempt++) {
    const have = new Set((await catalog(cluster, 0)).map((e) => e.group));
    if (groups.groups.every((g) => have.has(g.name))) return;
    if (attempt >= 10) throw new Error('API discovery stayed incomplete after 10 loads');
  }
}

beforeAll(async () => {
  cluster = new EvalCluster(testKubeconfig());
  await cluster.removeLeftovers();
  prepared = await mapPool(scenarios, 10, (s) => cluster.setUp(s));
  app = buildApp(kubemateConfig(), silentLogger);
}, 180_000);

afterAll(async () => {
  // Every scenario, also those whose setup failed half-way.
  await Promise.all(scenarios.map((s) => cluster.tearDown(s)));
  await cluster?.close();
  app?.close();
});

describe('the scenario set', () => {
  it('has at least 26 scenarios over every kind of incident, each in its own namespace', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(26);
    expect(new Set(scenarios.map((s) => s.category)).size).toBeGreaterThanOrEqual(9);
    expect(new Set(scenarios.map((s) => s.namespace)).size).toBe(scenarios.length);
  });

  it('rejects malformed scenarios, naming the file and what is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubemate-scenarios-'));
    const write = (id: string, yaml: string) => {
      mkdirSync(join(dir, id));
      writeFileSync(join(dir, id, 'scenario.yaml'), yaml);
    };
    const base = (over: Record<string, string> = {}) =>
      Object.entries({
        title: 'title: t',
        category: 'category: node',
        question: 'question: "is node eval-x healthy right now?"',
        namespace: 'namespace: ns-a',
        setup: 'setup: {}',
        facts: 'facts: [{ fact: pressure, any: ["DiskPressure"] }]',
        tools: 'tools: [{ name: nodes_get, args: { name: eval-x } }]',
        ...over,
      })
        .map(([, v]) => v)
        .join('\n');
    write('bad-key', base({ setup: 'setup: { manifest: [] }' }));
    write(
      'bad-tool',
      base({
        namespace: 'namespace: ns-b',
        question: 'question: "what is up with ns-b today?"',
        tools: 'tools: [{ name: pods_describe }]',
      }),
    );
    write(
      'bad-var',
      base({
        namespace: 'namespace: ns-c',
        question: 'question: "what is up with ns-c today?"',
        tools: `tools: [{ name: pods_get, args: { name: "\${pod}" } }]`,
      }),
    );
    write(
      'trivial',
      base({ namespace: 'namespace: ns-d', question: 'question: "is there DiskPressure on eval-x?"' }),
    );
    let message = '';
    try {
      loadScenarios({ dir, knownTools: registry.names() });
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      message = (e as Error).message;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(message).toMatch(
      /bad-key\/scenario\.yaml: invalid scenario\n {2}- setup: Unrecognized key: "manifest"/,
    );
    expect(message).toMatch(
      /bad-tool\/scenario\.yaml: tools: no tool named pods_describe \(known: .*pods_get/,
    );
    expect(message).toMatch(/bad-var\/scenario\.yaml: placeholder \$\{pod\} is never defined/);
    expect(message).toMatch(
      /trivial\/scenario\.yaml: facts: "pressure" already holds for the question itself/,
    );
  });
});

describe('each scenario is real: Kubemate’s tools, through the pipeline, report its facts', () => {
  beforeAll(() => completeDiscovery(app.clusters));

  it.each(scenarios.map((s) => s.id))('%s', async (id) => {
    const p = byId(id);
    const outputs: string[] = [];
    const own: string[] = [];
    for (const step of p.scenario.tools) {
      const args = fillDeep(step.args, p.vars);
      const r = await app.pipeline.invoke(step.name, args, reader);
      expect(r.isError, `${step.name}: ${r.text}`).toBe(false);
      outputs.push(r.text);
      // Cluster-wide listings also show the other scenarios' nodes; keep them out of the comparison.
      if ('namespace' in args || 'name' in args) own.push(r.text);
    }
    const text = outputs.join('\n');
    observed.set(id, own.join('\n'));
    const missing = checkFacts(text, p.scenario.facts, p.vars).filter((f) => !f.ok);
    expect(
      missing.map((f) => `${f.fact} (/${f.patterns.join('/ or /')}/)`),
      text,
    ).toEqual([]);
  });

  it('facts are specific: no scenario’s facts all hold for another scenario’s tool output', () => {
    expect(observed.size).toBe(scenarios.length);
    const confusable: string[] = [];
    for (const p of prepared) {
      for (const [other, text] of observed) {
        if (other !== p.scenario.id && allHold(checkFacts(text, p.scenario.facts, p.vars))) {
          confusable.push(`${p.scenario.id} facts hold for ${other}`);
        }
      }
    }
    expect(confusable).toEqual([]);
  });
});

describe('the scripted model drives the agent through every scenario (plumbing only, not a model evaluation)', () => {
  let server: ScriptedOllama;
  let stack: EvalStack;

  beforeAll(async () => {
    server = await startScriptedOllama({
      models: [SCRIPTED_MODEL, EMBED_MODEL],
      chat: scriptedChat(prepared),
    });
    stack = new EvalStack(testKubeconfig(), { url: server.url, model: SCRIPTED_MODEL }, [
      ...scenarios.map((s) => s.id),
      'forbidden-check',
    ]);
    await completeDiscovery(stack.app.clusters);
  });
  afterAll(async () => {
    stack?.close();
    await server?.close();
  });

  it('makes each scenario’s calls in order through the pipeline, and their results reach the model', async () => {
    const results = await mapPool(prepared, 4, (p) =>
      askScenario(stack, cluster, p, SCRIPTED_MODEL, 'scripted'),
    );
    const failures = results
      .filter((r) => !r.pass)
      .map(
        (r) =>
          `${r.id}: ${[r.error, ...r.tools.problems, ...r.facts.filter((f) => !f.ok).map((f) => `missing ${f.fact}`)].filter(Boolean).join('; ')}`,
      );
    expect(failures).toEqual([]);
    for (const r of results) {
      expect(r.answer.startsWith(SCRIPTED_NOTICE)).toBe(true);
      expect(r.tools.called.map((c) => c.name)).toEqual(byId(r.id).scenario.tools.map((t) => t.name));
      expect(r.usage!.steps).toBe(byId(r.id).scenario.tools.length + 1);
    }
  });

  it('fails an answer that skips the tools and lacks the facts', async () => {
    server.setChat(() => ({ content: 'Everything looks fine to me.' }));
    const p = byId('oom-killed');
    const r = await askScenario(stack, cluster, p, SCRIPTED_MODEL, 'scripted');
    server.setChat(scriptedChat(prepared));
    expect(r.pass).toBe(false);
    expect(r.facts.every((f) => !f.ok)).toBe(true);
    expect(r.tools.problems).toContain('call 1 (pods_list) was never made');
  });

  it('counts a change that ran without approval as forbidden, and a pending approval as not', async () => {
    const principal = stack.principalFor('forbidden-check');
    const r = await stack.app.pipeline.invoke(
      'deployment_scale',
      { namespace: byId('oom-killed').scenario.namespace, name: 'payments-api', replicas: 5 },
      principal,
    );
    expect(r.status).toBe('approval_required');
    const records = stack.audit.of(principal.id);
    expect(forbiddenActions(records, { execute: ['*'], call: [] }, registry)).toEqual([]);
    expect(forbiddenActions(records, { execute: ['*'], call: ['deployment_*'] }, registry)).toEqual([
      expect.stringMatching(/^requested deployment_scale\(/),
    ]);
    const ran = records.map((x) =>
      x.kind === 'decision' ? { ...x, decision: { effect: 'allow' as const, rule: 'test' } } : x,
    );
    expect(forbiddenActions(ran, { execute: ['*'], call: [] }, registry)).toEqual([
      expect.stringMatching(/^deployment_scale\(.*\) was allowed to run without approval$/),
    ]);
  });
});
