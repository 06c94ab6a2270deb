import { createLlmProvider, llmConfigSchema } from '../../agent/index.js';
import { type ScriptedOllama, startScriptedOllama } from '../../test/support/ollama-scripted.js';
import { EvalCluster, type Prepared } from './cluster/env.js';
import { mapPool } from './cluster/wait.js';
import { grade, type Mode, type ScenarioResult } from './grade.js';
import type { Scenario } from './schema.js';
import { scriptedChat } from './scripted-model.js';
import { EvalStack, type ModelTarget } from './stack.js';

/** The model name the scripted server answers to. */
export const SCRIPTED_MODEL = 'scripted';
export const EMBED_MODEL = 'nomic-embed-text:latest';

export interface HarnessOptions {
  kubeconfig: string;
  scenarios: Scenario[];
  /** A real Ollama's URL; without it the scripted server runs and only the plumbing is checked. */
  ollamaUrl?: string;
  models?: string[];
  /** Scenarios set up and asked at the same time (default 1: a real model's answers stay apart). */
  concurrency?: number;
  contextWindow?: number;
  /** Per question, model time included. */
  timeoutSeconds?: number;
  log?: (line: string) => void;
}

export interface HarnessRun {
  mode: Mode;
  models: string[];
  skipped: { model: string; why: string }[];
  results: ScenarioResult[];
  startedAt: string;
  durationMs: number;
}

const failed = (
  p: Prepared | Scenario,
  model: string,
  mode: Mode,
  error: string,
  setupMs = 0,
): ScenarioResult => {
  const s = 'scenario' in p ? p.scenario : p;
  return {
    id: s.id,
    title: s.title,
    category: s.category,
    model,
    mode,
    pass: false,
    status: 'error',
    facts: [],
    tools: { ok: false, expected: s.tools.map((t) => t.name), called: [], problems: [] },
    forbidden: [],
    answer: '',
    wallMs: 0,
    setupMs,
    error,
  };
};

/** Asks one prepared scenario's question and grades the answer. */
export async function askScenario(
  stack: EvalStack,
  cluster: EvalCluster,
  p: Prepared,
  model: string,
  mode: Mode,
  timeoutSeconds = 600,
): Promise<ScenarioResult> {
  const principal = stack.principalFor(p.scenario.id);
  try {
    await cluster.refresh(p);
    const started = performance.now();
    const answer = await stack.agent.ask({
      question: p.scenario.question,
      principal,
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
    return grade({
      prepared: p,
      answer,
      audit: stack.audit.of(principal.id),
      registry: stack.app.pipeline.registry,
      model,
      mode,
      wallMs: performance.now() - started,
    });
  } catch (e) {
    return failed(p, model, mode, (e as Error).message, p.setupMs);
  }
}

/** Which of the asked models a real Ollama can run; the others are skipped with the fix. */
async function usableModels(url: string, models: string[], log: (l: string) => void) {
  const ok: string[] = [];
  const skipped: { model: string; why: string }[] = [];
  for (const model of models) {
    const llm = createLlmProvider(llmConfigSchema.parse({ provider: 'ollama', url, model }));
    const health = await llm!.check();
    if (health.ok) ok.push(model);
    else {
      const why = health.fix ?? `model ${model} is not usable at ${url}`;
      skipped.push({ model, why });
      log(`skipping ${model}: ${why}`);
    }
  }
  return { ok, skipped };
}

/**
 * Runs scenarios end to end: each is created on the cluster, asked of every model, graded and
 * removed again, `concurrency` at a time. With no `ollamaUrl` the scripted server stands in for the
 * model: that checks the plumbing (tools called, results handed back, facts surfaced), not a model.
 */
export async function runHarness(opts: HarnessOptions): Promise<HarnessRun> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const mode: Mode = opts.ollamaUrl ? 'model' : 'scripted';
  const active: Prepared[] = [];
  let scripted: ScriptedOllama | undefined;
  let url = opts.ollamaUrl;
  let models = opts.models?.length ? opts.models : ['llama3.1:8b'];
  let skipped: { model: string; why: string }[] = [];
  if (mode === 'scripted') {
    scripted = await startScriptedOllama({
      models: [SCRIPTED_MODEL, EMBED_MODEL],
      chat: scriptedChat(active),
    });
    url = scripted.url;
    models = [SCRIPTED_MODEL];
    log('scripted model: plumbing only, not a model evaluation');
  } else {
    ({ ok: models, skipped } = await usableModels(url!, models, log));
  }
  const cluster = new EvalCluster(opts.kubeconfig);
  const stacks = models.map((model) => {
    const target: ModelTarget = {
      url: url!,
      model,
      ...(opts.contextWindow ? { contextWindow: opts.contextWindow } : {}),
    };
    return {
      model,
      stack: new EvalStack(
        opts.kubeconfig,
        target,
        opts.scenarios.map((s) => s.id),
      ),
    };
  });
  const results: ScenarioResult[] = [];
  try {
    await cluster.removeLeftovers();
    await mapPool(opts.scenarios, opts.concurrency ?? 1, async (s) => {
      let p: Prepared;
      try {
        p = await cluster.setUp(s);
      } catch (e) {
        for (const { model } of stacks)
          results.push(failed(s, model, mode, `setup failed: ${(e as Error).message}`));
        await cluster.tearDown(s).catch(() => undefined);
        return;
      }
      active.push(p);
      try {
        for (const { model, stack } of stacks) {
          const r = await askScenario(stack, cluster, p, model, mode, opts.timeoutSeconds);
          results.push(r);
          log(`${r.pass ? 'pass' : 'FAIL'}  ${model}  ${s.id}${r.error ? `: ${r.error}` : ''}`);
        }
      } finally {
        active.splice(active.indexOf(p), 1);
        await cluster.tearDown(p).catch((e) => log(`teardown of ${s.id} failed: ${(e as Error).message}`));
      }
    });
  } finally {
    for (const { stack } of stacks) stack.close();
    await cluster.close();
    await scripted?.close();
  }
  const order = new Map(opts.scenarios.map((s, i) => [s.id, i]));
  results.sort((a, b) => order.get(a.id)! - order.get(b.id)! || a.model.localeCompare(b.model));
  return {
    mode,
    models,
    skipped,
    results,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
  };
}
