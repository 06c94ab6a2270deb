import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import fetch, { Headers } from 'node-fetch';
import type { KubeIdentity } from './impersonation.js';

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

  constructor(
    private readonly config: KubeConfig,
    private readonly identity?: KubeIdentity,
  ) {}

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
      if (/^impersonate-/i.test(k)) continue;
      for (const one of Array.isArray(v) ? v : [v]) headers.append(k, String(one));
    }
    if (opts.auth) headers.set('Authorization', `Basic ${Buffer.from(opts.auth).toString('base64')}`);
    if (this.identity) {
      headers.set('Impersonate-User', this.identity.user);
      for (const g of this.identity.groups) headers.append('Impersonate-Group', g);
    }
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
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The response body as text; failures are ApiExceptions like the generated client's. */
  private async fetchText(method: string, path: string, opts: RawRequest = {}): Promise<string> {
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
    const resp = await fetch(url, {
      method,
      headers,
      agent,
      ...(body !== undefined ? { body } : {}),
      ...(opts.signal ? { signal: opts.signal as never } : {}),
    });
    const text = await resp.text();
    if (!resp.ok) {
      const out: Record<string, string> = {};
      resp.headers.forEach((value, name) => {
        out[name] = value;
      });
      throw new ApiException(resp.status, resp.statusText, text, out);
    }
    return text;
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
        const page = JSON.parse(text) as {
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

/** The list's continue token, read from the metadata that precedes the items; undefined if none. */
function peekContinue(text: string): string | undefined {
  const itemsAt = Math.max(text.indexOf('"items"'), text.indexOf('"columnDefinitions"'));
  const head = itemsAt === -1 ? text.slice(0, 4096) : text.slice(0, itemsAt);
  const m = /"continue":"([^"\\]+)"/.exec(head);
  return m?.[1];
}
