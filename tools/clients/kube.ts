import {
  ApiException,
  type ApiType,
  CoreV1Api,
  type createConfiguration,
  KubeConfig,
} from '@kubernetes/client-node';
import type { Principal } from '../../policies/types.js';
import { ToolError } from '../core/errors.js';
import { impersonatingClient, type KubeIdentity } from './impersonation.js';
import { KubeReader, MalformedReplyError } from './kube-raw.js';

export interface KubeSettings {
  /** Path to a kubeconfig; when absent the usual KUBECONFIG / ~/.kube/config / in-cluster loading applies. */
  kubeconfig?: string;
  /** Contexts to expose as clusters; when absent, every context in the kubeconfig. */
  contexts?: string[];
  /** Cluster used when a tool call names none; defaults to the kubeconfig's current context. */
  defaultCluster?: string;
  /** No kubeconfig exists and Kubemate is not in a cluster: start with no clusters. */
  none?: boolean;
  /** Largest API server answer read, after decompression (default 64 MiB). */
  maxResponseMiB?: number;
}

export interface KubeCluster {
  name: string;
  server: string;
  core: CoreV1Api;
  /** The Kubernetes identity calls are made as, when impersonating; otherwise Kubemate's own. */
  actingAs?: KubeIdentity;
  /** Plain-JSON reads over a keep-alive connection, for large lists. */
  raw: KubeReader;
  /** Makes any other API client acting as the same identity. */
  api<T extends ApiType>(apiType: new (config: ReturnType<typeof createConfiguration>) => T): T;
}

/** What the toolsets see: clusters by name, already bound to the calling principal. */
export interface KubeAccess {
  names(): string[];
  get(name?: string): KubeCluster;
}

/** Maps a principal to the Kubernetes identity to impersonate, or undefined to act as Kubemate. */
export type IdentityMapper = (principal: Principal) => KubeIdentity | undefined;

const MAX_IMPERSONATED = 512;

/** One Kubernetes cluster per kubeconfig context, created lazily and shared by the toolsets. */
export class KubeClusters implements KubeAccess {
  private readonly base: KubeConfig;
  private readonly known: string[];
  private readonly defaultName: string | undefined;
  private readonly cache = new Map<string, KubeCluster>();
  /** Kubemate's own credentials per cluster. Kept out of KubeCluster so no handler can bypass impersonation. */
  private readonly configs = new Map<string, KubeConfig>();
  private readonly impersonated = new Map<string, KubeCluster>();
  private readonly readerLimits: { maxResponseBytes?: number };
  private identityOf: IdentityMapper | undefined;

  constructor(settings: KubeSettings) {
    this.readerLimits = settings.maxResponseMiB
      ? { maxResponseBytes: settings.maxResponseMiB * 1024 * 1024 }
      : {};
    this.base = new KubeConfig();
    try {
      if (settings.kubeconfig) this.base.loadFromFile(settings.kubeconfig);
      else if (!settings.none) this.base.loadFromDefault();
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
        'no Kubernetes cluster is configured: no kubeconfig was found; set KUBECONFIG or kubernetes.kubeconfig in the configuration',
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
      this.configs.set(wanted, config);
      cluster = {
        name: wanted,
        server: config.getCurrentCluster()?.server ?? '(unknown server)',
        core: config.makeApiClient(CoreV1Api),
        raw: new KubeReader(config, undefined, this.readerLimits),
        api: (apiType) => config.makeApiClient(apiType),
      };
      this.cache.set(wanted, cluster);
    }
    return cluster;
  }

  /** Turns impersonation on: every call made through `as(principal)` carries the mapped identity. */
  impersonate(mapper: IdentityMapper | undefined): void {
    this.identityOf = mapper;
    this.impersonated.clear();
  }

  /** The clusters as the principal sees them: impersonating its mapped identity when configured. */
  as(principal: Principal): KubeAccess {
    const identity = this.identityOf?.(principal);
    if (!identity) return this;
    return { names: () => this.names(), get: (name) => this.impersonating(this.get(name), identity) };
  }

  private impersonating(base: KubeCluster, identity: KubeIdentity): KubeCluster {
    const key = `${base.name}\u0000${identity.user}\u0000${identity.groups.join('\u0000')}`;
    let cluster = this.impersonated.get(key);
    if (!cluster) {
      const config = this.configs.get(base.name)!;
      if (this.impersonated.size >= MAX_IMPERSONATED) {
        for (const c of this.impersonated.values()) c.raw.close();
        this.impersonated.clear();
      }
      cluster = {
        ...base,
        actingAs: identity,
        core: impersonatingClient(config, CoreV1Api, identity),
        raw: new KubeReader(config, identity, this.readerLimits),
        api: (apiType) => impersonatingClient(config, apiType, identity),
      };
      this.impersonated.set(key, cluster);
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
    const as = cluster.actingAs ? ` as ${cluster.actingAs.user}` : '';
    const prefix = `cannot ${action} in cluster '${cluster.name}'${as}`;
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
  const as = cluster.actingAs ? ` as ${cluster.actingAs.user}` : '';
  const prefix = `cannot ${action} in cluster '${cluster.name}'${as}`;
  if (e instanceof MalformedReplyError) {
    return new ToolError(
      'backend_error',
      `${prefix}: ${e.message}; check that the kubeconfig's server is the API server itself, not a proxy or login page`,
      { cause: e },
    );
  }
  const network = networkFailure(e);
  if (network) {
    return new ToolError(
      network.code === 'AbortError' ? 'timeout' : 'backend_unavailable',
      network.code === 'AbortError'
        ? `${prefix}: the request was cancelled or timed out`
        : `cannot ${action}: cluster '${cluster.name}' at ${cluster.server} is unreachable (${network.code}: ${network.message})`,
      { cause: e },
    );
  }
  // Anything else happened in Kubemate, not on the network: a bug, or a reply of a shape it did not
  // expect (a TypeError reading a field that is not there). Saying "unreachable" would send the
  // person to check a network that is fine.
  const err = e instanceof Error ? e : new Error(String(e));
  const what = `${err.name}: ${err.message}`;
  return new ToolError(
    'internal',
    BUG_ERRORS.has(err.name)
      ? `${prefix}: Kubemate failed on the reply (${what}); this is a bug in Kubemate or an unexpected reply, not a connection problem`
      : `${prefix}: ${what} (not a connection problem)`,
    { cause: e },
  );
}

/** Errors that only come from code: a program's own mistake, or data of a shape it did not expect. */
const BUG_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

/** Codes of errors from the network and TLS layers (Node's errno, undici, OpenSSL). */
const NETWORK_CODE =
  /^(E(CONNREFUSED|CONNRESET|CONNABORTED|HOSTUNREACH|HOSTDOWN|NETUNREACH|NETDOWN|NETRESET|TIMEDOUT|PIPE|AI_AGAIN|AI_FAIL|NOTFOUND|ADDRNOTAVAIL|PROTO)|ERR_STREAM_PREMATURE_CLOSE|ERR_SOCKET_\w+|ERR_TLS_\w+|ERR_SSL_\w+|UND_ERR_\w+|CERT_\w+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_\w+|HOSTNAME_MISMATCH|ERR_HTTP2_\w+)$/;

/**
 * The network failure behind an error, looking through wrappers (`TypeError: fetch failed` from
 * Node's fetch carries the socket error as its cause), or undefined when the error is not one.
 */
export function networkFailure(e: unknown): { code: string; message: string } | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur && typeof cur === 'object'; depth++) {
    const err = cur as { name?: unknown; code?: unknown; type?: unknown; message?: unknown; cause?: unknown };
    const message = typeof err.message === 'string' ? err.message : '';
    if (err.name === 'AbortError' || err.code === 'ABORT_ERR') return { code: 'AbortError', message };
    if (typeof err.code === 'string' && NETWORK_CODE.test(err.code)) return { code: err.code, message };
    // node-fetch's FetchError: `system` wraps a socket error, `request-timeout` is its own timeout.
    if (err.name === 'FetchError' && (err.type === 'system' || err.type === 'request-timeout'))
      return { code: typeof err.code === 'string' ? err.code : String(err.type), message };
    cur = err.cause;
  }
  return undefined;
}

/** Runs one API call, translating failures. */
export async function kubeCall<T>(cluster: KubeCluster, action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw kubeError(cluster, action, e);
  }
}
