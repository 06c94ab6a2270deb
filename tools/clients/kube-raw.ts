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
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Reads a whole list, page by page (limit/continue), so the server never builds one huge response. */
  async list<T>(
    path: string,
    query: Record<string, string | number | undefined>,
    pageSize = 500,
  ): Promise<T[]> {
    const items: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.get<{ items: T[] | null; metadata?: { continue?: string } }>(path, {
        ...query,
        limit: pageSize,
        continue: cont,
      });
      for (const item of page.items ?? []) items.push(item);
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return items;
  }

  close(): void {
    this.agent?.destroy();
  }
}
