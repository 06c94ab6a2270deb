import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createGunzip, createInflate } from 'node:zlib';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { Headers } from 'node-fetch';
import { ToolError } from '../core/errors.js';
import { IMPERSONATE_HEADER, type KubeIdentity, setImpersonation } from './impersonation.js';

/** Options for one request; a body that is not a string is sent as JSON. */
export interface RawRequest {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Defaults to application/json when there is a body. */
  contentType?: string;
  /** Defaults to application/json; server-side tables use `application/json;as=Table;v=v1;g=meta.k8s.io`. */
  accept?: string;
  signal?: AbortSignal;
}

/**
 * Talks to the API server in plain JSON over a keep-alive connection. The generated client opens
 * a new TLS connection for every request and converts every field into model objects; for lists
 * of thousands of objects that costs more than the request itself. Fields keep their JSON form
 * (timestamps are strings). Failures are ApiExceptions, like the generated client's.
 */
export class KubeReader {
  private agent: HttpsAgent | HttpAgent | undefined;

  private readonly maxBytes: number;

  constructor(
    private readonly config: KubeConfig,
    private readonly identity?: KubeIdentity,
    limits: { maxResponseBytes?: number } = {},
  ) {
    this.maxBytes = limits.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  private async prepare(): Promise<{ headers: Headers; agent: HttpsAgent | HttpAgent; server: string }> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    // Credentials are applied per request so that refreshed tokens (exec plugins, OIDC) are used.
    const opts: {
      headers?: Record<string, string | string[]>;
      auth?: string;
      ca?: Buffer;
      cert?: Buffer;
      key?: Buffer;
      rejectUnauthorized?: boolean;
      servername?: string;
    } = {};
    await this.config.applyToHTTPSOptions(opts as never);
    if (!this.agent) {
      this.agent = cluster.server.startsWith('http:')
        ? new HttpAgent({ keepAlive: true, maxSockets: 16 })
        : new HttpsAgent({
            keepAlive: true,
            maxSockets: 16,
            ...(opts.ca ? { ca: opts.ca } : {}),
            ...(opts.cert ? { cert: opts.cert } : {}),
            ...(opts.key ? { key: opts.key } : {}),
            ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
            ...(opts.servername ? { servername: opts.servername } : {}),
          });
    }
    const headers = new Headers({ Accept: 'application/json' });
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (IMPERSONATE_HEADER.test(k)) continue;
      for (const one of Array.isArray(v) ? v : [v]) headers.append(k, String(one));
    }
    if (opts.auth) headers.set('Authorization', `Basic ${Buffer.from(opts.auth).toString('base64')}`);
    if (this.identity) setImpersonation(headers, this.identity);
    return { headers, agent: this.agent, server: cluster.server.replace(/\/+$/, '') };
  }

  /** GET a path with query parameters; resolves to the parsed JSON body. */
  async get<T>(
    path: string,
    query: Record<string, string | number | undefined> = {},
    signal?: AbortSignal,
  ): Promise<T> {
    return this.request<T>('GET', path, { query, ...(signal ? { signal } : {}) });
  }

  /**
   * Any request (writes included) with the same credentials, connection and impersonation as the
   * reads. Resolves to the parsed JSON body (undefined when empty); failures are ApiExceptions.
   */
  async request<T>(method: string, path: string, opts: RawRequest = {}): Promise<T> {
    const text = await this.fetchText(method, path, opts);
    return (text ? parseReply(text, method, path) : undefined) as T;
  }

  /** The response body as text; failures are ApiExceptions like the generated client's. */
  private async fetchText(method: string, path: string, opts: RawRequest = {}): Promise<string> {
    return (await this.fetchBody(method, path, opts)).toString('utf8');
  }

  /** The response body as bytes; failures are ApiExceptions (carrying the body as text). */
  private async fetchBody(method: string, path: string, opts: RawRequest = {}): Promise<Buffer> {
    assertApiPath(path);
    const { headers, agent, server } = await this.prepare();
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined && v !== '') qs.set(k, String(v));
    const url = `${server}${path}${qs.size ? `?${qs}` : ''}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers.set('Content-Type', opts.contentType ?? 'application/json');
    }
    if (opts.accept) headers.set('Accept', opts.accept);
    const idempotent = method === 'GET' || method === 'HEAD';
    let resp: RawResponse;
    for (let attempt = 0; ; attempt++) {
      try {
        resp = await send(url, method, headers, agent, body, opts.signal, this.maxBytes);
        break;
      } catch (e) {
        // A keep-alive connection that the server (or a proxy) closed under a request. Reads are
        // safe to send again; writes are not.
        if (!idempotent || attempt >= TRANSIENT_RETRIES || opts.signal?.aborted || !isTransient(e)) throw e;
      }
    }
    if (resp.status < 200 || resp.status >= 300) {
      throw new ApiException(resp.status, resp.statusText, resp.body.toString('utf8'), resp.headers);
    }
    return resp.body;
  }

  /** GET a plain-text endpoint (/readyz, /livez); failures are ApiExceptions carrying the body. */
  async getText(
    path: string,
    query: Record<string, string | undefined> = {},
    signal?: AbortSignal,
  ): Promise<string> {
    return this.fetchText('GET', path, { query, accept: 'text/plain', ...(signal ? { signal } : {}) });
  }

  /**
   * Reads a list page by page (limit/continue) and hands each page to `onPage`, keeping none: a
   * 30,000-pod cluster is summarised with about one page in memory. The next page is requested
   * before the current one is parsed (the continue token comes before the items in the body), so
   * the API server encodes while Kubemate parses.
   */
  async pages<T>(
    path: string,
    query: Record<string, string | number | undefined>,
    onPage: (items: T[]) => void,
    pageSize = 500,
    signal?: AbortSignal,
    accept?: string,
    /** Sees each whole page first, for fields that sit beside the items (a table's columns). */
    onEnvelope?: (page: never) => void,
  ): Promise<void> {
    const fetchPage = (cont?: string) =>
      this.fetchText('GET', path, {
        query: { ...query, limit: pageSize, continue: cont },
        ...(signal ? { signal } : {}),
        ...(accept ? { accept } : {}),
      });
    let pending: Promise<string> | undefined = fetchPage();
    while (pending) {
      const text: string = await pending;
      const peeked = peekContinue(text);
      pending = peeked ? fetchPage(peeked) : undefined;
      try {
        const page = parseReply(text, 'GET', path) as {
          items?: T[] | null;
          rows?: T[] | null;
          metadata?: { continue?: string };
        };
        const cont = page.metadata?.continue || undefined;
        if (cont !== peeked) {
          pending?.catch(() => undefined);
          pending = cont ? fetchPage(cont) : undefined;
        }
        onEnvelope?.(page as never);
        onPage(page.items ?? page.rows ?? []);
      } catch (e) {
        // The prefetched page is no longer wanted; keep its failure from surfacing unhandled.
        pending?.catch(() => undefined);
        throw e;
      }
    }
  }

  /**
   * Every item of a list of objects, in order, page by page like `pages`, for the largest lists (all
   * pods of a cluster). A page is never held as one string nor parsed as one tree: its body stays
   * bytes and each item is parsed on its own, then handed to `onItem`. A page of 500 pods is 2-3 MB
   * of JSON; as one string it sits in V8's large-object space until a full collection, and parsed
   * whole it outlives the young generation.
   */
  async items<T>(
    path: string,
    query: Record<string, string | number | undefined>,
    onItem: (item: T) => void,
    pageSize = 500,
    signal?: AbortSignal,
  ): Promise<void> {
    const fetchPage = (cont?: string) =>
      this.fetchBody('GET', path, {
        query: { ...query, limit: pageSize, continue: cont },
        ...(signal ? { signal } : {}),
      });
    let pending: Promise<Buffer> | undefined = fetchPage();
    while (pending) {
      const body: Buffer = await pending;
      const itemsAt = body.indexOf('"items"');
      const peeked = peekContinue(body.toString('utf8', 0, itemsAt === -1 ? 4096 : itemsAt));
      pending = peeked ? fetchPage(peeked) : undefined;
      try {
        const envelope = eachListItem(body, (start, end) => {
          onItem(parseReply(body.toString('utf8', start, end), 'GET', path) as T);
        });
        const page = parseReply(envelope, 'GET', path) as { metadata?: { continue?: string } } | null;
        const cont = page?.metadata?.continue || undefined;
        if (cont !== peeked) {
          pending?.catch(() => undefined);
          pending = cont ? fetchPage(cont) : undefined;
        }
      } catch (e) {
        // The prefetched page is no longer wanted; keep its failure from surfacing unhandled.
        pending?.catch(() => undefined);
        if (e instanceof ListShapeError) throw new MalformedReplyError('GET', path, body.length);
        throw e;
      }
    }
  }

  /** Reads a whole list into memory; prefer `pages` for lists that can be large. */
  async list<T>(
    path: string,
    query: Record<string, string | number | undefined>,
    pageSize = 500,
  ): Promise<T[]> {
    const items: T[] = [];
    await this.pages<T>(
      path,
      query,
      (page) => {
        for (const item of page) items.push(item);
      },
      pageSize,
    );
    return items;
  }

  close(): void {
    this.agent?.destroy();
  }
}

/**
 * A reply that is not the JSON a Kubernetes API server sends (a proxy's login page, a cut body).
 * Its text is not quoted: it came from whatever answered, and messages reach people and models.
 */
export class MalformedReplyError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    length: number,
  ) {
    super(`the reply to ${method} ${path} is not JSON (${length} characters that do not parse)`);
    this.name = 'MalformedReplyError';
  }
}

function parseReply(text: string, method: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new MalformedReplyError(method, path, text.length);
  }
}

interface RawResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * One request over node's own HTTP client. Not node-fetch 2: over keep-alive sockets it reports
 * some complete chunked responses as "Premature close" when their socket has already been handed
 * to the next request (node-fetch#1767), which under 20+ concurrent reads failed about 2% of them.
 * A response is complete here when node's parser saw its end; a socket that closes before that is
 * a premature close, and reads are retried.
 */
function send(
  url: string,
  method: string,
  headers: Headers,
  agent: HttpAgent | HttpsAgent,
  body: string | undefined,
  signal: AbortSignal | undefined,
  maxBytes: number,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const out: Record<string, string[]> = { ...headers.raw(), 'Accept-Encoding': ['gzip, deflate'] };
    if (body !== undefined) out['Content-Length'] = [String(Buffer.byteLength(body))];
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(
      url,
      { method, headers: out, agent, ...(signal ? { signal } : {}) },
      (res) => {
        const encoding = res.headers['content-encoding'];
        const stream =
          encoding === 'gzip'
            ? res.pipe(createGunzip())
            : encoding === 'deflate'
              ? res.pipe(createInflate())
              : res;
        const chunks: Buffer[] = [];
        // Counted after decompression, so a small gzip bomb is stopped as early as a large answer.
        let size = 0;
        const tooLarge = () => {
          reject(
            new ToolError(
              'backend_error',
              `the API server's answer to ${method} ${new URL(url).pathname} exceeded ${maxBytes / (1024 * 1024)} MiB; narrow the request (a namespace, a label or field selector), or raise kubernetes.maxResponseMiB`,
            ),
          );
          req.destroy();
          // Stop the decompressor too: a bomb's input may already be buffered in full.
          if (stream !== res) stream.destroy();
        };
        if (Number(res.headers['content-length']) > maxBytes) return tooLarge();
        stream.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) return tooLarge();
          chunks.push(c);
        });
        stream.on('error', reject);
        stream.on('end', () => {
          const flat: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: flat,
            body: Buffer.concat(chunks),
          });
        });
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) {
            reject(
              Object.assign(new Error(`Premature close of the response to ${method} ${url}`), {
                code: 'ERR_STREAM_PREMATURE_CLOSE',
              }),
            );
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

class ListShapeError extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Finds the objects of a list's top-level `items` array in its JSON bytes without parsing them,
 * calling `onItem` with each one's byte range, and returns the rest of the list (kind, metadata)
 * as text, its items array left empty. Slicing bytes at JSON's structural characters is safe in
 * UTF-8: no byte of a multi-byte character is ASCII. Throws ListShapeError on unbalanced input.
 */
export function eachListItem(body: Buffer, onItem: (start: number, end: number) => void): string {
  let depth = 0;
  let lastKey = '';
  let itemsOpen = -1;
  let itemsClose = -1;
  let itemStart = -1;
  const n = body.length;
  for (let i = 0; i < n; i++) {
    const c = body[i];
    if (c === QUOTE) {
      // Jump to the closing quote: the next one not preceded by an odd number of backslashes.
      let end = i;
      for (;;) {
        end = body.indexOf(QUOTE, end + 1);
        if (end === -1) throw new ListShapeError();
        let slashes = 0;
        while (body[end - 1 - slashes] === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
      }
      if (depth === 1) lastKey = body.toString('latin1', i + 1, end);
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (depth === 1 && c === 0x5b && lastKey === 'items' && itemsOpen === -1) itemsOpen = i;
      else if (depth === 2 && c === 0x7b && itemsOpen !== -1 && itemsClose === -1) itemStart = i;
      depth++;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth < 0) throw new ListShapeError();
      if (depth === 2 && c === 0x7d && itemStart !== -1) {
        onItem(itemStart, i + 1);
        itemStart = -1;
      } else if (depth === 1 && c === 0x5d && itemsOpen !== -1 && itemsClose === -1) itemsClose = i;
    }
  }
  if (depth !== 0) throw new ListShapeError();
  if (itemsOpen === -1 || itemsClose === -1) return body.toString('utf8');
  return body.toString('utf8', 0, itemsOpen + 1) + body.toString('utf8', itemsClose);
}

/**
 * The last wall before a request: a path whose segments would be normalised away (`.`, `..`, or
 * their percent-encoded forms) or that carries a query or fragment of its own never leaves, so no
 * unchecked name can make a request address another object than the one it names.
 */
export function assertApiPath(path: string): void {
  const refuse = (why: string): never => {
    throw new ToolError(
      'invalid_arguments',
      `refusing to send a request for ${JSON.stringify(path)}: ${why}`,
    );
  };
  if (!path.startsWith('/')) refuse('it is not an absolute API path');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[?#\\\u0000-\u001f\u007f]/.test(path)) refuse('it contains ?, #, \\ or control characters');
  for (const segment of path.slice(1).split('/')) {
    let decoded = '';
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      refuse('it has a malformed percent-encoding');
    }
    if (segment === '' && path !== '/') refuse('it has an empty segment');
    if (decoded === '.' || decoded === '..') refuse(`it has a '${decoded}' segment`);
    if (decoded.includes('/') || decoded.includes('\\')) refuse('a segment encodes a slash');
  }
}

/** Largest answer read by default; lists are read in pages of 500, far below it. */
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Times an idempotent request is sent again after a dropped connection. */
const TRANSIENT_RETRIES = 2;
const TRANSIENT_CODES = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** A connection dropped mid-request or mid-response (not a refused connection or an abort). */
export function isTransient(e: unknown): boolean {
  const err = e as { name?: string; code?: string; errno?: string; message?: string } | undefined;
  if (!err || err.name === 'AbortError') return false;
  if (TRANSIENT_CODES.has(err.code ?? '') || TRANSIENT_CODES.has(err.errno ?? '')) return true;
  return /premature close|socket hang up|ECONNRESET/i.test(err.message ?? '');
}

/** The list's continue token, read from the metadata that precedes the items; undefined if none. */
function peekContinue(text: string): string | undefined {
  const itemsAt = Math.max(text.indexOf('"items"'), text.indexOf('"columnDefinitions"'));
  const head = itemsAt === -1 ? text.slice(0, 4096) : text.slice(0, itemsAt);
  const m = /"continue":"([^"\\]+)"/.exec(head);
  return m?.[1];
}
