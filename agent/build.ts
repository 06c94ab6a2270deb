import { join } from 'node:path';
import type { RunbookSearcher } from '../rag/types.js';
import type { PgState } from '../state/postgres.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import type { Logger } from '../tools/core/logger.js';
import { Agent } from './agent.js';
import type { AgentConfig, LlmConfig } from './config.js';
import { createLlmProvider } from './providers/index.js';
import { AgentStore } from './store.js';

/** The agent as the app runs it: its state in `<dataDir>/agent.db` (or `pgState`), the model from `llm`. */
export function buildAgent(opts: {
  dataDir: string;
  llm: LlmConfig;
  agent: AgentConfig;
  pipeline: ToolPipeline;
  logger: Logger;
  runbooks?: RunbookSearcher;
  /** The PostgreSQL state every replica shares; runs and threads are then readable from any replica. */
  pgState?: PgState;
}): { agent: Agent; close(): void } {
  const store = new AgentStore(join(opts.dataDir, 'agent.db'), opts.pgState);
  const agent = new Agent({
    pipeline: opts.pipeline,
    llm: createLlmProvider(opts.llm),
    store,
    config: opts.agent,
    logger: opts.logger,
    ...(opts.runbooks ? { runbooks: opts.runbooks } : {}),
  });
  return { agent, close: () => store.close() };
}
