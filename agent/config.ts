import { z } from 'zod';

/**
 * The `llm` and `agent` configuration sections. They live here, next to the code that reads them;
 * app/config.ts puts them into the one validated configuration.
 */

export const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';
export const DEFAULT_OPENAI_URL = 'http://127.0.0.1:8000/v1';

export const llmConfigSchema = z
  .strictObject({
    /** `none` runs the agent in degraded mode only (runbooks and direct commands). */
    provider: z.enum(['ollama', 'openai-compatible', 'none']).default('ollama'),
    /** Default: http://127.0.0.1:11434 for Ollama, http://127.0.0.1:8000/v1 for OpenAI-compatible. */
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:11434' })
      .optional(),
    model: z.string().min(1).default('llama3.1:8b'),
    /** Tokens the model may see at once (Ollama's num_ctx). */
    contextWindow: z.number().int().min(2048).max(1_048_576).default(8192),
    temperature: z.number().min(0).max(2).default(0.1),
    /** How long Ollama keeps the model loaded after a call: a duration ("30m", "1h") or seconds; -1 forever. */
    keepAlive: z
      .union([
        z.string().regex(/^-?\d+(\.\d+)?(ms|s|m|h)?$/, 'must be a duration such as "30m", "1h" or "90s"'),
        z.number().int(),
      ])
      .default('30m'),
    /** Upper bound for one model call, streaming included. */
    timeoutSeconds: z.number().positive().max(3600).default(120),
    /** Bearer token for an OpenAI-compatible server (vLLM's --api-key). */
    apiKey: z.string().min(1).optional(),
    /** Largest reply read from the model server (a whole streamed answer); default 16. */
    maxResponseMiB: z.number().positive().max(1024).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.apiKey && v.provider !== 'openai-compatible') {
      ctx.addIssue({
        code: 'custom',
        // Reported on provider, not apiKey, so the error never echoes the key.
        path: ['provider'],
        message:
          'llm.apiKey is set, but only provider openai-compatible uses it; set the provider or remove the key',
      });
    }
  });

export const agentConfigSchema = z.strictObject({
  /** Model calls per question; the last one may not call tools, so the run always ends with an answer. */
  maxSteps: z.number().int().min(1).max(50).default(8),
  /** Most prompt tokens per model call (about four characters a token); default 75% of llm.contextWindow. */
  tokenBudget: z.number().int().min(1000).max(1_000_000).optional(),
  /** Earlier question-and-answer turns of a thread the model sees again (0: no memory). */
  memoryTurns: z.number().int().min(0).max(50).default(6),
  /** Runbook passages fetched for every question before the model is asked. */
  runbookPassages: z.number().int().min(0).max(20).default(3),
  /** Most tokens of one tool result in the prompt; longer results are cut and say so. */
  toolResultTokens: z.number().int().min(100).max(100_000).default(1500),
});

export type LlmConfig = z.output<typeof llmConfigSchema>;
export type AgentConfig = z.output<typeof agentConfigSchema>;

export const defaultLlmConfig = (): LlmConfig => llmConfigSchema.parse({});
export const defaultAgentConfig = (): AgentConfig => agentConfigSchema.parse({});

/** The prompt budget the loop works to: the configured one, else three quarters of the context window. */
export function effectiveTokenBudget(agent: AgentConfig, contextWindow: number): number {
  return agent.tokenBudget ?? Math.floor(contextWindow * 0.75);
}
