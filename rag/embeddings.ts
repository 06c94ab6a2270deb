/** Ollama's `/api/embed`, batched, with errors that say what to do. */

export type EmbeddingErrorCode = 'unreachable' | 'model_missing' | 'timeout' | 'bad_response';

export class EmbeddingError extends Error {
  constructor(
    readonly code: EmbeddingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EmbeddingError';
  }
}

/** What ingestion and retrieval need from an embedding model. Vectors come back L2-normalised. */
export interface Embedder {
  readonly model: string;
  /** Where the model is served, for messages. */
  readonly url: string;
  embedDocuments(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
  embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array>;
  /** Embeds a short text to learn whether the model answers and its dimension. */
  probe(signal?: AbortSignal): Promise<number>;
}

export interface OllamaEmbedderOptions {
  url: string;
  model: string;
  /** Texts per /api/embed request. */
  batchSize?: number;
  timeoutMs?: number;
  /** For one search query, which a person is waiting on (default: 10 s, or timeoutMs if shorter). */
  queryTimeoutMs?: number;
  /** Largest /api/embed answer read (default 64 MiB); a larger one is an error, not a full memory. */
  maxResponseBytes?: number;
  fetch?: typeof fetch;
}

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The body as text, or undefined when it is longer than `maxBytes` (the rest is never read). */
async function readCapped(response: Response, maxBytes: number): Promise<string | undefined> {
  if (!response.body) return '';
  if (Number(response.headers.get('content-length')) > maxBytes) {
    await response.body.cancel().catch(() => undefined);
    return undefined;
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the stream.
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) return undefined;
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Task prefixes some embedding models are trained with; without them retrieval quality drops.
 * Matched on the model name without its tag.
 */
const TASK_PREFIXES: Record<string, { query: string; document: string }> = {
  'nomic-embed-text': { query: 'search_query: ', document: 'search_document: ' },
  'mxbai-embed-large': { query: 'Represent this sentence for searching relevant passages: ', document: '' },
  'snowflake-arctic-embed': {
    query: 'Represent this sentence for searching relevant passages: ',
    document: '',
  },
};

function prefixesFor(model: string) {
  const name = model.split(':')[0]!.split('/').at(-1)!;
  return TASK_PREFIXES[name] ?? { query: '', document: '' };
}

function normalised(values: number[]): Float32Array {
  const v = Float32Array.from(values);
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

export class OllamaEmbedder implements Embedder {
  readonly model: string;
  readonly url: string;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly queryTimeoutMs: number;
  private readonly maxBytes: number;
  private readonly fetch: typeof fetch;
  private readonly prefixes: { query: string; document: string };

  constructor(options: OllamaEmbedderOptions) {
    this.model = options.model;
    this.url = options.url.replace(/\/+$/, '');
    this.batchSize = Math.max(1, options.batchSize ?? 32);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.queryTimeoutMs = options.queryTimeoutMs ?? Math.min(this.timeoutMs, 10_000);
    this.maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.fetch = options.fetch ?? fetch;
    this.prefixes = prefixesFor(options.model);
  }

  async embedDocuments(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      const batch = texts.slice(i, i + this.batchSize).map((t) => this.prefixes.document + t);
      out.push(...(await this.request(batch, signal)));
    }
    return out;
  }

  async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    return (await this.request([this.prefixes.query + text], signal, this.queryTimeoutMs))[0]!;
  }

  async probe(signal?: AbortSignal): Promise<number> {
    return (await this.request(['kubernetes runbook'], signal))[0]!.length;
  }

  private async request(
    input: string[],
    signal?: AbortSignal,
    timeoutMs = this.timeoutMs,
  ): Promise<Float32Array[]> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const where = `${this.url}/api/embed`;
    let response: Response;
    let body: unknown;
    try {
      response = await this.fetch(where, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: this.model, input, truncate: true }),
        signal: s,
      });
      const text = await readCapped(response, this.maxBytes);
      if (text === undefined) {
        throw new EmbeddingError(
          'bad_response',
          `embedding server ${this.url} answered with more than ${this.maxBytes / (1024 * 1024)} MiB for ${input.length} texts (model ${this.model}); lower runbooks.embedding.batchSize or raise runbooks.embedding.maxResponseMiB`,
        );
      }
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        body = { error: text.slice(0, 200) };
      }
    } catch (e) {
      if (e instanceof EmbeddingError) throw e;
      if (timeout.aborted) {
        throw new EmbeddingError(
          'timeout',
          `embedding server ${this.url} did not answer within ${timeoutMs / 1000} s (model ${this.model})`,
          { cause: e },
        );
      }
      if (signal?.aborted) throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new EmbeddingError(
        'unreachable',
        `embedding server ${this.url} is unreachable (${cause?.code === 'ECONNREFUSED' || !cause?.message ? (cause?.code ?? (e as Error).message) : cause.message})`,
        { cause: e },
      );
    }
    const error = (body as { error?: unknown }).error;
    if (!response.ok) {
      const detail = typeof error === 'string' ? error : `HTTP ${response.status}`;
      if (response.status === 404 && /not found|pull/i.test(detail)) {
        throw new EmbeddingError(
          'model_missing',
          `embedding model ${this.model} not found on ${this.url}; pull it with \`ollama pull ${this.model}\``,
        );
      }
      throw new EmbeddingError('bad_response', `embedding server ${this.url} refused the request: ${detail}`);
    }
    const embeddings = (body as { embeddings?: unknown }).embeddings;
    if (
      !Array.isArray(embeddings) ||
      embeddings.length !== input.length ||
      !embeddings.every((e) => Array.isArray(e) && e.length > 0 && e.every((x) => typeof x === 'number'))
    ) {
      throw new EmbeddingError(
        'bad_response',
        `embedding server ${this.url} answered without ${input.length} embeddings for model ${this.model}`,
      );
    }
    const vectors = (embeddings as number[][]).map(normalised);
    const dimension = vectors[0]!.length;
    if (vectors.some((v) => v.length !== dimension)) {
      throw new EmbeddingError(
        'bad_response',
        `embedding model ${this.model} returned vectors of different sizes`,
      );
    }
    return vectors;
  }
}
