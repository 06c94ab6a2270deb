import { describe, expect, it } from 'vitest';
import type { KubeCluster } from '../../tools/clients/kube.js';
import { OllamaInstance } from '../../tools/clients/ollama.js';
import { shippedChecks } from '../../tools/inspection/check.js';
import { runChecks } from '../../tools/inspection/runner.js';
import { assessModel, isLoaded } from '../../tools/shared/model-requirements.js';

const chat = { role: 'chat' as const, model: 'qwen3:8b', needs: ['completion', 'tools'] };
const embed = (dim?: number) => ({
  role: 'embedding' as const,
  model: 'bge-m3',
  needs: ['embedding'],
  storeDimension: () => dim,
});

describe('what Kubemate needs of its models (ask --check and the models inspection)', () => {
  it('a missing model says so and how to bring it in', () => {
    const a = assessModel(chat, 'gpu', { present: false, capabilities: [] });
    expect(a.ok).toBe(false);
    expect(a.message).toBe(
      "chat model qwen3:8b on Ollama 'gpu': not on the server (neither pulled nor created); pull it from the internal registry (model_pull) or create it (model_create)",
    );
  });

  it('a present model, loaded or not, is fine when it can do what is needed', () => {
    const state = { present: true, capabilities: ['completion', 'tools'] };
    expect(assessModel(chat, 'gpu', { ...state, loaded: false })).toMatchObject({
      ok: true,
      message:
        "chat model qwen3:8b on Ollama 'gpu': present, not loaded (it loads on first use), completion and tools supported",
    });
    expect(assessModel(chat, 'gpu', { ...state, loaded: true }).message).toContain('present, loaded,');
  });

  it('names the capabilities a model lacks', () => {
    const a = assessModel(chat, 'gpu', { present: true, capabilities: ['completion'] });
    expect(a.ok).toBe(false);
    expect(a.message).toBe(
      "chat model qwen3:8b on Ollama 'gpu': it cannot do tools (capabilities: completion)",
    );
  });

  it('holds the embedding length against the runbook store, when the store knows one', () => {
    const state = { present: true, capabilities: ['embedding'], embeddingLength: 1024 };
    expect(assessModel(embed(1024), 'gpu', state)).toMatchObject({ ok: true, storeDimension: 1024 });
    expect(assessModel(embed(undefined), 'gpu', state).ok).toBe(true);
    const wrong = assessModel(embed(384), 'gpu', state);
    expect(wrong.ok).toBe(false);
    expect(wrong.message).toContain(
      'it gives 1024-dimension vectors but the runbook store holds 384; re-ingest the runbooks',
    );
  });
});

describe('the models inspection check', () => {
  const check = shippedChecks().find((c) => c.id === 'models.ollama.configured')!;
  const cluster = {} as KubeCluster;
  const run = (models?: Parameters<typeof runChecks>[0]['models']) =>
    runChecks({
      checks: [check],
      cluster,
      now: Date.now(),
      signal: new AbortController().signal,
      ...(models ? { models } : {}),
    });

  it('is in the shipped catalog, scope models, on the ollama-models analyzer', () => {
    expect(check).toMatchObject({
      scope: 'models',
      analyzer: { name: 'ollama-models' },
      severity: 'critical',
    });
  });

  it('is skipped, not passed, when the cluster has no Ollama server or the caller may not read one', async () => {
    const none = await run({
      servers: [],
      unavailable: 'no Ollama server is configured for cluster prod (models.ollama)',
    });
    expect(none.checks[0]).toMatchObject({
      status: 'skipped',
      reason: 'no Ollama server is configured for cluster prod (models.ollama)',
    });
    expect((await run()).checks[0]).toMatchObject({ status: 'skipped' });
  });

  it('is skipped when Kubemate uses no model from the cluster’s servers', async () => {
    const server = new OllamaInstance({
      name: 'spare',
      url: 'http://127.0.0.1:9',
      timeoutSeconds: 1,
      pullTimeoutSeconds: 1,
      allowedRegistries: [],
      insecureRegistries: false,
      protect: [],
      requires: [],
    });
    const r = await run({ servers: [server] });
    expect(r.checks[0]).toMatchObject({ status: 'skipped' });
    expect(r.checks[0]!.reason).toContain('Kubemate uses no model from this cluster');
  });

  it('reports a server it cannot reach as a finding about each model it should serve', async () => {
    const server = new OllamaInstance({
      name: 'down',
      url: 'http://127.0.0.1:9',
      timeoutSeconds: 2,
      pullTimeoutSeconds: 2,
      allowedRegistries: [],
      insecureRegistries: false,
      protect: [],
      requires: [chat],
    });
    const r = await run({ servers: [server] });
    expect(r.checks[0]).toMatchObject({ status: 'failed', severity: 'critical', findings: 1 });
    expect(r.findings[0]).toMatchObject({
      subject: 'ollama/down/qwen3:8b',
      evidence: { analyzer: 'ollama-models' },
    });
    expect(r.findings[0]!.message).toMatch(
      /^chat model qwen3:8b could not be checked: Ollama 'down' at http:\/\/127\.0\.0\.1:9 is unreachable/,
    );
  });
});

describe('loaded, as Ollama spells names', () => {
  it('matches a model however either name is spelled', () => {
    expect(isLoaded('Llama3', ['llama3:latest'])).toBe(true);
    expect(isLoaded('library/qwen3:8b', ['qwen3:8b'])).toBe(true);
    expect(isLoaded('qwen3:8b', ['qwen3:14b'])).toBe(false);
  });
});
