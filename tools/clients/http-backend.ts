import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { ToolError } from '../core/errors.js';

/** One observability backend instance (a Prometheus, an Alertmanager, a Jaeger query service, a Loki). */
export interface HttpBackendOptions {
  name: string;
  url: string;
  /**
   * The cluster this instance watches (without it: the default cluster). Tools pick the instance by
   * cluster or name, and the policy decides on this cluster, whichever way it was named.
   */
  cluster?: string;
  bearerToken?: string;
  bearerTokenFile?: string;
  basicAuth?: { username: string; password?: string; passwordFile?: string };
  tls?: { caFile?: string; certFile?: string; keyFile?: string; insecureSkipVerify?: boolean };
  /** Multi-tenant backends (Loki, Cortex, Mimir): sent as X-Scope-OrgID. */
  tenant?: string;
  headers?: Record<string, string>;
  timeoutSeconds: number;
  /** Extra attempts after a connection failure, a 5xx or a 429, all within the timeout. */
  retries: number;
  /** Largest answer read, in MiB (default 32): a larger one fails instead of filling memory. */
  maxResponseMiB?: number;
}

const DEFAULT_MAX_RESPONSE_MIB = 32;

export type BackendKind = 'Prometheus' | 'Alertmanager' | 'Jaeger' | 'Loki';

export interface BackendResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  query?: Record<string, string | number | boolean | string[] | undefined>;
  /** A JSON body; a URLSearchParams body is sent as a form. */
  body?: unknown;
  signal?: AbortSignal;
}

/** The backend's own words for a failure, from the common error body shapes. */
function backendMessage(body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    for (const key of ['error', 'message', 'errors']) {
      const v = json[key];
      if (typeof v === 'string' && v) return v;
      if (Array.isArray(v) && v.length)
        return v.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ');
      if (v && typeof v === 'object' && typeof (v as { msg?: unknown }).msg === 'string')
        return (v as { msg: string }).msg;
    }
  } catch {
    // not JSON: plain text is the message
  }
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export class HttpBackend {
  readonly name: string;
  readonly url: URL;
  readonly cluster: string | undefined;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(
    readonly kind: BackendKind,
    private readonly options: HttpBackendOptions,
  ) {
    this.name = options.name;
    this.url = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.cluster = options.cluster;
    this.timeoutMs = options.timeoutSeconds * 1000;
    this.maxBytes = (options.maxResponseMiB ?? DEFAULT_MAX_RESPONSE_MIB) * 1024 * 1024;
    const tls = options.tls;
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ...(tls?.caFile ? { ca: readFileSync(tls.caFile) } : {}),
            ...(tls?.certFile ? { cert: readFileSync(tls.certFile) } : {}),
            ...(tls?.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
            rejectUnauthorized: !tls?.insecureSkipVerify,
          })
        : new http.Agent({ keepAlive: true });
  }

  /** "Prometheus 'main' at http://prom:9090" — every error names the backend it is about. */
  get label(): string {
    return `${this.kind} '${this.name}' at ${this.url.origin}${this.url.pathname === '/' ? '' : this.url.pathname.replace(/\/$/, '')}`;
  }

  private authHeaders(): Record<string, string> {
    const o = this.options;
    const headers: Record<string, string> = { ...o.headers };
    const bearer =
      o.bearerToken ?? (o.bearerTokenFile ? readFileSync(o.bearerTokenFile, 'utf8').trim() : undefined);
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    else if (o.basicAuth) {
      const password =
        o.basicAuth.password ??
        (o.basicAuth.passwordFile ? readFileSync(o.basicAuth.passwordFile, 'utf8').trim() : '');
      headers.authorization = `Basic ${Buffer.from(`${o.basicAuth.username}:${password}`).toString('base64')}`;
    }
    if (o.tenant) headers['x-scope-orgid'] = o.tenant;
    return headers;
  }

  private target(path: string, query: RequestOptions['query']): URL {
    const u = new URL(path.replace(/^\//, ''), this.url);
    // A second wall behind the tools' argument schemas: no path leaves the instance's own prefix
    // (`..` segments, encoded or not, or a second leading slash would).
    if (u.origin !== this.url.origin || !u.pathname.startsWith(this.url.pathname) || /%2e|%2f/i.test(path)) {
      throw new ToolError(
        'invalid_arguments',
        `refusing to call ${this.label} at a path outside it: ${JSON.stringify(path)}`,
      );
    }
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) u.searchParams.append(k, item);
      else u.searchParams.set(k, String(v));
    }
    return u;
  }

  private once(url: URL, opts: RequestOptions, signal: AbortSignal): Promise<BackendResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.authHeaders() };
    let payload: Buffer | undefined;
    if (opts.body instanceof URLSearchParams) {
      payload = Buffer.from(opts.body.toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['content-type'] = 'application/json';
    }
    if (payload) headers['content-length'] = String(payload.length);
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        url,
        { method: opts.method ?? 'GET', headers, agent: this.agent, signal },
        (res) => {
          const parts: Buffer[] = [];
          let size = 0;
          const tooLarge = () => {
            reject(this.tooLarge());
            req.destroy();
          };
          if (Number(res.headers['content-length']) > this.maxBytes) return tooLarge();
          res.on('data', (d: Buffer) => {
            size += d.length;
            if (size > this.maxBytes) return tooLarge();
            parts.push(d);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Answers past the cap are refused whole: half an answer would be summarised as if it were all. */
  private tooLarge(): ToolError {
    const mib = this.maxBytes / (1024 * 1024);
    return new ToolError(
      'backend_error',
      `${this.label}: the response exceeded ${mib} MiB; narrow the query (a shorter range, a coarser step, fewer series or labels), or raise maxResponseMiB for this instance`,
    );
  }

  /**
   * One call with retries inside one deadline: a backend that is down or slow fails with an error
   * naming it within `timeoutSeconds`, never a hang. 4xx answers are not retried.
   */
  async request(path: string, opts: RequestOptions = {}): Promise<BackendResponse> {
    const url = this.target(path, opts.query);
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
    const idempotent = (opts.method ?? 'GET') === 'GET';
    let lastError = '';
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      if (attempt > 0) await sleep(Math.min(200 * 2 ** (attempt - 1), 2000), signal);
      if (signal.aborted) break;
      try {
        const res = await this.once(url, opts, signal);
        if ((res.status >= 500 || res.status === 429) && idempotent && attempt < this.options.retries) {
          lastError = `HTTP ${res.status}: ${backendMessage(res.body)}`;
          continue;
        }
        return res;
      } catch (e) {
        // Too large is an answer, not a failure: asking again would read it again.
        if (e instanceof ToolError) throw e;
        if (signal.aborted) break;
        lastError = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        if (!idempotent && attempt === 0 && (e as NodeJS.ErrnoException).code !== 'ECONNREFUSED') break;
      }
    }
    if (opts.signal?.aborted) throw new ToolError('timeout', `call to ${this.label} was cancelled`);
    if (deadline.aborted) {
      throw new ToolError(
        'timeout',
        `${this.label} did not answer within ${this.options.timeoutSeconds} s${lastError ? ` (last error: ${lastError})` : ''}; check that it is up, or raise its timeoutSeconds`,
      );
    }
    throw new ToolError(
      'backend_unavailable',
      `${this.label} is unreachable: ${lastError}${this.options.retries ? ` (after ${this.options.retries + 1} attempts)` : ''}; check the URL and that the service is up`,
    );
  }

  /** A JSON answer, or a ToolError carrying the backend's own message for non-2xx. */
  async json<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(path, opts);
    if (res.status < 200 || res.status >= 300) throw this.httpError(res, path);
    if (res.body.length === 0) return undefined as T;
    try {
      return JSON.parse(res.body.toString('utf8')) as T;
    } catch {
      throw new ToolError('backend_error', `${this.label} answered ${path} with something that is not JSON`);
    }
  }

  httpError(res: BackendResponse, path: string): ToolError {
    const message = backendMessage(res.body) || `HTTP ${res.status}`;
    if (res.status === 401 || res.status === 403) {
      return new ToolError(
        'unauthorized',
        `${this.label} refused the credentials (HTTP ${res.status}): ${message}`,
      );
    }
    if (res.status === 404) return new ToolError('not_found', `${this.label}: ${path} not found: ${message}`);
    return new ToolError('backend_error', `${this.label} (HTTP ${res.status}): ${message}`);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Every configured instance of one kind of backend; tools choose one by cluster or name. */
export class BackendSet {
  private readonly instances: HttpBackend[];

  constructor(
    readonly kind: BackendKind,
    options: HttpBackendOptions[],
    /** The cluster tools default to, so the instance for it is the default. */
    private readonly defaultCluster?: () => string | undefined,
  ) {
    this.instances = options.map((o) => new HttpBackend(kind, o));
  }

  get names(): string[] {
    return this.instances.map((i) => i.name);
  }

  get configured(): boolean {
    return this.instances.length > 0;
  }

  /** The cluster an instance watches: its own `cluster`, else the default cluster. */
  private clusterOf(i: HttpBackend, dflt: string | undefined): string | undefined {
    return i.cluster ?? dflt;
  }

  private known(): string {
    return this.instances
      .map((i) => (i.cluster ? `${i.name} (cluster ${i.cluster})` : `${i.name} (default cluster)`))
      .join(', ');
  }

  /**
   * The instance a call reaches and the cluster it watches, which is what the policy decides on.
   * `which` names a cluster or an instance; with nothing asked, the instance for the default
   * cluster. An instance without `cluster` watches the default cluster. There is no fallback to
   * another cluster's instance: a call that names no instance of a cluster fails here, before any
   * request, with what is configured.
   */
  resolve(which?: string): { instance: HttpBackend; cluster: string | undefined } {
    const key = this.kind.toLowerCase();
    if (this.instances.length === 0) {
      throw new ToolError(
        'backend_unavailable',
        `no ${this.kind} is configured; add it under observability.${key} in the Kubemate config (url, and optionally cluster, auth, tenant, timeoutSeconds)`,
      );
    }
    const dflt = this.defaultCluster?.();
    if (which) {
      const hit =
        this.instances.find((i) => this.clusterOf(i, dflt) === which) ??
        this.instances.find((i) => i.name === which);
      if (!hit) {
        throw new ToolError(
          'unknown_cluster',
          `no ${this.kind} is configured for '${which}'; configured: ${this.known()}`,
        );
      }
      return { instance: hit, cluster: this.clusterOf(hit, dflt) };
    }
    const hit = this.instances.find((i) => this.clusterOf(i, dflt) === dflt);
    if (!hit) {
      throw new ToolError(
        'unknown_cluster',
        dflt
          ? `no ${this.kind} is configured for the default cluster '${dflt}'; name a cluster or instance with the cluster argument (configured: ${this.known()}), or set cluster: ${dflt} on an instance under observability.${key}`
          : `no default cluster is known, so no ${this.kind} is chosen by default; name a cluster or instance with the cluster argument (configured: ${this.known()})`,
      );
    }
    return { instance: hit, cluster: this.clusterOf(hit, dflt) };
  }

  /** The instance for a cluster (or named so); see `resolve`. */
  pick(which?: string): HttpBackend {
    return this.resolve(which).instance;
  }

  close(): void {
    for (const i of this.instances) i.close();
  }
}
