// `kubemate tools call model_pull` from the command line against the real Ollama, pulling from a
// loopback registry (never an outside host): the progress bar on stderr drawn from the tool's
// progress notifications, the result on stdout.
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { testenvCacheRoot } from '../env/prepare.js';
import { baseEnv, runKubemate } from '../support/cli.js';
import { startRegistry } from '../support/ollama-registry.js';

const u = Math.random().toString(36).slice(2, 8);
let url: string;
let registry: Server;
let port: number;
let env: Record<string, string>;

beforeAll(async () => {
  url = inject('ollamaUrl');
  ({ server: registry, port } = await startRegistry(path.join(testenvCacheRoot(), 'ollama-store')));
  const dataDir = mkdtempSync(join(tmpdir(), 'kubemate-pull-cli-'));
  const policy = join(dataDir, 'policy.yaml');
  writeFileSync(
    policy,
    `version: 1
bindings:
  - subjects: [puller]
    roles: [operator]
approvals:
  - subjects: [puller]
    tools: [model_pull]
    approvers: { count: 0 }
`,
  );
  env = {
    ...baseEnv(),
    KUBEMATE_DATA_DIR: dataDir,
    KUBEMATE_LOG__LEVEL: 'silent',
    KUBEMATE_POLICY__FILE: policy,
    KUBEMATE_LOCAL__PRINCIPAL: JSON.stringify({ id: 'puller', groups: [] }),
    KUBEMATE_MODELS__OLLAMA: JSON.stringify([
      { name: 'local', url, allowedRegistries: [`127.0.0.1:${port}`], insecureRegistries: true },
    ]),
  };
});

afterAll(async () => {
  await new Promise((r) => registry?.close(r));
  const tags = (await (await fetch(`${url}/api/tags`)).json()) as { models: Array<{ name: string }> };
  for (const m of tags.models)
    if (m.name.includes(u))
      await fetch(`${url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: m.name }) });
});

describe('kubemate tools call model_pull', () => {
  it('draws a progress bar on stderr from the pull and prints the result on stdout', async () => {
    const model = `127.0.0.1:${port}/kubemate/minilm:${u}`;
    const r = await runKubemate(
      ['tools', 'call', 'model_pull', '--args', JSON.stringify({ model })],
      env,
      180_000,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`pulled ${model} from 127.0.0.1:${port}`);
    // Not a terminal: one line per tenth of the way, with the downloaded and total sizes.
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('model_pull ['));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines)
      expect(l).toMatch(/^model_pull \[[#-]{28}\] (\d+% )?[\d.]+ [KMG]?B\/([\d.]+ [KMG]?B|\?)( .*)?$/);
    // The MiniLM weights (about 46 MB) are seen whole at the end.
    expect(lines.at(-1)).toMatch(/^model_pull \[#{28}\] 100% \d+ MB\/\d+ MB/);
    expect(r.stderr).not.toContain('\x1b[2K');
    const tags = (await (await fetch(`${url}/api/tags`)).json()) as { models: Array<{ name: string }> };
    expect(tags.models.map((m) => m.name)).toContain(model);
  }, 240_000);
});
