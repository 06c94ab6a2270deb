import { LlmError } from './types.js';

/** The caller's signal plus the configured timeout; says which one fired. */
export function callSignal(timeoutMs: number, caller?: AbortSignal) {
  const timeout = AbortSignal.timeout(timeoutMs);
  return { signal: caller ? AbortSignal.any([caller, timeout]) : timeout, timeout };
}

/** Turns a failed fetch into an LlmError a person can act on. */
export function fetchFailure(
  e: unknown,
  what: string,
  url: string,
  timeoutMs: number,
  timeout: AbortSignal,
  hint: string,
): LlmError {
  if (timeout.aborted) {
    return new LlmError(
      'timeout',
      `${what} at ${url} did not answer within ${timeoutMs < 10_000 ? (timeoutMs / 1000).toFixed(1) : Math.round(timeoutMs / 1000)} s; raise llm.timeoutSeconds or use a smaller model`,
      { cause: e },
    );
  }
  if ((e as Error)?.name === 'AbortError' || (e as Error)?.name === 'TimeoutError') {
    return new LlmError('cancelled', `the call to ${what} was cancelled`, { cause: e });
  }
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e);
  return new LlmError('unreachable', `cannot reach ${what} at ${url} (${detail}); ${hint}`, { cause: e });
}

/** POSTs JSON; network failures become LlmError. The caller checks the status. */
export async function postJson(
  url: string,
  body: unknown,
  opts: { headers?: Record<string, string>; signal: AbortSignal },
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify(body),
    signal: opts.signal,
  });
}

/** Largest model answer read by default (a whole streamed reply, or one JSON body). */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Error bodies are only ever shown cut short: this much is plenty. */
const ERROR_BODY_BYTES = 64 * 1024;

function tooLarge(url: string, maxBytes: number): LlmError {
  return new LlmError(
    'bad_response',
    `the model server at ${url} sent more than ${Math.round((maxBytes / (1024 * 1024)) * 100) / 100} MiB in one answer; Kubemate stopped reading (raise llm.maxResponseMiB if the server is right)`,
  );
}

/**
 * A body read up to `maxBytes`; past that, the read stops and a LlmError says so (or, with
 * `truncate`, what was read so far is returned: error bodies are only ever shown cut short).
 */
export async function readCapped(
  res: Response,
  url: string,
  maxBytes: number,
  truncate = false,
): Promise<string> {
  if (!res.body) return '';
  if (!truncate && Number(res.headers.get('content-length')) > maxBytes) {
    await res.body.cancel().catch(() => undefined);
    throw tooLarge(url, maxBytes);
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the stream, so the rest is never read.
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      if (!truncate) throw tooLarge(url, maxBytes);
      parts.push(chunk.subarray(0, chunk.byteLength - (size - maxBytes)));
      break;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** A JSON body read up to `maxBytes`. */
export async function readJson<T>(res: Response, url: string, maxBytes: number): Promise<T> {
  return JSON.parse(await readCapped(res, url, maxBytes)) as T;
}

/**
 * The lines of a streamed body, as they arrive (NDJSON and SSE are both line-based), up to
 * `maxBytes` in all: a server that never stops (or never ends a line) cannot fill memory.
 */
export async function* lines(
  body: ReadableStream<Uint8Array> | null,
  limit: { url: string; maxBytes: number } = { url: '(model server)', maxBytes: DEFAULT_MAX_RESPONSE_BYTES },
): AsyncGenerator<string> {
  if (!body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  let size = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit.maxBytes) throw tooLarge(limit.url, limit.maxBytes);
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl).replace(/\r$/, '');
      buffered = buffered.slice(nl + 1);
      yield line;
      nl = buffered.indexOf('\n');
    }
  }
  buffered += decoder.decode();
  if (buffered) yield buffered;
}

/** An error body's message, whether `{error: "…"}` (Ollama) or `{error: {message}}` (OpenAI). */
export async function errorMessage(res: Response): Promise<string> {
  const text = await readCapped(res, res.url, ERROR_BODY_BYTES, true).catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: string | { message?: string }; message?: string };
    if (typeof body.error === 'string') return body.error;
    if (body.error?.message) return body.error.message;
    if (body.message) return body.message;
  } catch {
    // not JSON: use the text as it is
  }
  return text.slice(0, 300) || `HTTP ${res.status}`;
}

/** Arguments as the model sent them: objects stay objects, JSON text is parsed, anything else kept raw. */
export function parseArguments(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw ?? {};
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** One model server as its errors name it: "the Ollama server at http://…: …; start it with …". */
export interface ModelServer {
  what: string;
  url: string;
  timeoutMs: number;
  /** What to do when it cannot be reached. */
  hint: string;
  maxBytes: number;
}

/**
 * The part of a streamed chat both providers share: POST the body, turn a connection failure or an
 * error status into an LlmError (the provider words status errors), then hand each streamed event
 * (`event(text)` picks the JSON out of a line; undefined skips it, null ends the stream) to
 * `onChunk` parsed. Any failure while reading is an LlmError too, never a bare TypeError.
 */
export async function streamChat<T>(
  server: ModelServer,
  request: {
    path: string;
    body: unknown;
    headers?: Record<string, string>;
    signal?: AbortSignal;
    statusError: (status: number, message: string) => LlmError;
    event: (line: string) => string | undefined | null;
    onChunk: (chunk: T) => void;
  },
): Promise<void> {
  const { signal, timeout } = callSignal(server.timeoutMs, request.signal);
  const fail = (e: unknown) =>
    e instanceof LlmError
      ? e
      : fetchFailure(e, server.what, server.url, server.timeoutMs, timeout, server.hint);
  let res: Response;
  try {
    res = await postJson(`${server.url}${request.path}`, request.body, {
      ...(request.headers ? { headers: request.headers } : {}),
      signal,
    });
  } catch (e) {
    throw fail(e);
  }
  if (!res.ok) throw request.statusError(res.status, await errorMessage(res));
  try {
    for await (const line of lines(res.body, { url: server.url, maxBytes: server.maxBytes })) {
      const data = request.event(line);
      if (data === null) break;
      if (data === undefined) continue;
      let chunk: T;
      try {
        chunk = JSON.parse(data) as T;
      } catch {
        throw new LlmError(
          'bad_response',
          `${server.what} at ${server.url} sent something that is not JSON: ${data.slice(0, 120)}`,
        );
      }
      request.onChunk(chunk);
    }
  } catch (e) {
    throw fail(e);
  }
}
