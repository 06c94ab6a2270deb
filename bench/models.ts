/**
 * `npm run bench -- models`: against the real Ollama of the tests (test/env/ollama.ts, built pinned,
 * with Gemma 3 270M and MiniLM):
 *
 * - models_list and model_show through the whole pipeline (validation, policy, audit, shaping,
 *   redaction) next to the same call made directly with the official `ollama` client, interleaved,
 *   with the ratio of medians.
 * - One agent step (the agent's Ollama provider, one /api/chat with two tools offered and a tool call
 *   back) next to the same request made with the official client, on the real model and on the
 *   scripted server; the difference is the provider's own cost per step, the ratio says whether
 *   moving the provider onto the client would pay.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ollama, type Tool } from 'ollama';
import { OllamaProvider } from '../agent/providers/ollama.js';
import { loadConfig } from '../app/config.js';
import { buildApp } from '../app/wiring.js';
import { startOllama, TEST_CHAT_MODEL } from '../test/env/ollama.js';
import { startScriptedOllama } from '../test/support/ollama-scripted.js';
import { silentLogger } from '../tools/core/logger.js';
import { fmt, measureInterleaved, type Timing } from './stats.js';

const ROUNDS = Number(process.env.BENCH_MODELS_ROUNDS ?? 60);
const AGENT_ROUNDS = Number(process.env.BENCH_MODELS_AGENT_ROUNDS ?? 10);

const tools = [
  {
    name: 'pods_list',
    description: 'List the pods in a namespace.',
    parameters: { type: 'object', properties: { namespace: { type: 'string' } }, required: ['namespace'] },
  },
  {
    name: 'nodes_list',
    description: 'List the nodes of the cluster.',
    parameters: { type: 'object', properties: {} },
  },
];
const question = 'List the pods in namespace payments.';

function line(label: string, t: Timing, base?: Timing): string {
  const ratio = base ? `  p50 ratio ${(t.p50 / base.p50).toFixed(3)}×  (+${fmt(t.p50 - base.p50)})` : '';
  return `${label.padEnd(34)} p50 ${fmt(t.p50).padStart(9)}  p99 ${fmt(t.p99).padStart(9)}${ratio}`;
}

/** One agent step through the provider, and the same request through the official client. */
async function step(url: string, model: string): Promise<Record<string, Timing>> {
  const provider = new OllamaProvider({
    url,
    model,
    contextWindow: 2048,
    temperature: 0,
    keepAlive: '10m',
    timeoutMs: 120_000,
  });
  const client = new Ollama({ host: url });
  const request = {
    model,
    messages: [{ role: 'user', content: question }],
    tools: tools.map((t) => ({ type: 'function', function: t })) as unknown as Tool[],
    stream: true as const,
    keep_alive: '10m',
    options: { num_ctx: 2048, temperature: 0 },
  };
  return measureInterleaved(
    {
      provider: async () => {
        const r = await provider.chat({ messages: [{ role: 'user', content: question }], tools });
        if (!r.toolCalls.length) throw new Error(`no tool call from ${model}: ${r.content}`);
      },
      client: async () => {
        let calls = 0;
        for await (const chunk of await client.chat(request)) calls += chunk.message.tool_calls?.length ?? 0;
        if (!calls) throw new Error(`no tool call from ${model} through the client`);
      },
    },
    AGENT_ROUNDS,
    2,
  );
}

export async function benchModels(): Promise<string[]> {
  const ollama = await startOllama();
  const out: string[] = [];
  try {
    const config = loadConfig({
      env: {
        KUBEMATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'kubemate-bench-models-')),
        KUBEMATE_LOG__LEVEL: 'silent',
        KUBEMATE_MODELS__OLLAMA: JSON.stringify([{ name: 'bench', url: ollama.url }]),
      },
    });
    const app = buildApp(config, silentLogger);
    const me = { id: 'local:bench', groups: ['local'], source: 'cli' as const };
    const client = new Ollama({ host: ollama.url });
    try {
      const invoke = async (tool: string, args: Record<string, unknown>) => {
        const r = await app.pipeline.invoke(tool, args, me);
        if (r.status !== 'success') throw new Error(`${tool}: ${r.text}`);
      };
      const t = await measureInterleaved(
        {
          'direct list': () => client.list(),
          models_list: () => invoke('models_list', {}),
          'direct show': () => client.show({ model: TEST_CHAT_MODEL }),
          model_show: () => invoke('model_show', { model: TEST_CHAT_MODEL }),
        },
        ROUNDS,
      );
      out.push(`models toolset over the official client, real Ollama, ${ROUNDS} interleaved rounds:`);
      out.push(line('ollama.list() direct', t['direct list']!));
      out.push(line('models_list (pipeline)', t.models_list!, t['direct list']));
      out.push(line(`ollama.show(${TEST_CHAT_MODEL}) direct`, t['direct show']!));
      out.push(line('model_show (pipeline)', t.model_show!, t['direct show']));
    } finally {
      app.close();
    }

    const real = await step(ollama.url, TEST_CHAT_MODEL);
    const scripted = await startScriptedOllama({
      chat: () => ({ toolCalls: [{ name: 'pods_list', arguments: { namespace: 'payments' } }] }),
    });
    let fake: Record<string, Timing>;
    try {
      fake = await step(scripted.url, 'llama3.1:8b');
    } finally {
      await scripted.close();
    }
    out.push(`one agent step (/api/chat, 2 tools, a tool call back), ${AGENT_ROUNDS} interleaved rounds:`);
    out.push(line('real Gemma 270M: official client', real.client!));
    out.push(line('real Gemma 270M: agent provider', real.provider!, real.client));
    out.push(line('scripted server: official client', fake.client!));
    out.push(line('scripted server: agent provider', fake.provider!, fake.client));
    out.push(
      `real model step / scripted step (provider): ${(real.provider!.p50 / fake.provider!.p50).toFixed(1)}×; the provider's own cost per step is the difference from the client, within noise where it is near 0`,
    );
  } finally {
    await ollama.stop();
  }
  return out;
}
