import { randomBytes } from 'node:crypto';
import {
  callSignal,
  DEFAULT_MAX_RESPONSE_BYTES,
  errorMessage,
  fetchFailure,
  type ModelServer,
  parseArguments,
  postJson,
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

export interface OllamaOptions {
  url: string;
  model: string;
  contextWindow: number;
  temperature: number;
  keepAlive: string | number;
  timeoutMs: number;
  /** Largest reply read (a whole streamed chat, or one JSON body); default 16 MiB. */
  maxResponseBytes?: number;
}

interface OllamaToolCall {
  id?: string;
  function: { name: string; arguments: unknown };
}

interface OllamaChunk {
  message?: { content?: string; tool_calls?: OllamaToolCall[] };
  done?: boolean;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
}

const callId = () => `call_${randomBytes(6).toString('hex')}`;

function toOllama(m: ChatMessage): Record<string, unknown> {
  switch (m.role) {
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                function: {
                  name: c.name,
                  // Ollama wants an object; keep what the model sent when it was not one.
                  arguments:
                    c.arguments && typeof c.arguments === 'object' ? c.arguments : { _raw: c.arguments },
                },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', content: m.content, tool_name: m.name };
    default:
      return { role: m.role, content: m.content };
  }
}

/** Ollama's native chat API: tool calling through `tools`, NDJSON streaming, keep_alive, num_ctx. */
export class OllamaProvider implements LlmProvider {
  readonly kind = 'ollama' as const;
  readonly url: string;
  readonly model: string;
  readonly contextWindow: number;

  private get maxBytes(): number {
    return this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  constructor(private readonly opts: OllamaOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.model = opts.model;
    this.contextWindow = opts.contextWindow;
  }

  private server(): ModelServer {
    return {
      what: 'the Ollama server',
      url: this.url,
      timeoutMs: this.opts.timeoutMs,
      hint: 'start it with `ollama serve` or set llm.url',
      maxBytes: this.maxBytes,
    };
  }

  private notFound(): LlmError {
    return new LlmError(
      'model_not_found',
      `model '${this.model}' is not on the Ollama server at ${this.url}; pull it with: ollama pull ${this.model}`,
    );
  }

  async chat(request: ChatRequest): Promise<ChatResponse> {
    const body = {
      model: this.model,
      messages: request.messages.map(toOllama),
      ...(request.tools.length
        ? {
            tools: request.tools.map((t) => ({
              type: 'function',
              function: { name: t.name, description: t.description, parameters: t.parameters },
            })),
          }
        : {}),
      stream: true,
      keep_alive: this.opts.keepAlive,
      options: { num_ctx: this.opts.contextWindow, temperature: this.opts.temperature },
    };
    let content = '';
    const toolCalls: ToolCall[] = [];
    let promptTokens: number | undefined;
    let completionTokens: number | undefined;
    await streamChat<OllamaChunk>(this.server(), {
      path: '/api/chat',
      body,
      ...(request.signal ? { signal: request.signal } : {}),
      statusError: (status, message) =>
        status === 404 && /not found/i.test(message)
          ? this.notFound()
          : new LlmError('server_error', `Ollama at ${this.url} answered ${status}: ${message}`),
      event: (line) => (line.trim() ? line : undefined),
      onChunk: (chunk) => {
        if (chunk.error) {
          if (/not found/i.test(chunk.error) && chunk.error.includes(this.model)) throw this.notFound();
          throw new LlmError('server_error', `Ollama at ${this.url}: ${chunk.error}`);
        }
        const delta = chunk.message?.content ?? '';
        if (delta) {
          content += delta;
          request.onText?.(delta);
        }
        for (const c of chunk.message?.tool_calls ?? []) {
          toolCalls.push({
            id: c.id ?? callId(),
            name: c.function.name,
            arguments: parseArguments(c.function.arguments),
          });
        }
        if (chunk.done) {
          promptTokens = chunk.prompt_eval_count;
          completionTokens = chunk.eval_count;
        }
      },
    });
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
    let tags: { models?: Array<{ name: string }> };
    try {
      const res = await fetch(`${this.url}/api/tags`, { signal });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${await errorMessage(res)}`);
      tags = await readJson<typeof tags>(res, this.url, this.maxBytes);
    } catch (e) {
      const err = fetchFailure(
        e,
        'the Ollama server',
        this.url,
        timeoutMs,
        timeout,
        'start it with `ollama serve` or set llm.url',
      );
      return { ...base, reachable: false, message: err.message, fix: 'ollama serve' };
    }
    const available = (tags.models ?? []).map((m) => m.name);
    const has = available.includes(this.model) || available.includes(`${this.model}:latest`);
    if (!has) {
      return {
        ...base,
        reachable: true,
        modelAvailable: false,
        available,
        message: `Ollama at ${this.url} is up but model '${this.model}' is missing${available.length ? ` (it has: ${available.join(', ')})` : ' (it has no models)'}; pull it with: ollama pull ${this.model}`,
        fix: `ollama pull ${this.model}`,
      };
    }
    let contextLength: number | undefined;
    let tools: boolean | undefined;
    try {
      const res = await postJson(`${this.url}/api/show`, { model: this.model }, { signal });
      if (res.ok) {
        const show = await readJson<{ model_info?: Record<string, unknown>; capabilities?: string[] }>(
          res,
          this.url,
          this.maxBytes,
        );
        const key = Object.keys(show.model_info ?? {}).find((k) => k.endsWith('.context_length'));
        if (key) contextLength = Number(show.model_info![key]);
        if (show.capabilities) tools = show.capabilities.includes('tools');
      }
    } catch {
      // /api/show is extra detail; the model is there either way
    }
    const problems: string[] = [];
    if (tools === false)
      problems.push(
        `model '${this.model}' does not support tool calling; choose one that does (llama3.1, qwen2.5, mistral-nemo…)`,
      );
    if (contextLength !== undefined && contextLength < this.contextWindow)
      problems.push(
        `llm.contextWindow ${this.contextWindow} is larger than the model's ${contextLength}; lower it`,
      );
    return {
      ...base,
      ok: problems.length === 0,
      reachable: true,
      modelAvailable: true,
      available,
      ...(contextLength !== undefined ? { contextLength } : {}),
      ...(tools !== undefined ? { tools } : {}),
      message: problems.length
        ? problems.join('; ')
        : `Ollama at ${this.url} is up and has model '${this.model}'${contextLength ? ` (context ${contextLength} tokens, using ${this.contextWindow})` : ''}${tools ? ', with tool calling' : ''}.`,
    };
  }
}
