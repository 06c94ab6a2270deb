import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted server that speaks Ollama's real HTTP API (`/api/chat` with tool calls and NDJSON
 * streaming, `/api/embed`, `/api/tags`, `/api/show`, `/api/version`, and Ollama's error bodies).
 * No model runs here: each chat reply comes from the test's script, and embeddings are a
 * deterministic hashed bag of words (similar texts get similar vectors, nothing more).
 */

export interface ToolCallScript {
  name: string;
  arguments: Record<string, unknown>;
}

export interface ChatTurn {
  content?: string;
  /** Ollama ≥0.9 separates reasoning from content for thinking models. */
  thinking?: string;
  toolCalls?: ToolCallScript[];
  /** Reply with this HTTP status and Ollama's `{ "error": … }` body instead. */
  error?: { status: number; message: string };
  /** Delay before the first byte (model time, for timeouts and overhead measurement). */
  delayMs?: number;
}

export interface OllamaChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  tool_calls?: { function: { name: string; arguments: Record<string, unknown> } }[];
  tool_name?: string;
}

export interface OllamaChatRequest {
  model: string;
  messages: OllamaChatMessage[];
  tools?: { type: 'function'; function: { name: string; description?: string; parameters?: unknown } }[];
  stream?: boolean;
  options?: Record<string, unknown>;
  keep_alive?: string | number;
  think?: boolean;
  format?: unknown;
}

export interface ScriptedOllamaOptions {
  /** Model names /api/tags lists; chat and embed refuse others as Ollama does. */
  models?: string[];
  /** The reply to the n-th chat request (from 0). Default: a fixed sentence. */
  chat?: (request: OllamaChatRequest, index: number) => ChatTurn;
  embed?: (texts: string[], model: string) => number[][];
  embedDimension?: number;
  /** Context window /api/show reports. */
  contextLength?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

export interface ScriptedOllama {
  url: string;
  requests: RecordedRequest[];
  /** Replace the chat script (resets the request counter). */
  setChat(chat: (request: OllamaChatRequest, index: number) => ChatTurn): void;
  close(): Promise<void>;
}

export const DEFAULT_MODELS = ['llama3.1:8b', 'nomic-embed-text:latest'];

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Hashed bag of words, L2-normalised: deterministic, and texts sharing words point the same way. */
export function hashedEmbedding(text: string, dimension = 256): number[] {
  const v = new Array<number>(dimension).fill(0);
  const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  for (const w of words) {
    const h = fnv1a(w);
    v[h % dimension]! += h & 0x100 ? 1 : -1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

/** Ollama's own token accounting is per model; four characters a token is close enough for tests. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function knownModel(models: string[], name: string): boolean {
  return models.includes(name) || models.includes(`${name}:latest`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse, model: string): void {
  send(res, 404, { error: `model "${model}" not found, try pulling it first` });
}

function chatReply(res: ServerResponse, request: OllamaChatRequest, turn: ChatTurn): void {
  const created_at = new Date().toISOString();
  const promptTokens = estimateTokens(
    JSON.stringify(request.messages) + (request.tools ? JSON.stringify(request.tools) : ''),
  );
  const content = turn.content ?? '';
  const toolCalls = turn.toolCalls?.map((c) => ({ function: { name: c.name, arguments: c.arguments } }));
  const final = {
    model: request.model,
    created_at,
    done: true,
    done_reason: 'stop',
    total_duration: 1_000_000,
    load_duration: 100_000,
    prompt_eval_count: promptTokens,
    prompt_eval_duration: 500_000,
    eval_count: estimateTokens(content) + (toolCalls ? 10 : 0),
    eval_duration: 400_000,
  };
  if (request.stream === false) {
    send(res, 200, {
      ...final,
      message: {
        role: 'assistant',
        content,
        ...(turn.thinking ? { thinking: turn.thinking } : {}),
        ...(toolCalls ? { tool_calls: toolCalls } : {}),
      },
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const line = (o: unknown) => res.write(`${JSON.stringify(o)}\n`);
  if (turn.thinking)
    line({
      model: request.model,
      created_at,
      message: { role: 'assistant', content: '', thinking: turn.thinking },
      done: false,
    });
  // Ollama streams content a few characters at a time; tool calls arrive whole in one chunk.
  for (const piece of content.match(/[\s\S]{1,12}/g) ?? []) {
    line({ model: request.model, created_at, message: { role: 'assistant', content: piece }, done: false });
  }
  if (toolCalls) {
    line({
      model: request.model,
      created_at,
      message: { role: 'assistant', content: '', tool_calls: toolCalls },
      done: false,
    });
  }
  line({ ...final, message: { role: 'assistant', content: '' } });
  res.end();
}

export async function startScriptedOllama(options: ScriptedOllamaOptions = {}): Promise<ScriptedOllama> {
  const models = options.models ?? DEFAULT_MODELS;
  const dimension = options.embedDimension ?? 256;
  const embed = options.embed ?? ((texts) => texts.map((t) => hashedEmbedding(t, dimension)));
  let chat: (request: OllamaChatRequest, index: number) => ChatTurn =
    options.chat ?? (() => ({ content: 'I have nothing scripted to say.' }));
  let chatIndex = 0;
  const requests: RecordedRequest[] = [];

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    void (async () => {
      let body: unknown = {};
      if (req.method === 'POST') {
        try {
          body = await readJson(req);
        } catch {
          send(res, 400, { error: 'invalid character in JSON body' });
          return;
        }
      }
      requests.push({ method: req.method ?? 'GET', path, body });
      if (req.method === 'GET' && (path === '/' || path === '/api/version')) {
        if (path === '/') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('Ollama is running');
        } else send(res, 200, { version: '0.12.6' });
        return;
      }
      if (req.method === 'GET' && path === '/api/tags') {
        send(res, 200, {
          models: models.map((name) => ({
            name,
            model: name,
            modified_at: '2026-01-01T00:00:00Z',
            size: 4_920_753_328,
            digest: fnv1a(name).toString(16).padStart(64, '0'),
            details: {
              format: 'gguf',
              family: 'llama',
              families: ['llama'],
              parameter_size: '8.0B',
              quantization_level: 'Q4_K_M',
            },
          })),
        });
        return;
      }
      const b = body as Record<string, unknown>;
      const model = typeof b.model === 'string' ? b.model : '';
      if (req.method === 'POST' && path === '/api/show') {
        if (!knownModel(models, model)) return notFound(res, model);
        send(res, 200, {
          modelfile: `FROM ${model}`,
          parameters: 'temperature 0.7',
          template: '{{ .Prompt }}',
          details: { format: 'gguf', family: 'llama', parameter_size: '8.0B', quantization_level: 'Q4_K_M' },
          model_info: {
            'general.architecture': 'llama',
            'llama.context_length': options.contextLength ?? 131072,
          },
          capabilities: model.includes('embed') ? ['embedding'] : ['completion', 'tools'],
        });
        return;
      }
      if (req.method === 'POST' && path === '/api/embed') {
        if (!model) return send(res, 400, { error: 'model is required' });
        if (!knownModel(models, model)) return notFound(res, model);
        const input = b.input;
        const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? (input as string[]) : [];
        send(res, 200, {
          model,
          embeddings: embed(texts, model),
          total_duration: 1_000_000,
          load_duration: 100_000,
          prompt_eval_count: texts.reduce((n, t) => n + estimateTokens(t), 0),
        });
        return;
      }
      if (req.method === 'POST' && path === '/api/chat') {
        if (!model) return send(res, 400, { error: 'model is required' });
        if (!knownModel(models, model)) return notFound(res, model);
        const request = body as OllamaChatRequest;
        const turn = chat(request, chatIndex++);
        if (turn.delayMs) await new Promise((r) => setTimeout(r, turn.delayMs));
        if (turn.error) return send(res, turn.error.status, { error: turn.error.message });
        chatReply(res, request, turn);
        return;
      }
      send(res, 404, { error: '404 page not found' });
    })().catch((e: unknown) => send(res, 500, { error: String(e) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setChat(next) {
      chat = next;
      chatIndex = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
