// Named Kubernetes analyzers: each reads the cluster (through one snapshot per run, so a list is
// fetched once however many checks use it) and returns observations: what it is about, a value
// for the check's bands, and evidence. Nothing here decides severity; the check does.
import type { KubeCluster } from '../clients/kube.js';
import type { AnalyzerName } from './analyzer-names.js';
import { leafCertificate, servingCertificate } from './certs.js';
import { CronError, parseCron } from './cron.js';
import { type ModelServers, ollamaModels } from './model-analyzers.js';

export interface Observation {
  /** What the finding is about: `node/kwok-1`, `payments/deployment/api`. */
  subject: string;
  value: number;
  namespace?: string;
  /** Evidence beyond the value: the condition, the reason, the image, the dates. */
  detail?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are read as plain JSON
type Obj = any;

const PAGE = 500;

/** Lists read once per run and shared by the analyzers. */
export class KubeSnapshot {
  private readonly cache = new Map<string, Promise<Obj[]>>();
  constructor(
    readonly cluster: KubeCluster,
    readonly namespace: string | undefined,
    private readonly signal: AbortSignal,
  ) {}

  /** Every item of a collection, page by page; namespaced collections honour the namespace filter. */
  list(
    group: string,
    resource: string,
    namespaced = true,
    slim?: (o: Obj) => Obj,
    fieldSelector?: string,
  ): Promise<Obj[]> {
    const base = group === '' ? '/api/v1' : `/apis/${group}`;
    const path =
      namespaced && this.namespace
        ? `${base}/namespaces/${encodeURIComponent(this.namespace)}/${resource}`
        : `${base}/${resource}`;
    const key = `${path}?${fieldSelector ?? ''}`;
    let p = this.cache.get(key);
    if (!p) {
      p = (async () => {
        const out: Obj[] = [];
        // Item by item, each slimmed as it is parsed; the next page is asked for before this one
        // is read, so the API server encodes while Kubemate parses.
        await this.cluster.raw.items<Obj>(
          path,
          { fieldSelector },
          (item) => {
            out.push(slim ? slim(item) : item);
          },
          PAGE,
          this.signal,
        );
        return out;
      })();
      this.cache.set(key, p);
    }
    return p;
  }

  pods(): Promise<Obj[]> {
    return this.list('', 'pods', true, slimPod(new Map()));
  }
}

const NONE = Object.freeze({});

/**
 * Only what the analyzers read, and every value that repeats across pods (namespaces, images,
 * container names, reasons, resources, creation seconds) held once: 30,000 pods take about 14 MB (21 MB before).
 * The shared values are frozen; analyzers only read pods.
 */
function slimPod(seen: Map<string, unknown>): (p: Obj) => Obj {
  const once = <T>(key: string, make: () => T): T => {
    let v = seen.get(key) as T | undefined;
    if (v === undefined) {
      v = make();
      seen.set(key, v);
    }
    return v;
  };
  const str = (v: unknown) => (typeof v === 'string' ? once(`s\0${v}`, () => v) : v);
  const resources = (r: Obj) => (r ? once(`r\0${JSON.stringify(r)}`, () => Object.freeze(r)) : NONE);
  return (p) => ({
    metadata: {
      name: p.metadata?.name,
      namespace: str(p.metadata?.namespace),
      creationTimestamp: str(p.metadata?.creationTimestamp),
    },
    spec: {
      containers: (p.spec?.containers ?? []).map((c: Obj) => ({
        name: str(c.name),
        image: str(c.image),
        resources: resources(c.resources),
      })),
    },
    status: {
      phase: str(p.status?.phase),
      reason: str(p.status?.reason),
      containerStatuses: (p.status?.containerStatuses ?? []).map((s: Obj) => ({
        name: str(s.name),
        restartCount: s.restartCount ?? 0,
        state: s.state?.waiting
          ? once(`w\0${s.state.waiting.reason}`, () =>
              Object.freeze({ waiting: { reason: s.state.waiting.reason } }),
            )
          : NONE,
        lastState: s.lastState?.terminated
          ? {
              terminated: {
                reason: str(s.lastState.terminated.reason),
                finishedAt: str(s.lastState.terminated.finishedAt),
              },
            }
          : NONE,
      })),
    },
  });
}

export interface AnalyzerInput {
  snapshot: KubeSnapshot;
  params: Record<string, string | number | boolean>;
  now: number;
  signal: AbortSignal;
  /** The inspected cluster's Ollama servers, or why they are not inspected. */
  models?: ModelServers;
}

type Analyzer = (input: AnalyzerInput) => Promise<Observation[]>;

const MIN = 60_000;
const HOUR = 60 * MIN;

const nsName = (o: Obj) => `${o.metadata.namespace}/${o.metadata.name}`;
const ageMinutes = (o: Obj, now: number) =>
  Math.round((now - Date.parse(o.metadata?.creationTimestamp ?? new Date(now).toISOString())) / MIN);
const num = (v: unknown, d: number) =>
  typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : d;

function condition(o: Obj, type: string): Obj | undefined {
  return (o.status?.conditions ?? []).find((c: Obj) => c.type === type);
}

function unavailable(
  kind: string,
  want: (o: Obj) => number,
  have: (o: Obj) => number,
  resource: string,
  group: string,
): Analyzer {
  return async ({ snapshot }) =>
    (await snapshot.list(group, resource)).flatMap((o) => {
      const missing = want(o) - have(o);
      return missing > 0
        ? [
            {
              subject: `${o.metadata.namespace}/${kind}/${o.metadata.name}`,
              namespace: o.metadata.namespace,
              value: missing,
              detail: `${have(o)} of ${want(o)} available`,
            },
          ]
        : [];
    });
}

function restartedWithin(s: Obj, now: number, windowMs: number): boolean {
  const at = s.lastState?.terminated?.finishedAt;
  return !!at && now - Date.parse(at) <= windowMs;
}

const IMAGE_TAG = /^(?:.*\/)?[^/:@]+(?::([^/@]+))?(?:@.+)?$/;

async function apiserverHealth(
  snapshot: KubeSnapshot,
  path: string,
  signal: AbortSignal,
): Promise<Observation[]> {
  let text: string;
  try {
    text = await snapshot.cluster.raw.getText(path, { verbose: 'true' }, signal);
  } catch (e) {
    // A failing check answers 500 with the same verbose list; anything else is the check's error.
    const body = (e as { body?: unknown }).body;
    if (typeof body !== 'string' || !/^\[[-+]\]/m.test(body)) throw e;
    text = body;
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('[-]'))
    .map((l) => l.slice(3).trim())
    .map((f) => ({ subject: `apiserver${path}/${f.split(' ')[0]}`, value: 1, detail: f }));
}

export const ANALYZERS: Record<AnalyzerName, Analyzer> = {
  'node-conditions': async ({ snapshot }) =>
    (await snapshot.list('', 'nodes', false)).flatMap((n) => {
      const bad = (n.status?.conditions ?? []).filter((c: Obj) =>
        c.type === 'Ready' ? c.status !== 'True' : c.status === 'True' && c.type !== 'Ready',
      );
      if (!(n.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready'))
        bad.push({ type: 'Ready', status: 'Unknown', reason: 'no Ready condition reported' });
      return bad.map((c: Obj) => ({
        subject: `node/${n.metadata.name}`,
        value: 1,
        detail: `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`,
      }));
    }),
  'nodes-cordoned': async ({ snapshot, now }) =>
    (await snapshot.list('', 'nodes', false))
      .filter((n) => n.spec?.unschedulable)
      .map((n) => {
        const taint = (n.spec?.taints ?? []).find((t: Obj) => t.key === 'node.kubernetes.io/unschedulable');
        const since = taint?.timeAdded ? Math.round((now - Date.parse(taint.timeAdded)) / HOUR) : undefined;
        return {
          subject: `node/${n.metadata.name}`,
          value: since ?? 0,
          detail: since !== undefined ? `cordoned for ${since} h` : 'cordoned',
        };
      }),
  'nodes-not-ready-ratio': async ({ snapshot }) => {
    const nodes = await snapshot.list('', 'nodes', false);
    if (!nodes.length) return [];
    const notReady = nodes.filter((n) => condition(n, 'Ready')?.status !== 'True').length;
    return [
      {
        subject: 'cluster/nodes',
        value: Math.round((notReady / nodes.length) * 1000) / 10,
        detail: `${notReady} of ${nodes.length} nodes not Ready`,
      },
    ];
  },
  'control-plane-readiness': ({ snapshot, signal }) => apiserverHealth(snapshot, '/readyz', signal),
  'etcd-readiness': ({ snapshot, signal }) => apiserverHealth(snapshot, '/livez/etcd', signal),
  'pods-restarting': async ({ snapshot, params, now }) => {
    const windowMs = num(params.windowHours, 24) * HOUR;
    return (await snapshot.pods()).flatMap((p) => {
      const recent = (p.status?.containerStatuses ?? []).filter((s: Obj) =>
        restartedWithin(s, now, windowMs),
      );
      if (!recent.length) return [];
      const restarts = recent.reduce((a: number, s: Obj) => a + (s.restartCount ?? 0), 0);
      return [
        {
          subject: `${nsName(p)}`,
          namespace: p.metadata.namespace,
          value: restarts,
          detail: recent
            .map(
              (s: Obj) =>
                `${s.name}: ${s.restartCount} restarts, last ${s.lastState.terminated.reason ?? 'exit'}`,
            )
            .join('; '),
        },
      ];
    });
  },
  'pods-oomkilled': async ({ snapshot, params, now }) => {
    const windowMs = num(params.windowHours, 24) * HOUR;
    return (await snapshot.pods()).flatMap((p) =>
      (p.status?.containerStatuses ?? [])
        .filter(
          (s: Obj) => s.lastState?.terminated?.reason === 'OOMKilled' && restartedWithin(s, now, windowMs),
        )
        .map((s: Obj) => ({
          subject: `${nsName(p)}/${s.name}`,
          namespace: p.metadata.namespace,
          value: 1,
          detail: `OOMKilled at ${s.lastState.terminated.finishedAt}`,
        })),
    );
  },
  'pods-pending': async ({ snapshot, now }) =>
    (await snapshot.pods())
      .filter((p) => p.status?.phase === 'Pending')
      .map((p) => ({
        subject: nsName(p),
        namespace: p.metadata.namespace,
        value: ageMinutes(p, now),
        detail: `Pending for ${ageMinutes(p, now)} min`,
      })),
  'pods-failed': async ({ snapshot }) =>
    (await snapshot.pods())
      .filter((p) => p.status?.phase === 'Failed')
      .map((p) => ({
        subject: nsName(p),
        namespace: p.metadata.namespace,
        value: 1,
        detail: `Failed${p.status?.reason ? ` (${p.status.reason})` : ''}`,
      })),
  'pods-image-pull': async ({ snapshot }) =>
    (await snapshot.pods()).flatMap((p) =>
      (p.status?.containerStatuses ?? [])
        .filter((s: Obj) => /ImagePull|ErrImage|InvalidImageName/.test(s.state?.waiting?.reason ?? ''))
        .map((s: Obj) => ({
          subject: `${nsName(p)}/${s.name}`,
          namespace: p.metadata.namespace,
          value: 1,
          detail: s.state.waiting.reason,
        })),
    ),
  'deployments-unavailable': unavailable(
    'deployment',
    (o) => o.spec?.replicas ?? 1,
    (o) => o.status?.availableReplicas ?? 0,
    'deployments',
    'apps/v1',
  ),
  'statefulsets-unavailable': unavailable(
    'statefulset',
    (o) => o.spec?.replicas ?? 1,
    (o) => o.status?.availableReplicas ?? o.status?.readyReplicas ?? 0,
    'statefulsets',
    'apps/v1',
  ),
  'daemonsets-unavailable': unavailable(
    'daemonset',
    (o) => o.status?.desiredNumberScheduled ?? 0,
    (o) => o.status?.numberAvailable ?? 0,
    'daemonsets',
    'apps/v1',
  ),
  'pvcs-pending': async ({ snapshot, now }) =>
    (await snapshot.list('', 'persistentvolumeclaims'))
      .filter((c) => c.status?.phase === 'Pending')
      .map((c) => ({
        subject: `${c.metadata.namespace}/pvc/${c.metadata.name}`,
        namespace: c.metadata.namespace,
        value: ageMinutes(c, now),
        detail: `Pending for ${ageMinutes(c, now)} min`,
      })),
  'jobs-failed': async ({ snapshot, params, now }) => {
    const windowMs = num(params.windowHours, 24) * HOUR;
    return (await snapshot.list('batch/v1', 'jobs')).flatMap((j) => {
      const failed = condition(j, 'Failed');
      if (failed?.status !== 'True') return [];
      const at = Date.parse(failed.lastTransitionTime ?? j.metadata.creationTimestamp);
      if (now - at > windowMs) return [];
      return [
        {
          subject: `${j.metadata.namespace}/job/${j.metadata.name}`,
          namespace: j.metadata.namespace,
          value: j.status?.failed ?? 1,
          detail: `Failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim(),
        },
      ];
    });
  },
  'cronjobs-stalled': async ({ snapshot, params, now }) => {
    const graceMs = num(params.graceMinutes, 60) * MIN;
    return (await snapshot.list('batch/v1', 'cronjobs')).flatMap((c) => {
      if (c.spec?.suspend) return [];
      let expected: number | undefined;
      try {
        const cron = parseCron(c.spec.schedule, c.spec.timeZone ?? 'UTC');
        expected = cron.previous(now - graceMs, 40 * 24 * HOUR);
      } catch (e) {
        if (e instanceof CronError) return [];
        throw e;
      }
      const created = Date.parse(c.metadata.creationTimestamp);
      if (expected === undefined || expected < created) return [];
      const last = c.status?.lastScheduleTime ? Date.parse(c.status.lastScheduleTime) : undefined;
      if (last !== undefined && last >= expected) return [];
      const lateH = Math.round(((now - expected) / HOUR) * 10) / 10;
      return [
        {
          subject: `${c.metadata.namespace}/cronjob/${c.metadata.name}`,
          namespace: c.metadata.namespace,
          value: lateH,
          detail: `schedule "${c.spec.schedule}" was due ${new Date(expected).toISOString()}; last scheduled ${c.status?.lastScheduleTime ?? 'never'}`,
        },
      ];
    });
  },
  'hpas-at-max': async ({ snapshot }) =>
    (await snapshot.list('autoscaling/v2', 'horizontalpodautoscalers'))
      .filter((h) => (h.status?.currentReplicas ?? 0) >= h.spec?.maxReplicas)
      .map((h) => ({
        subject: `${h.metadata.namespace}/hpa/${h.metadata.name}`,
        namespace: h.metadata.namespace,
        value: h.status.currentReplicas,
        detail: `${h.status.currentReplicas} replicas = maxReplicas ${h.spec.maxReplicas}`,
      })),
  'pdbs-blocking': async ({ snapshot }) =>
    (await snapshot.list('policy/v1', 'poddisruptionbudgets'))
      .filter(
        (p) =>
          (p.status?.expectedPods ?? 0) > 0 &&
          (p.status?.disruptionsAllowed ?? 0) === 0 &&
          (p.status?.currentHealthy ?? 0) >= (p.status?.expectedPods ?? 0),
      )
      .map((p) => ({
        subject: `${p.metadata.namespace}/pdb/${p.metadata.name}`,
        namespace: p.metadata.namespace,
        value: 0,
        detail: `all ${p.status.expectedPods} pods healthy yet 0 disruptions allowed (${p.spec?.minAvailable !== undefined ? `minAvailable ${p.spec.minAvailable}` : `maxUnavailable ${p.spec?.maxUnavailable}`})`,
      })),
  'containers-without-requests': async ({ snapshot }) => missingResources(await snapshot.pods(), 'requests'),
  'containers-without-limits': async ({ snapshot }) => missingResources(await snapshot.pods(), 'limits'),
  'images-latest-tag': async ({ snapshot }) =>
    (await snapshot.pods()).flatMap((p) =>
      (p.spec?.containers ?? [])
        .filter((c: Obj) => {
          const m = IMAGE_TAG.exec(c.image ?? '');
          return !!m && !String(c.image).includes('@') && (m[1] === undefined || m[1] === 'latest');
        })
        .map((c: Obj) => ({
          subject: `${nsName(p)}/${c.name}`,
          namespace: p.metadata.namespace,
          value: 1,
          detail: `image ${c.image}`,
        })),
    ),
  'namespaces-terminating': async ({ snapshot, now }) =>
    (await snapshot.list('', 'namespaces', false))
      .filter((n) => n.status?.phase === 'Terminating' && (n.metadata?.deletionTimestamp ?? '') !== '')
      .map((n) => {
        const min = Math.round((now - Date.parse(n.metadata.deletionTimestamp)) / MIN);
        return { subject: `namespace/${n.metadata.name}`, value: min, detail: `Terminating for ${min} min` };
      }),
  'services-without-endpoints': async ({ snapshot }) => {
    const [services, slices] = await Promise.all([
      snapshot.list('', 'services'),
      snapshot.list('discovery.k8s.io/v1', 'endpointslices'),
    ]);
    const ready = new Set<string>();
    for (const s of slices) {
      const svc = s.metadata?.labels?.['kubernetes.io/service-name'];
      if (svc && (s.endpoints ?? []).some((e: Obj) => e.conditions?.ready !== false))
        ready.add(`${s.metadata.namespace}/${svc}`);
    }
    return services
      .filter(
        (s) => s.spec?.selector && Object.keys(s.spec.selector).length && s.spec.type !== 'ExternalName',
      )
      .filter((s) => !ready.has(nsName(s)))
      .map((s) => ({
        subject: `${s.metadata.namespace}/service/${s.metadata.name}`,
        namespace: s.metadata.namespace,
        value: 0,
        detail: 'no ready endpoints behind the selector',
      }));
  },
  'tls-secrets-expiry': async ({ snapshot, now }) => {
    const secrets = await snapshot.list(
      '',
      'secrets',
      true,
      (s) => (s.type === 'kubernetes.io/tls' ? { metadata: s.metadata, crt: s.data?.['tls.crt'] } : null),
      'type=kubernetes.io/tls',
    );
    const out: Observation[] = [];
    for (const s of secrets) {
      if (!s?.crt) continue;
      const cert = leafCertificate(Buffer.from(s.crt, 'base64').toString('utf8'), now);
      out.push(
        cert
          ? {
              subject: `${s.metadata.namespace}/secret/${s.metadata.name}`,
              namespace: s.metadata.namespace,
              value: cert.daysLeft,
              detail: `subject ${cert.subject}; valid ${cert.notBefore} to ${cert.notAfter}`,
            }
          : {
              subject: `${s.metadata.namespace}/secret/${s.metadata.name}`,
              namespace: s.metadata.namespace,
              value: -1,
              detail: 'tls.crt holds no certificate that parses',
            },
      );
    }
    return out;
  },
  'apiserver-certificate-expiry': async ({ snapshot, now, signal }) => {
    const cert = await servingCertificate(snapshot.cluster.server, now, signal);
    return cert
      ? [
          {
            subject: `apiserver ${new URL(snapshot.cluster.server).host}`,
            value: cert.daysLeft,
            detail: `subject ${cert.subject}; valid ${cert.notBefore} to ${cert.notAfter}`,
          },
        ]
      : [];
  },
  'ollama-models': ({ models }) => ollamaModels(models),
};

function missingResources(pods: Obj[], field: 'requests' | 'limits'): Observation[] {
  return pods.flatMap((p) => {
    if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return [];
    const missing = (p.spec?.containers ?? []).filter((c: Obj) => {
      const r = c.resources?.[field] ?? {};
      return r.cpu === undefined || r.memory === undefined;
    });
    return missing.length
      ? [
          {
            subject: nsName(p),
            namespace: p.metadata.namespace,
            value: missing.length,
            detail: `containers without cpu/memory ${field}: ${missing.map((c: Obj) => c.name).join(', ')}`,
          },
        ]
      : [];
  });
}
