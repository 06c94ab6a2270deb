import { DEFAULT_OLLAMA_URL, DEFAULT_OPENAI_URL, type LlmConfig } from '../config.js';
import { OllamaProvider } from './ollama.js';
import { OpenAiCompatibleProvider } from './openai.js';
import type { LlmProvider } from './types.js';

/** The provider the `llm` configuration names; null for `provider: none` (degraded mode only). */
export function createLlmProvider(config: LlmConfig): LlmProvider | null {
  const timeoutMs = config.timeoutSeconds * 1000;
  const limit = config.maxResponseMiB ? { maxResponseBytes: config.maxResponseMiB * 1024 * 1024 } : {};
  switch (config.provider) {
    case 'none':
      return null;
    case 'ollama':
      return new OllamaProvider({
        url: config.url ?? DEFAULT_OLLAMA_URL,
        model: config.model,
        contextWindow: config.contextWindow,
        temperature: config.temperature,
        keepAlive: config.keepAlive,
        timeoutMs,
        ...limit,
      });
    case 'openai-compatible':
      return new OpenAiCompatibleProvider({
        url: config.url ?? DEFAULT_OPENAI_URL,
        model: config.model,
        contextWindow: config.contextWindow,
        temperature: config.temperature,
        timeoutMs,
        ...(config.apiKey ? { apiKey: config.apiKey } : {}),
        ...limit,
      });
  }
}
