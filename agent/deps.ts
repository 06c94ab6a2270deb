// What an agent is built from. Kept apart from the data types in types.ts, which the store and the
// run state import, so that no module's types depend on the store that persists them.
import type { RunbookSearcher } from '../rag/types.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import type { Logger } from '../tools/core/logger.js';
import type { AgentConfig } from './config.js';
import type { LlmProvider } from './providers/types.js';
import type { AgentState } from './store.js';

export interface AgentDeps {
  /** The one guarded path: every tool call of the agent goes through `pipeline.invoke`. */
  pipeline: ToolPipeline;
  /** null, or a server that does not answer, means degraded mode (runbooks and direct commands). */
  llm: LlmProvider | null;
  /** Runbook retrieval, when the knowledge base is configured. */
  runbooks?: RunbookSearcher;
  /** Threads, runs and paused state (SQLite in the data dir). */
  store: AgentState;
  config: AgentConfig;
  logger: Logger;
}
