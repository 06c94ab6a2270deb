import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { KubeReader, type RawRequest } from '../../../tools/clients/kube-raw.js';

/** One object as the API server returns it, fields in their JSON form. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

export const isStatus = (e: unknown, code: number): boolean => e instanceof ApiException && e.code === code;

/**
 * node-fetch 2 with a keep-alive agent sometimes reports a complete response as "Premature close"
 * when requests queue for a reused socket (node-fetch/node-fetch#1767): the request may well have
 * happened. Setup retries those; a create that then finds its object already there succeeded.
 */
const transient = (e: unknown) =>
  /Premature close|ECONNRESET|socket hang up/i.test(String((e as Error)?.message ?? e));

/** At most this many requests in flight, below the reader's 16 sockets: nothing queues for a socket. */
const MAX_IN_FLIGHT = 12;

class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= MAX_IN_FLIGHT) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

async function retrying<T>(limiter: Limiter, work: () => Promise<T>, created = false): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await limiter.run(work);
    } catch (e) {
      if (!transient(e) || attempt >= 4) throw e;
      if (created) {
        try {
          return await limiter.run(work);
        } catch (again) {
          if (isStatus(again, 409)) return undefined as T;
          if (!transient(again)) throw again;
        }
      }
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/**
 * The cluster administrator's view, for creating scenario state (Kubemate itself reads as its own
 * identity). Plain REST over Kubemate's keep-alive reader; kinds resolve through API discovery, so
 * any built-in or custom kind works.
 */
export class AdminRest {
  private readonly reader: KubeReader;
  private readonly limiter = new Limiter();
  private readonly discovered = new Map<string, Promise<ApiResource[]>>();

  constructor(kubeconfigPath: string, context = 'admin') {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    if (!kc.getContextObject(context)) {
      throw new Error(`${kubeconfigPath} has no context '${context}' (the test cluster's admin context)`);
    }
    kc.setCurrentContext(context);
    this.reader = new KubeReader(kc);
  }

  private groupPath(apiVersion: string): string {
    return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  }

  /** The resource serving a kind; retried briefly, since a CRD just created takes a moment to be served. */
  async resource(apiVersion: string, kind: string): Promise<ApiResource> {
    for (let attempt = 0; ; attempt++) {
      let list = this.discovered.get(apiVersion);
      if (!list) {
        const path = this.groupPath(apiVersion);
        list = retrying(this.limiter, () => this.reader.get<{ resources: ApiResource[] }>(path)).then((r) =>
          r.resources.filter((x) => !x.name.includes('/')),
        );
        this.discovered.set(apiVersion, list);
      }
      const found = await list.then(
        (l) => l.find((r) => r.kind === kind),
        () => undefined,
      );
      if (found) return found;
      this.discovered.delete(apiVersion);
      if (attempt >= 40) throw new Error(`the API server serves no kind ${kind} in ${apiVersion}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async path(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
    const res = await this.resource(apiVersion, kind);
    const ns = res.namespaced ? `/namespaces/${namespace ?? 'default'}` : '';
    return `${this.groupPath(apiVersion)}${ns}/${res.name}${name ? `/${name}` : ''}`;
  }

  async create<T extends KubeObject>(obj: T, namespace?: string): Promise<T> {
    const ns = obj.metadata?.namespace ?? namespace;
    const path = await this.path(obj.apiVersion!, obj.kind!, ns);
    const made = await retrying(
      this.limiter,
      () => this.reader.request<T>('POST', path, { body: obj }),
      true,
    );
    // A retried create that found its object already made returns what is there.
    return made ?? this.get<T>(obj.apiVersion!, obj.kind!, obj.metadata!.name!, ns);
  }

  async get<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
  ): Promise<T> {
    const path = await this.path(apiVersion, kind, namespace, name);
    return retrying(this.limiter, () => this.reader.get<T>(path));
  }

  async list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<T[]> {
    const path = await this.path(apiVersion, kind, namespace);
    return retrying(this.limiter, () =>
      this.reader.list<T>(path, { ...(labelSelector ? { labelSelector } : {}) }),
    );
  }

  /** JSON merge patch of the status subresource. */
  async patchStatus(
    apiVersion: string,
    kind: string,
    name: string,
    namespace: string | undefined,
    status: Record<string, unknown>,
  ): Promise<KubeObject> {
    const path = `${await this.path(apiVersion, kind, namespace, name)}/status`;
    return this.request('PATCH', path, { body: { status }, contentType: 'application/merge-patch+json' });
  }

  /** Replaces the status subresource with the object's (optimistic: fails on a stale resourceVersion). */
  async replaceStatus<T extends KubeObject>(obj: T): Promise<T> {
    const path = `${await this.path(obj.apiVersion!, obj.kind!, obj.metadata?.namespace, obj.metadata?.name)}/status`;
    return this.request<T>('PUT', path, { body: obj });
  }

  /** Deletes; a missing object is fine. */
  async delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<void> {
    try {
      const path = await this.path(apiVersion, kind, namespace, name);
      await this.request('DELETE', path, { body: { propagationPolicy: 'Background' } });
    } catch (e) {
      if (!isStatus(e, 404)) throw e;
    }
  }

  /** A list by path and query (for field selectors and the like). */
  listPath<T>(path: string, query: Record<string, string>): Promise<T[]> {
    return retrying(this.limiter, () => this.reader.list<T>(path, query));
  }

  /** Any request that is safe to repeat (GET, PUT with a resourceVersion, merge PATCH, DELETE). */
  request<T>(method: string, path: string, opts: RawRequest = {}): Promise<T> {
    return retrying(this.limiter, () => this.reader.request<T>(method, path, opts));
  }

  close(): void {
    this.reader.close();
  }
}
