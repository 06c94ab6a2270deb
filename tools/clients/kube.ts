import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ToolError } from '../core/errors.js';

export interface KubeSettings {
  /** Path to a kubeconfig; when absent the usual KUBECONFIG / ~/.kube/config / in-cluster loading applies. */
  kubeconfig?: string;
  /** Contexts to expose as clusters; when absent, every context in the kubeconfig. */
  contexts?: string[];
  /** Cluster used when a tool call names none; defaults to the kubeconfig's current context. */
  defaultCluster?: string;
}

export interface KubeCluster {
  name: string;
  server: string;
  config: KubeConfig;
  core: CoreV1Api;
}

/** One Kubernetes cluster per kubeconfig context, created lazily and shared by the toolsets. */
export class KubeClusters {
  private readonly base: KubeConfig;
  private readonly known: string[];
  private readonly defaultName: string | undefined;
  private readonly cache = new Map<string, KubeCluster>();

  constructor(settings: KubeSettings) {
    this.base = new KubeConfig();
    try {
      if (settings.kubeconfig) this.base.loadFromFile(settings.kubeconfig);
      else this.base.loadFromDefault();
    } catch (e) {
      throw new Error(
        `cannot load kubeconfig ${settings.kubeconfig ?? '(default)'}: ${(e as Error).message}`,
      );
    }
    const all = this.base.getContexts().map((c) => c.name);
    if (settings.contexts) {
      const missing = settings.contexts.filter((c) => !all.includes(c));
      if (missing.length > 0) {
        throw new Error(
          `kubernetes.contexts names ${missing.map((m) => `'${m}'`).join(', ')}, not in the kubeconfig (it has: ${all.join(', ') || 'none'})`,
        );
      }
    }
    this.known = settings.contexts ?? all;
    const current = this.base.getCurrentContext();
    this.defaultName = settings.defaultCluster ?? (this.known.includes(current) ? current : this.known[0]);
    if (settings.defaultCluster && !this.known.includes(settings.defaultCluster)) {
      throw new Error(
        `kubernetes.defaultCluster '${settings.defaultCluster}' is not one of the clusters: ${this.known.join(', ')}`,
      );
    }
  }

  names(): string[] {
    return [...this.known];
  }

  get defaultCluster(): string | undefined {
    return this.defaultName;
  }

  /** Resolves a cluster by name (or the default); unknown names fail before any backend call. */
  get(name?: string): KubeCluster {
    const wanted = name ?? this.defaultName;
    if (!wanted) {
      throw new ToolError(
        'unknown_cluster',
        'no Kubernetes cluster is configured: the kubeconfig has no contexts',
      );
    }
    if (!this.known.includes(wanted)) {
      throw new ToolError(
        'unknown_cluster',
        `unknown cluster '${wanted}'; known clusters: ${this.known.join(', ')}`,
      );
    }
    let cluster = this.cache.get(wanted);
    if (!cluster) {
      const config = new KubeConfig();
      config.loadFromString(this.base.exportConfig());
      config.setCurrentContext(wanted);
      cluster = {
        name: wanted,
        server: config.getCurrentCluster()?.server ?? '(unknown server)',
        config,
        core: config.makeApiClient(CoreV1Api),
      };
      this.cache.set(wanted, cluster);
    }
    return cluster;
  }
}

function apiMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 300) || undefined;
    }
  }
  if (parsed && typeof parsed === 'object' && 'message' in parsed) return String(parsed.message);
  return undefined;
}

/** Maps Kubernetes client failures to clear tool errors that name the cluster and the action. */
export function kubeError(cluster: KubeCluster, action: string, e: unknown): ToolError {
  if (e instanceof ToolError) return e;
  if (e instanceof ApiException) {
    const detail = apiMessage(e.body) ?? `HTTP ${e.code}`;
    const prefix = `cannot ${action} in cluster '${cluster.name}'`;
    switch (e.code) {
      case 401:
        return new ToolError(
          'unauthorized',
          `${prefix}: the API server rejected Kubemate's credentials (${detail})`,
        );
      case 403:
        return new ToolError('forbidden', `${prefix}: forbidden by the cluster's RBAC: ${detail}`);
      case 404:
        return new ToolError('not_found', `${prefix}: ${detail}`);
      default:
        return new ToolError('backend_error', `${prefix}: ${detail}`);
    }
  }
  const err = e as NodeJS.ErrnoException & { type?: string };
  const reason = err?.code ?? err?.type ?? 'error';
  return new ToolError(
    'backend_unavailable',
    `cannot ${action}: cluster '${cluster.name}' at ${cluster.server} is unreachable (${reason}: ${err?.message ?? String(e)})`,
    { cause: e },
  );
}

/** Runs one API call, translating failures. */
export async function kubeCall<T>(cluster: KubeCluster, action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw kubeError(cluster, action, e);
  }
}
