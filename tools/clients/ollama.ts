import { Ollama } from 'ollama';
import { ToolError } from '../core/errors.js';

/** A model Kubemate itself uses from a server, and what it needs of it (tools/shared/model-requirements.ts judges it). */
export interface ModelRequirement {
  role: 'chat' | 'embedding';
  model: string;
  /** Capabilities the model must report in /api/show: `completion`, `tools`, `embedding`. */
  needs: string[];
  /** For the embedding model: the dimension the runbook store was built with, when it knows one. */
  storeDimension?: () => number | undefined;
}

/** One Ollama server, as app/ hands it to the models toolset (app/config.ts `models.ollama`). */
export interface OllamaInstanceOptions {
  name: string;
  url: string;
  /** The cluster this server belongs to (without it: the default cluster); the policy decides on it. */
  cluster?: string;
  headers?: Record<string, string>;
  timeoutSeconds: number;
  /** Upper bound for a pull or create, which stream for minutes. */
  pullTimeoutSeconds: number;
  /** Registries model_pull may reach (`host[:port]`); empty: pulls are refused. */
  allowedRegistries: string[];
  /** Allow plain HTTP to the registries above (Ollama's `insecure`). */
  insecureRegistries: boolean;
  /** The server's models folder when Kubemate can see it (same host or a shared mount): pulls then check free disk. */
  modelsDir?: string;
  /** Where model_create may read model files from (same host as Kubemate); absent: create only derives from an existing model. */
  importDir?: string;
  /** Models model_delete refuses unless forced, with why (the agent's model, the runbook embeddings). */
  protect: Array<{ model: string; why: string }>;
  /** The models Kubemate itself uses from this server and what it needs of them (the models inspection). */
  requires?: ModelRequirement[];
}

/**
 * One spelling per model, as Ollama resolves names: case-insensitively, with the default registry
 * (registry.ollama.ai), the default namespace (library) and the default tag (latest) implied. So
 * "Llama3", "library/llama3" and "registry.ollama.ai/library/llama3:latest" are one model.
 */
export function canonicalModel(name: string): string {
  let parts = name.trim().toLowerCase().split('/');
  if (parts.length === 3 && parts[0] === 'registry.ollama.ai') parts = parts.slice(1);
  if (parts.length === 2 && parts[0] === 'library') parts = parts.slice(1);
  const joined = parts.join('/');
  return (parts.at(-1) ?? '').includes(':') ? joined : `${joined}:latest`;
}

export class OllamaInstance {
  readonly name: string;
  readonly url: URL;
  readonly cluster: string | undefined;
  readonly client: Ollama;
  readonly streamClient: Ollama;

  constructor(readonly options: OllamaInstanceOptions) {
    this.name = options.name;
    this.url = new URL(options.url);
    this.cluster = options.cluster;
    const make = (seconds: number) =>
      new Ollama({
        host: options.url.replace(/\/$/, ''),
        ...(options.headers ? { headers: options.headers } : {}),
        // Every call is bounded: a server that is down or stuck fails with a message, never hangs.
        fetch: (input: string | URL | Request, init?: RequestInit) => {
          const deadline = AbortSignal.timeout(seconds * 1000);
          const signal = init?.signal ? AbortSignal.any([deadline, init.signal]) : deadline;
          return fetch(input, { ...init, signal });
        },
      });
    this.client = make(options.timeoutSeconds);
    this.streamClient = make(options.pullTimeoutSeconds);
  }

  get label(): string {
    return `Ollama '${this.name}' at ${this.url.origin}`;
  }

  /** Why deleting this model needs force, or undefined. */
  protectedReason(model: string): string | undefined {
    const want = canonicalModel(model);
    return this.options.protect.find((p) => canonicalModel(p.model) === want)?.why;
  }

  /** Turns a client failure into a ToolError that names the server and says what to do. */
  fail(e: unknown, what: string): ToolError {
    if (e instanceof ToolError) return e;
    const err = e as Error & { status_code?: number; cause?: { code?: string } };
    const status = err.status_code;
    const message = err.message || String(e);
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      return new ToolError(
        'timeout',
        `${this.label} did not finish ${what} in time; check that it is up, or raise its timeoutSeconds`,
      );
    }
    if (status === 404)
      return new ToolError('not_found', `${this.label}: ${message}; list the models with models_list`);
    if (status === 401 || status === 403)
      return new ToolError('unauthorized', `${this.label} refused the call (HTTP ${status}): ${message}`);
    if (status !== undefined)
      return new ToolError('backend_error', `${this.label} (HTTP ${status}) failed ${what}: ${message}`);
    const code = err.cause?.code;
    // A stream's `{ error }` line is the server's own answer (a registry it could not reach, say).
    if (!(err.name === 'TypeError' && err.cause)) {
      return new ToolError('backend_error', `${this.label} failed ${what}: ${message}`);
    }
    return new ToolError(
      'backend_unavailable',
      `${this.label} is unreachable${code ? ` (${code})` : ''}: ${message}; check the URL and that ollama serve is running`,
    );
  }
}

/** Every configured Ollama server; tools choose one by cluster or name, like the observability backends. */
export class OllamaSet {
  private readonly instances: OllamaInstance[];

  constructor(
    options: OllamaInstanceOptions[],
    private readonly defaultCluster?: () => string | undefined,
  ) {
    this.instances = options.map((o) => new OllamaInstance(o));
  }

  get configured(): boolean {
    return this.instances.length > 0;
  }

  get names(): string[] {
    return this.instances.map((i) => i.name);
  }

  private known(): string {
    return this.instances
      .map((i) => (i.cluster ? `${i.name} (cluster ${i.cluster})` : `${i.name} (default cluster)`))
      .join(', ');
  }

  /** The server a call reaches and the cluster it belongs to (what the policy decides on). */
  resolve(which?: string): { instance: OllamaInstance; cluster: string | undefined } {
    if (this.instances.length === 0) {
      throw new ToolError(
        'backend_unavailable',
        'no Ollama server is configured; add one under models.ollama in the Kubemate config (name, url, and optionally cluster, allowedRegistries)',
      );
    }
    const dflt = this.defaultCluster?.();
    const clusterOf = (i: OllamaInstance) => i.cluster ?? dflt;
    if (which) {
      const hit =
        this.instances.find((i) => clusterOf(i) === which) ?? this.instances.find((i) => i.name === which);
      if (!hit)
        throw new ToolError(
          'unknown_cluster',
          `no Ollama server is configured for '${which}'; configured: ${this.known()}`,
        );
      return { instance: hit, cluster: clusterOf(hit) };
    }
    const hit = this.instances.find((i) => clusterOf(i) === dflt);
    if (!hit) {
      throw new ToolError(
        'unknown_cluster',
        `no Ollama server is configured for the default cluster${dflt ? ` '${dflt}'` : ''}; name one with the cluster argument (configured: ${this.known()})`,
      );
    }
    return { instance: hit, cluster: clusterOf(hit) };
  }

  /** The servers that belong to a cluster (those without one belong to the default cluster). */
  forCluster(cluster: string): OllamaInstance[] {
    const dflt = this.defaultCluster?.();
    return this.instances.filter((i) => (i.cluster ?? dflt) === cluster);
  }

  pick(which?: string): OllamaInstance {
    return this.resolve(which).instance;
  }

  close(): void {
    for (const i of this.instances) i.client.abort();
  }
}
