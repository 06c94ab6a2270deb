/**
 * The LLM provider contract. Providers speak one server's wire format (Ollama's /api/chat, an
 * OpenAI-compatible /v1/chat/completions); the agent loop only ever sees these types.
 */

/** A tool call the model asked for. `arguments` is the parsed object, or the raw text when it was not valid JSON. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

/** A tool offered to the model: name, description and JSON Schema of its arguments. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools: ToolSpec[];
  signal?: AbortSignal;
  /** Called with each piece of answer text as it streams in. */
  onText?: (delta: string) => void;
}

export interface ChatResponse {
  content: string;
  toolCalls: ToolCall[];
  /** As reported by the server; undefined when it does not say. */
  promptTokens?: number;
  completionTokens?: number;
}

export type LlmErrorCode =
  | 'unreachable'
  | 'model_not_found'
  | 'unauthorized'
  | 'timeout'
  | 'cancelled'
  | 'bad_response'
  | 'server_error';

/** An LLM call that failed; `message` says what to do about it. */
export class LlmError extends Error {
  constructor(
    readonly code: LlmErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LlmError';
  }
}

/** What `kubemate ask --check` prints: whether the server answers, and whether the model is there. */
export interface LlmHealth {
  ok: boolean;
  provider: 'ollama' | 'openai-compatible';
  url: string;
  model: string;
  reachable: boolean;
  /** Undefined when the server could not be asked. */
  modelAvailable?: boolean;
  /** Models the server has, when it lists them. */
  available?: string[];
  /** Context window the server reports for the model, when it does. */
  contextLength?: number;
  /** Whether the server reports tool-calling support for the model, when it does. */
  tools?: boolean;
  /** One line for a person: what is wrong and the exact command that fixes it. */
  message: string;
  fix?: string;
}

export interface LlmProvider {
  readonly kind: 'ollama' | 'openai-compatible';
  readonly model: string;
  readonly url: string;
  /** Tokens the model may see at once, as configured (llm.contextWindow). */
  readonly contextWindow: number;
  chat(request: ChatRequest): Promise<ChatResponse>;
  check(signal?: AbortSignal): Promise<LlmHealth>;
}
