import {
  type ApiType,
  createConfiguration,
  type HttpLibrary,
  type KubeConfig,
  Observable,
  type RequestContext,
  ResponseContext,
  ServerConfiguration,
} from '@kubernetes/client-node';
import fetch, { Headers } from 'node-fetch';

/** The Kubernetes identity a principal's calls are made as, when impersonation is on. */
export interface KubeIdentity {
  user: string;
  groups: string[];
}

/**
 * The Impersonate-Group values to send: never a `system:` group, whatever the identity says. The
 * policy already drops them; this is the last place before the wire, so no other source of groups
 * (a future mapper, a kubeconfig's act-as settings) can ask the API server for system:masters.
 */
export function forwardedGroups(groups: readonly string[]): string[] {
  return [...new Set(groups.filter((g) => !g.trim().toLowerCase().startsWith('system:')))];
}

/** Every header that asks the API server to act as someone else (User, Group, Uid, Extra-*). */
export const IMPERSONATE_HEADER = /^impersonate-/i;

/** Sets the identity's impersonation headers, after removing any the request already carried. */
export function setImpersonation(headers: Headers, identity: KubeIdentity): void {
  const existing: string[] = [];
  headers.forEach((_value, name) => {
    if (IMPERSONATE_HEADER.test(name)) existing.push(name);
  });
  for (const name of existing) headers.delete(name);
  headers.set('Impersonate-User', identity.user);
  for (const g of forwardedGroups(identity.groups)) headers.append('Impersonate-Group', g);
}

/**
 * Sends requests with Impersonate-User and one Impersonate-Group header per group. The client's
 * own HTTP library takes headers as a plain object, which cannot repeat a header, so several
 * groups would collapse into one; this library builds real multi-valued headers instead.
 */
class ImpersonatingHttp implements HttpLibrary {
  constructor(private readonly identity: KubeIdentity) {}

  send(request: RequestContext): Observable<ResponseContext> {
    const headers = new Headers(request.getHeaders());
    setImpersonation(headers, this.identity);
    const result = fetch(request.getUrl(), {
      method: request.getHttpMethod().toString(),
      body: request.getBody() as string | undefined,
      headers,
      signal: request.getSignal() as never,
      agent: request.getAgent(),
    }).then((resp) => {
      const out: Record<string, string> = {};
      resp.headers.forEach((value, name) => {
        out[name] = value;
      });
      return new ResponseContext(resp.status, out, { text: () => resp.text(), binary: () => resp.buffer() });
    });
    return new Observable(result);
  }
}

/** An API client of the given type that acts as `identity` (Kubemate's own credentials authenticate). */
export function impersonatingClient<T extends ApiType>(
  config: KubeConfig,
  apiType: new (config: ReturnType<typeof createConfiguration>) => T,
  identity: KubeIdentity,
): T {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  return new apiType(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: config },
      httpApi: new ImpersonatingHttp(identity),
    }),
  );
}
