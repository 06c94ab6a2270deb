import { randomBytes } from 'node:crypto';
import type { EventSpec } from '../schema.js';
import { durationMs, fill, type Vars } from '../template.js';
import type { AdminRest, KubeObject } from './rest.js';

const API_VERSION: Record<string, string> = {
  Pod: 'v1',
  Node: 'v1',
  Service: 'v1',
  PersistentVolumeClaim: 'v1',
  Deployment: 'apps/v1',
  ReplicaSet: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  Certificate: 'cert-manager.io/v1',
};

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Records the events a kubelet, scheduler or operator would have emitted about the scenario's
 * objects (there is no kubelet here to emit them). Node events live in `default`, as the kubelet's do.
 */
export async function recordEvents(
  rest: AdminRest,
  namespace: string,
  e: EventSpec,
  vars: Vars,
): Promise<void> {
  const kind = e.for.kind;
  const apiVersion = API_VERSION[kind];
  if (!apiVersion)
    throw new Error(
      `events for kind ${kind} are not supported (known: ${Object.keys(API_VERSION).join(', ')})`,
    );
  let targets: KubeObject[];
  if ('selector' in e.for) {
    const pods = await rest.list('v1', 'Pod', namespace, e.for.selector);
    pods.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
    targets = pods.slice(0, e.for.count ?? pods.length);
    if (targets.length === 0)
      throw new Error(`no pods match ${e.for.selector} in ${namespace} for event ${e.reason}`);
  } else {
    targets = [
      await rest.get(apiVersion, kind, fill(e.for.name, vars), kind === 'Node' ? undefined : namespace),
    ];
  }
  const now = Date.now();
  for (const target of targets) {
    const name = target.metadata!.name!;
    const eventNs = kind === 'Node' ? 'default' : namespace;
    await rest.create(
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace: eventNs },
        involvedObject: {
          apiVersion,
          kind,
          name,
          uid: target.metadata?.uid,
          ...(kind === 'Node' ? {} : { namespace }),
        },
        type: e.type,
        reason: e.reason,
        message: fill(e.message, { ...vars, object: name }),
        count: e.count,
        firstTimestamp: iso(now - durationMs(e.since ?? '10m')),
        lastTimestamp: iso(now),
        source: {
          component: e.source,
          ...(kind === 'Pod' && target.spec?.nodeName ? { host: target.spec.nodeName as string } : {}),
        },
        reportingComponent: e.source,
      },
      eventNs,
    );
  }
}
