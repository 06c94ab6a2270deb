import { randomBytes } from 'node:crypto';
import {
  callSignal,
  DEFAULT_MAX_RESPONSE_BYTES,
  errorMessage,
  fetchFailure,
  type ModelServer,
  parseArguments,
  readJson,
  streamChat,
} from './http.js';
import {
  type ChatMessage,
  type ChatRequest,
  type ChatResponse,
  LlmError,
  type LlmHealth,
  type LlmProvider,
  type ToolCall,
} from './types.js';

export interface OpenAiOptions {
  /** Base URL with or without the trailing /v1. */
  url: string;
  model: string;
  contextWindow: number;
  temperature: number;
  timeoutMs: number;
  apiKey?: string;
  /** Largest reply read (a whole streamed chat, or one JSON body); default 16 MiB. */
  maxResponseBytes?: number;
}

interface Delta {
  content?: string | null;
  tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
}

interface StreamChunk {
  choices?: Array<{ delta?: Delta; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string };
}

function toOpenAi(m: ChatMessage): Record<string, unknown> {
  switch (m.role) {
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content || null,
        ...(m.toolCalls?.length
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function',
                function: {
                  name: c.name,
                  arguments:
                    typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments ?? {}),
                },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    default:
      return { role: m.role, content: m.content };
  }
}

/** Any server with OpenAI's chat completions API (vLLM, llama.cpp server, LocalAI): tools and SSE streaming. */
export class OpenAiCompatibleProvider implements LlmProvider {
  readonly kind = 'openai-compatible' as const;
  readonly url: string;
  readonly model: string;
  readonly contextWindow: number;

  private get maxBytes(): number {
    return this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  constructor(private readonly opts: OpenAiOptions) {
    const trimmed = opts.url.replace(/\/+$/, '');
    this.url = /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
    this.model = opts.model;
    this.contextWindow = opts.contextWindow;
  }

  private server(): ModelServer {
    return {
      what: 'the OpenAI-compatible server',
      url: this.url,
      timeoutMs: this.opts.timeoutMs,
      hint: 'start it or set llm.url',
      maxBytes: this.maxBytes,
    };
  }

  private headers(): Record<string, string> {
    return this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {};
  }

  private statusError(status: number, message: string): LlmError {
    if (status === 401 || status === 403)
      return new LlmError(
        'unauthorized',
        `the server at ${this.url} refused the API key (${status}: ${message}); set llm.apiKey`,
      );
    if (status === 404 && /model/i.test(message))
      return new LlmError(
        'model_not_found',
        `the server at ${this.url} does not serve model '${this.model}' (${message}); start it with that model (vLLM: --model ${this.model} or --served-model-name) or set llm.model`,
      );
    return new LlmError('server_error', `the server at ${this.url} answered ${status}: ${message}`);
  }

  async chat(request: ChatRequest): Promise<ChatResponse> {
    const body = {
      model: this.model,
      messages: request.messages.map(toOpenAi),
      ...(request.tools.length
        ? {
            tools: request.tools.map((t) => ({
              type: 'function',
              function: { name: t.name, description: t.description, parameters: t.parameters },
            })),
            tool_choice: 'auto',
          }
        : {}),
      temperature: this.opts.temperature,
      stream: true,
      stream_options: { include_usage: true },
    };
    let content = '';
    const partial = new Map<number, { id?: string; name: string; args: string }>();
    let promptTokens: number | undefined;
    let completionTokens: number | undefined;
    await streamChat<StreamChunk>(this.server(), {
      path: '/chat/completions',
      body,
      headers: this.headers(),
      ...(request.signal ? { signal: request.signal } : {}),
      statusError: (status, message) => this.statusError(status, message),
      event: (line) => {
        if (!line.startsWith('data:')) return undefined;
        const data = line.slice(5).trim();
        return data === '[DONE]' ? null : data;
      },
      onChunk: (chunk) => {
        if (chunk.error)
          throw new LlmError('server_error', `the server at ${this.url}: ${chunk.error.message ?? 'error'}`);
        if (chunk.usage) {
          promptTokens = chunk.usage.prompt_tokens ?? promptTokens;
          completionTokens = chunk.usage.completion_tokens ?? completionTokens;
        }
        const delta = chunk.choices?.[0]?.delta;
        if (!delta) return;
        if (delta.content) {
          content += delta.content;
          request.onText?.(delta.content);
        }
        // Tool calls stream as fragments keyed by index: the name first, then pieces of JSON text.
        for (const t of delta.tool_calls ?? []) {
          const index = t.index ?? partial.size;
          const cur = partial.get(index) ?? { name: '', args: '' };
          if (t.id) cur.id = t.id;
          if (t.function?.name) cur.name += t.function.name;
          if (t.function?.arguments) cur.args += t.function.arguments;
          partial.set(index, cur);
        }
      },
    });
    const toolCalls: ToolCall[] = [...partial.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, c]) => ({
        id: c.id ?? `call_${randomBytes(6).toString('hex')}`,
        name: c.name,
        arguments: parseArguments(c.args),
      }));
    return {
      content,
      toolCalls,
      ...(promptTokens !== undefined ? { promptTokens } : {}),
      ...(completionTokens !== undefined ? { completionTokens } : {}),
    };
  }

  async check(callerSignal?: AbortSignal): Promise<LlmHealth> {
    const timeoutMs = Math.min(this.opts.timeoutMs, 10_000);
    const base = { ok: false, provider: this.kind, url: this.url, model: this.model } as const;
    const { signal, timeout } = callSignal(timeoutMs, callerSignal);
    let res: Response;
    try {
      res = await fetch(`${this.url}/models`, { headers: this.headers(), signal });
    } catch (e) {
      const err = fetchFailure(
        e,
        'the OpenAI-compatible server',
        this.url,
        timeoutMs,
        timeout,
        'start it or set llm.url',
      );
      return { ...base, reachable: false, message: err.message };
    }
    if (!res.ok) {
      const err = this.statusError(res.status, await errorMessage(res));
      return { ...base, reachable: true, message: err.message };
    }
    const body = await readJson<{ data?: Array<{ id: string; max_model_len?: number }> }>(
      res,
      this.url,
      this.maxBytes,
    ).catch(() => ({}) as { data?: Array<{ id: string; max_model_len?: number }> });
    const available = (body.data ?? []).map((m) => m.id);
    const entry = body.data?.find((m) => m.id === this.model);
    if (!entry) {
      return {
        ...base,
        reachable: true,
        modelAvailable: false,
        available,
        message: `the server at ${this.url} is up but does not serve model '${this.model}' (it serves: ${available.join(', ') || 'nothing'}); start it with that model (vLLM: vllm serve ${this.model}) or set llm.model`,
        fix: `vllm serve ${this.model}`,
      };
    }
    const contextLength = entry.max_model_len;
    const tooBig = contextLength !== undefined && contextLength < this.contextWindow;
    return {
      ...base,
      ok: !tooBig,
      reachable: true,
      modelAvailable: true,
      available,
      ...(contextLength !== undefined ? { contextLength } : {}),
      message: tooBig
        ? `llm.contextWindow ${this.contextWindow} is larger than the model's ${contextLength}; lower it`
        : `the server at ${this.url} is up and serves '${this.model}'${contextLength ? ` (max_model_len ${contextLength})` : ''}.`,
    };
  }
}
