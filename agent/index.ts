/**
 * The ops agent's public API (see agent/README.md, "Public API"). Surfaces, bots, evals and the
 * benchmark import from here only.
 */
export { Agent, AgentInputError } from './agent.js';
export { buildAgent } from './build.js';
export { citationLabel } from './citations.js';
export {
  type AgentConfig,
  agentConfigSchema,
  defaultAgentConfig,
  defaultLlmConfig,
  type LlmConfig,
  llmConfigSchema,
} from './config.js';
export type { AgentDeps } from './deps.js';
export { createLlmProvider } from './providers/index.js';
export {
  type ChatMessage,
  LlmError,
  type LlmHealth,
  type LlmProvider,
  type ToolCall,
  type ToolSpec,
} from './providers/types.js';
export { AgentStore, AgentStoreError } from './store.js';
export type {
  AgentAnswer,
  AgentEvent,
  AgentToolCall,
  AgentUsage,
  AskInput,
  BlockedWrite,
  ResumeOptions,
} from './types.js';
