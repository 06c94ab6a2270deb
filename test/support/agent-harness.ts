import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Agent,
  type AgentAnswer,
  type AgentEvent,
  AgentStore,
  agentConfigSchema,
} from '../../agent/index.js';
import { OllamaProvider } from '../../agent/providers/ollama.js';
import type { LlmProvider } from '../../agent/providers/types.js';
import type { Principal } from '../../policies/types.js';
import type { Citation, Passage, RunbookSearcher, SearchOptions, SearchResult } from '../../rag/types.js';
import type { ToolPipeline } from '../../tools/core/invoke.js';
import { silentLogger } from '../../tools/core/logger.js';

/** A runbook searcher over a few passages: word overlap, enough to rank a handful of passages. */
export function memoryRunbooks(
  docs: Array<{ source: string; title?: string; headingPath: string[]; text: string }>,
): RunbookSearcher & { queries: string[] } {
  const queries: string[] = [];
  const words = (t: string) => new Set(t.toLowerCase().match(/[a-z0-9]+/g) ?? []);
  return {
    queries,
    async search(query: string, options: SearchOptions = {}): Promise<SearchResult> {
      queries.push(query);
      const q = words(query);
      const passages: Passage[] = docs
        .map((d, i) => {
          const w = words(`${d.headingPath.join(' ')} ${d.text}`);
          const score = [...q].filter((x) => w.has(x)).length;
          const citation: Citation = {
            source: d.source,
            title: d.title ?? d.headingPath[0] ?? d.source,
            headingPath: d.headingPath,
            lineStart: 1 + i * 10,
            lineEnd: 9 + i * 10,
          };
          return { citation, text: d.text, score, chunkId: `${d.source}#${i}` };
        })
        .filter((p) => p.score > 0)
        .sort((a, b) => b.score - a.score)
        .slice(0, options.limit ?? 5);
      return { mode: 'keyword', notice: 'embedding model unreachable: keyword retrieval only', passages };
    },
  };
}

export function ollamaAt(url: string, opts: { model?: string; contextWindow?: number } = {}): LlmProvider {
  return new OllamaProvider({
    url,
    model: opts.model ?? 'llama3.1:8b',
    contextWindow: opts.contextWindow ?? 32768,
    temperature: 0,
    keepAlive: '5m',
    timeoutMs: 10_000,
  });
}

export function tempDir(prefix = 'kubemate-agent-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function makeAgent(opts: {
  pipeline: ToolPipeline;
  llm: LlmProvider | null;
  runbooks?: RunbookSearcher;
  storePath?: string;
  config?: Record<string, unknown>;
}): { agent: Agent; store: AgentStore } {
  const store = new AgentStore(opts.storePath ?? ':memory:');
  const agent = new Agent({
    pipeline: opts.pipeline,
    llm: opts.llm,
    store,
    config: agentConfigSchema.parse(opts.config ?? {}),
    logger: silentLogger,
    ...(opts.runbooks ? { runbooks: opts.runbooks } : {}),
  });
  return { agent, store };
}

/** Asks and collects the events in order. */
export async function askCollect(
  agent: Agent,
  question: string,
  principal: Principal,
  threadId?: string,
): Promise<{ answer: AgentAnswer; events: AgentEvent[] }> {
  const events: AgentEvent[] = [];
  const answer = await agent.ask({
    question,
    principal,
    ...(threadId ? { threadId } : {}),
    onEvent: (e) => events.push(e),
  });
  return { answer, events };
}

/** The text a streaming client shows: every text delta in order. */
export const streamed = (events: AgentEvent[]) =>
  events.map((e) => (e.type === 'text' ? e.delta : '')).join('');

/** A loopback port nothing listens on. */
export async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
