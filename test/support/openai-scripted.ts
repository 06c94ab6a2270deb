import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { estimateTokens, type ToolCallScript } from './ollama-scripted.js';

/**
 * A scripted server that speaks the OpenAI chat completions API as vLLM serves it:
 * `GET /v1/models`, `POST /v1/chat/completions` with tools, SSE streaming (tool-call arguments
 * arrive as JSON text in fragments, usage in the last chunk when asked), `stream:false`, OpenAI's
 * error bodies, and bearer-token auth when an API key is set. No model runs: replies are scripted.
 */

export interface OpenAiTurn {
  content?: string;
  toolCalls?: ToolCallScript[];
  /** Send the tool-call arguments as this raw text instead of JSON (to test invalid JSON). */
  rawArguments?: string;
  error?: { status: number; message: string };
}

export interface OpenAiRequest {
  model: string;
  messages: Array<{ role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string }>;
  tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters?: unknown } }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  temperature?: number;
}

export interface ScriptedOpenAi {
  url: string;
  requests: Array<{ path: string; headers: IncomingMessage['headers']; body: unknown }>;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function error(res: ServerResponse, status: number, message: string, type = 'invalid_request_error') {
  send(res, status, { object: 'error', message, type, param: null, code: status });
}

export async function startScriptedOpenAi(
  options: {
    models?: string[];
    apiKey?: string;
    maxModelLen?: number;
    chat?: (request: OpenAiRequest, index: number) => OpenAiTurn;
  } = {},
): Promise<ScriptedOpenAi> {
  const models = options.models ?? ['Qwen/Qwen2.5-7B-Instruct'];
  const requests: ScriptedOpenAi['requests'] = [];
  let index = 0;
  const server = createServer((req, res) => {
    void (async () => {
      const parts: Buffer[] = [];
      for await (const p of req) parts.push(p as Buffer);
      const text = Buffer.concat(parts).toString('utf8');
      const body = text ? JSON.parse(text) : {};
      const path = (req.url ?? '/').split('?')[0]!;
      requests.push({ path, headers: req.headers, body });
      if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return send(res, 401, { error: 'Unauthorized' });
      }
      if (req.method === 'GET' && path === '/v1/models') {
        return send(res, 200, {
          object: 'list',
          data: models.map((id) => ({
            id,
            object: 'model',
            created: 0,
            owned_by: 'vllm',
            max_model_len: options.maxModelLen ?? 32768,
          })),
        });
      }
      if (req.method !== 'POST' || path !== '/v1/chat/completions') return error(res, 404, 'Not Found');
      const request = body as OpenAiRequest;
      if (!models.includes(request.model))
        return error(res, 404, `The model \`${request.model}\` does not exist.`, 'NotFoundError');
      const turn: OpenAiTurn = (options.chat ?? (() => ({ content: 'nothing scripted' })))(request, index++);
      if (turn.error) return error(res, turn.error.status, turn.error.message);
      const id = `chatcmpl-${index}`;
      const calls = (turn.toolCalls ?? []).map((c, i) => ({
        id: `chatcmpl-tool-${index}-${i}`,
        name: c.name,
        args: turn.rawArguments ?? JSON.stringify(c.arguments),
      }));
      const usage = {
        prompt_tokens: estimateTokens(JSON.stringify(request.messages) + JSON.stringify(request.tools ?? [])),
        completion_tokens: estimateTokens(turn.content ?? '') + calls.length * 10,
      };
      const content = turn.content ?? '';
      if (request.stream === false || request.stream === undefined) {
        return send(res, 200, {
          id,
          object: 'chat.completion',
          model: request.model,
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: content || null,
                ...(calls.length
                  ? {
                      tool_calls: calls.map((c) => ({
                        id: c.id,
                        type: 'function',
                        function: { name: c.name, arguments: c.args },
                      })),
                    }
                  : {}),
              },
              finish_reason: calls.length ? 'tool_calls' : 'stop',
            },
          ],
          usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
        });
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
        res.write(
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', model: request.model, choices, ...extra })}\n\n`,
        );
      event([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
      for (const piece of content.match(/[\s\S]{1,7}/g) ?? []) {
        event([{ index: 0, delta: { content: piece }, finish_reason: null }]);
      }
      calls.forEach((c, i) => {
        event([
          {
            index: 0,
            delta: {
              tool_calls: [
                { index: i, id: c.id, type: 'function', function: { name: c.name, arguments: '' } },
              ],
            },
            finish_reason: null,
          },
        ]);
        for (const piece of c.args.match(/[\s\S]{1,9}/g) ?? []) {
          event([
            {
              index: 0,
              delta: { tool_calls: [{ index: i, function: { arguments: piece } }] },
              finish_reason: null,
            },
          ]);
        }
      });
      event([{ index: 0, delta: {}, finish_reason: calls.length ? 'tool_calls' : 'stop' }]);
      if (request.stream_options?.include_usage) {
        event([], { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
      }
      res.write('data: [DONE]\n\n');
      res.end();
    })().catch((e: unknown) => error(res, 500, String(e), 'InternalServerError'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
