// The models inspection against the real Ollama (test/env/ollama.ts): Kubemate's configured chat
// and embedding models judged on the cluster's Ollama server as `kubemate ask --check` judges them,
// through inspection_run and the pipeline, under the caller's policy. Models are the test's own,
// named with a random suffix, and deleted afterwards.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import { silentLogger } from '../../tools/core/logger.js';
import type { Report } from '../../tools/inspection/model.js';
import { findingId } from '../../tools/inspection/runner.js';
import { TEST_CHAT_MODEL, TEST_EMBED_MODEL } from '../env/ollama.js';
import { kubemateConfig } from '../support/kube.js';
import { who } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  audrey: [slack:UAUDREY]
roles:
  inspection-reader:
    - toolsets: [inspection]
      verbs: [read]
bindings:
  - subjects: [alice]
    roles: [viewer]
  - subjects: [audrey]
    roles: [inspection-reader]
`;
const alice = who('slack:UALICE');
const audrey = who('slack:UAUDREY');
const u = Math.random().toString(36).slice(2, 8);
// The agent's model is configured but not on the server (yet); the embedding model is there.
const chat = `kmi-chat-${u}:1b`;
const embed = `kmi-embed-${u}:latest`;
const CHECK = 'models.ollama.configured';

let app: App;
let url: string;

const ollama = (path: string, body: unknown, method = 'POST') =>
  fetch(`${url}${path}`, { method, body: JSON.stringify(body) });

async function run(as = alice): Promise<{ structured: Record<string, unknown>; report: Report }> {
  const r = await app.pipeline.invoke('inspection_run', { checks: [CHECK] }, as);
  expect(r.status, r.text).toBe('success');
  const id = String(r.structured?.id);
  return { structured: r.structured!, report: JSON.parse((await app.inspections.get(id))!.body) as Report };
}

beforeAll(async () => {
  url = inject('ollamaUrl');
  expect((await ollama('/api/copy', { source: TEST_EMBED_MODEL, destination: embed })).ok).toBe(true);
  const cfg = kubemateConfig({
    KUBEMATE_MODELS__OLLAMA: [{ name: 'local', url, timeoutSeconds: 60 }],
    KUBEMATE_LLM__URL: url,
    KUBEMATE_LLM__MODEL: chat,
    KUBEMATE_RUNBOOKS__EMBEDDING__URL: url,
    KUBEMATE_RUNBOOKS__EMBEDDING__MODEL: embed,
    KUBEMATE_INSPECTIONS__SUMMARY: 'template',
  });
  mkdirSync(cfg.dataDir, { recursive: true });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger);
}, 120_000);

afterAll(async () => {
  app?.close();
  for (const model of [chat, embed]) await ollama('/api/delete', { model }, 'DELETE').catch(() => undefined);
});

describe('inspection scope models', () => {
  it('finds the configured chat model missing from the server, and nothing wrong with the embedding model that is there', async () => {
    const { report } = await run();
    expect(report.checks).toEqual([
      expect.objectContaining({
        id: CHECK,
        scope: 'models',
        status: 'failed',
        severity: 'critical',
        findings: 1,
      }),
    ]);
    expect(report.findings).toHaveLength(1);
    const f = report.findings[0]!;
    expect(f).toMatchObject({
      id: findingId(CHECK, `ollama/local/${chat}`),
      checkId: CHECK,
      scope: 'models',
      severity: 'critical',
      subject: `ollama/local/${chat}`,
      evidence: { analyzer: 'ollama-models' },
    });
    expect(f.message).toBe(
      `chat model ${chat} on Ollama 'local': not on the server (neither pulled nor created); pull it from the internal registry (model_pull) or create it (model_create)`,
    );
    expect(report.findings.some((x) => x.subject.includes(embed))).toBe(false);
    expect(report.scores.byScope.models).toMatchObject({ evaluated: 1, failed: 1, critical: 1 });
  });

  it('passes once the model is there, and the report says the finding is resolved', async () => {
    // The chat model appears under its configured name (a copy of the test's Gemma, which does tools).
    expect((await ollama('/api/copy', { source: TEST_CHAT_MODEL, destination: chat })).ok).toBe(true);
    const { report } = await run();
    expect(report.checks[0]).toMatchObject({ id: CHECK, status: 'passed', findings: 0 });
    expect(report.findings).toEqual([]);
    expect(report.diff?.resolved.map((r) => r.subject)).toContain(`ollama/local/${chat}`);
  });

  it('reports a configured model that cannot do what Kubemate asks of it', async () => {
    // Now the chat model's name holds the embedding model: present, but no tools or completion.
    await ollama('/api/delete', { model: chat }, 'DELETE');
    expect((await ollama('/api/copy', { source: TEST_EMBED_MODEL, destination: chat })).ok).toBe(true);
    const { report } = await run();
    expect(report.findings.map((f) => f.subject)).toEqual([`ollama/local/${chat}`]);
    expect(report.findings[0]!.message).toMatch(
      new RegExp(
        `^chat model ${chat.replace(/[.:]/g, '\\$&')} on Ollama 'local': it cannot do completion, tools \\(capabilities: embedding\\)$`,
      ),
    );
  });

  it('is skipped, saying why, for a caller the policy does not let read models', async () => {
    const { report } = await run(audrey);
    expect(report.checks[0]).toMatchObject({ id: CHECK, status: 'skipped', findings: 0 });
    expect(report.checks[0]!.reason).toBe(
      `the policy does not let ${audrey.id} read models (model_show) on cluster kubemate`,
    );
    expect(report.findings).toEqual([]);
  });
});
