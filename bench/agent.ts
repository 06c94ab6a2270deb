/**
 * `npm run bench -- agent`: what the agent itself costs, over the eval scenarios on a real test
 * cluster, with the scripted model answering at once (no model delay).
 *
 * - Overhead per step: an answer's wall time minus its model time as measured at the HTTP
 *   boundary (a timing proxy in front of the model server), divided by its model calls. Shown with
 *   and without the time its tool calls spent in the pipeline and API server. Target < 50 ms.
 * - Prompt tokens per question: what the model server reported for every model call of the
 *   question, added up (the scripted server's estimate: characters of the messages and tool specs,
 *   as JSON, over four). Target: median < 6,000.
 *
 * Uses the cluster at KUBEMATE_TEST_KUBECONFIG when set, otherwise starts one.
 */
import { EvalCluster, type Prepared } from '../evals/agent/cluster/env.js';
import { mapPool } from '../evals/agent/cluster/wait.js';
import { EMBED_MODEL, SCRIPTED_MODEL } from '../evals/agent/harness.js';
import { loadScenarios } from '../evals/agent/load.js';
import { scriptedChat } from '../evals/agent/scripted-model.js';
import { EvalStack } from '../evals/agent/stack.js';
import { type Exchange, startTimingProxy } from '../evals/agent/timing-proxy.js';
import { startCluster } from '../test/env/cluster.js';
import { type OllamaChatRequest, startScriptedOllama } from '../test/support/ollama-scripted.js';
import { fmt, percentile } from './stats.js';

const ROUNDS = Number(process.env.BENCH_ITERATIONS ?? 3);
const OVERHEAD_TARGET_MS = 50;
const PROMPT_TARGET = 6000;

interface Sample {
  steps: number;
  /** Per step: wall − model, and wall − model − tools; the agent's own overheadMs per step. */
  perStep: number;
  perStepNoTools: number;
  selfReported: number;
  promptTokens: number;
  largestPrompt: number;
  agentPromptTokens: number;
}

const busy = (ex: Exchange[]) => ex.reduce((ms, e) => ms + (e.end - e.start), 0);
const tokens = (value: unknown) => Math.ceil(JSON.stringify(value).length / 4);

/** Where a model call's prompt goes: medians over every call, in the server's own estimate. */
function breakdown(requests: OllamaChatRequest[]): string {
  const part = (pick: (r: OllamaChatRequest) => unknown) =>
    percentile(
      requests.map((r) => tokens(pick(r))),
      50,
    );
  const role = (name: string) => (r: OllamaChatRequest) => r.messages.filter((m) => m.role === name);
  const results = (r: OllamaChatRequest) =>
    r.messages.filter((m) => m.role === 'assistant' || m.role === 'tool');
  return `  one model call (medians): tool specs ${part((r) => r.tools ?? [])}, system prompt ${part(role('system'))}, question and runbook passages ${part(role('user'))}, tool calls and results ${part(results)}`;
}

function row(label: string, values: number[], target?: number): string {
  const p50 = percentile(values, 50);
  const p99 = percentile(values, 99);
  const ratio = target
    ? `   ratio to target ${(p50 / target).toFixed(2)}× (p50), ${(p99 / target).toFixed(2)}× (p99)`
    : '';
  return `  ${label.padEnd(44)} p50 ${fmt(p50).padStart(9)}  p99 ${fmt(p99).padStart(9)}${ratio}`;
}

async function measure(kubeconfig: string): Promise<string[]> {
  const scenarios = loadScenarios();
  const cluster = new EvalCluster(kubeconfig);
  await cluster.removeLeftovers();
  const prepared: Prepared[] = await mapPool(scenarios, 8, (s) => cluster.setUp(s));
  const server = await startScriptedOllama({
    models: [SCRIPTED_MODEL, EMBED_MODEL],
    chat: scriptedChat(prepared),
  });
  const proxy = await startTimingProxy(server.url);
  const people = scenarios.map((s) => s.id);
  const stack = new EvalStack(kubeconfig, { url: proxy.url, model: SCRIPTED_MODEL }, people);
  const samples: Sample[] = [];
  const ask = async (p: Prepared) => {
    await cluster.refresh(p);
    const mark = proxy.exchanges.length;
    const t0 = performance.now();
    const answer = await stack.agent.ask({
      question: p.scenario.question,
      principal: stack.principalFor(p.scenario.id),
    });
    const wall = performance.now() - t0;
    const ex = proxy.exchanges.slice(mark);
    const chats = ex.filter((e) => e.path === '/api/chat');
    const steps = Math.max(1, answer.usage.steps);
    return {
      steps,
      perStep: (wall - busy(ex)) / steps,
      perStepNoTools: (wall - busy(ex) - answer.usage.toolMs) / steps,
      selfReported: answer.usage.overheadMs / steps,
      promptTokens: chats.reduce((n, e) => n + (e.promptTokens ?? 0), 0),
      largestPrompt: Math.max(0, ...chats.map((e) => e.promptTokens ?? 0)),
      agentPromptTokens: answer.usage.promptTokens,
    };
  };
  try {
    // First use opens the runbook store and embeds the shipped runbooks; not what is measured.
    for (const p of prepared.slice(0, 3)) await ask(p);
    for (let round = 0; round < ROUNDS; round++) for (const p of prepared) samples.push(await ask(p));
  } finally {
    stack.close();
    await proxy.close();
    await server.close();
    await Promise.all(prepared.map((p) => cluster.tearDown(p)));
    await cluster.close();
  }
  const steps = samples.reduce((n, s) => n + s.steps, 0) / samples.length;
  const perQuestion = samples.map((s) => s.promptTokens);
  const median = percentile(perQuestion, 50);
  const largest = samples.map((s) => s.largestPrompt);
  const chats = server.requests.filter((r) => r.path === '/api/chat').map((r) => r.body as OllamaChatRequest);
  const ratio = (median / PROMPT_TARGET).toFixed(2);
  return [
    `agent overhead per step: scripted model with zero delay, ${scenarios.length} scenarios × ${ROUNDS} rounds = ${samples.length} questions, ${steps.toFixed(1)} model calls each`,
    row(
      'wall − model time (HTTP boundary)',
      samples.map((s) => s.perStep),
      OVERHEAD_TARGET_MS,
    ),
    row(
      'wall − model time − tool time',
      samples.map((s) => s.perStepNoTools),
      OVERHEAD_TARGET_MS,
    ),
    row(
      "the agent's own usage.overheadMs",
      samples.map((s) => s.selfReported),
    ),
    'prompt tokens per question (all its model calls; scripted server estimate: JSON of messages + tool specs, 4 chars a token)',
    `  median ${median}  p90 ${percentile(perQuestion, 90)}  (target median < ${PROMPT_TARGET}: ratio ${ratio}×)`,
    `  largest single model call: median ${percentile(largest, 50)}  p90 ${percentile(largest, 90)}`,
    breakdown(chats),
    `  the agent's own usage.promptTokens: median ${percentile(
      samples.map((s) => s.agentPromptTokens),
      50,
    )}`,
  ];
}

export async function benchAgent(): Promise<string[]> {
  const external = process.env.KUBEMATE_TEST_KUBECONFIG;
  const cluster = external ? undefined : await startCluster({ nodes: 3 });
  try {
    return await measure(external ?? cluster!.kubeconfigPath);
  } finally {
    await cluster?.stop();
  }
}
