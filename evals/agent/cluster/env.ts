import type { Scenario } from '../schema.js';
import { fillDeep, type Vars } from '../template.js';
import { createTlsSecret } from './certs.js';
import { recordEvents } from './events.js';
import { MetricsApi, removeMetricsApi } from './metrics-api.js';
import { createNode, EVAL_LABEL, setNodeConditions } from './nodes.js';
import { patchPods } from './pods.js';
import { AdminRest, isStatus, type KubeObject } from './rest.js';
import { waitUntil } from './wait.js';

/** A scenario as it exists on the cluster: the variables its tools and facts may use. */
export interface Prepared {
  scenario: Scenario;
  vars: Vars;
  setupMs: number;
}

type Condition = { type: string; status: string; reason?: string };
const conditionsOf = (o: KubeObject) => (o.status?.conditions as Condition[] | undefined) ?? [];

/**
 * Creates scenarios on a real test cluster (as its administrator) and removes them again. Every
 * namespace and node it creates carries the label `kubemate.dev/eval`, so leftovers of a killed run
 * are found and removed by `removeLeftovers`.
 */
export class EvalCluster {
  readonly rest: AdminRest;
  private metrics: Promise<MetricsApi> | undefined;
  private readonly crdUsers = new Map<string, Set<string>>();

  constructor(readonly kubeconfigPath: string) {
    this.rest = new AdminRest(kubeconfigPath);
  }

  async setUp(scenario: Scenario, timeoutMs = 60_000): Promise<Prepared> {
    const started = Date.now();
    const { setup, namespace } = scenario;
    const vars: Vars = { namespace };
    const where = (step: string) => (e: Error) => {
      throw new Error(`scenario ${scenario.id}: ${step}: ${e.message}`);
    };
    await this.freshNamespace(scenario).catch(where('namespace'));
    for (const crd of setup.crds) await this.ensureCrd(crd, scenario.id).catch(where('crds'));
    await Promise.all(setup.nodes.map((n) => createNode(this.rest, n, scenario.id))).catch(where('nodes'));
    for (const c of setup.certificates) {
      Object.assign(vars, await createTlsSecret(this.rest, namespace, c).catch(where('certificates')));
    }
    // Before the manifests, so that an autoscaler's first look already finds metrics.
    if (setup.podMetrics.length > 0) {
      this.metrics ??= MetricsApi.start(this.rest);
      const api = await this.metrics.catch(where('metrics API'));
      for (const pm of setup.podMetrics) api.add(namespace, pm);
    }
    for (const m of setup.manifests)
      await this.createManifest(fillDeep(m, vars), namespace).catch(where(`create ${m.kind}`));
    for (const p of setup.patches) {
      if (p.after)
        await this.waitCondition(p, namespace, p.after, timeoutMs).catch(where(`patch ${p.kind} ${p.name}`));
      const path = await this.rest.path(p.apiVersion, p.kind, namespace, p.name);
      await this.rest
        .request('PATCH', path, {
          body: fillDeep(p.patch, vars),
          contentType: 'application/merge-patch+json',
        })
        .catch(where(`patch ${p.kind} ${p.name}`));
    }
    for (const p of setup.podStatus)
      Object.assign(vars, await patchPods(this.rest, namespace, p, timeoutMs).catch(where('podStatus')));
    await this.patchStatuses(scenario, vars).catch(where('status'));
    for (const e of setup.events)
      await recordEvents(this.rest, namespace, e, vars).catch(where(`event ${e.reason}`));
    for (const w of setup.waitFor) {
      await this.waitCondition(w, namespace, w.condition, w.timeoutSeconds * 1000).catch(where('waitFor'));
    }
    return { scenario, vars, setupMs: Date.now() - started };
  }

  private waitCondition(
    o: { apiVersion: string; kind: string; name?: string | undefined; selector?: string | undefined },
    namespace: string,
    want: { type: string; status: string; reason?: string | undefined },
    timeoutMs: number,
  ): Promise<true> {
    const holds = (obj: KubeObject) => {
      const c = conditionsOf(obj).find((x) => x.type === want.type);
      return c?.status === want.status && (!want.reason || c.reason === want.reason);
    };
    return waitUntil(
      `${o.kind} ${o.name ?? o.selector} condition ${want.type}=${want.status}${want.reason ? ` (${want.reason})` : ''}`,
      async () => {
        const objs = o.name
          ? [await this.rest.get(o.apiVersion, o.kind, o.name, namespace)]
          : await this.rest.list(o.apiVersion, o.kind, namespace, o.selector);
        return objs.length > 0 && objs.every(holds) ? true : undefined;
      },
      timeoutMs,
    );
  }

  /** Re-asserts time-sensitive state (node heartbeats, status fields) just before a question is asked. */
  async refresh(p: Prepared): Promise<void> {
    for (const n of p.scenario.setup.nodes) await setNodeConditions(this.rest, n);
    await this.patchStatuses(p.scenario, p.vars);
  }

  async tearDown(p: Prepared | Scenario): Promise<void> {
    const scenario = 'scenario' in p ? p.scenario : p;
    const ns = scenario.namespace;
    const m = await this.metrics?.catch(() => undefined);
    m?.remove(ns);
    // Pods on nodes nobody runs would wait forever for a kubelet to confirm their deletion.
    await this.rest
      .request('DELETE', `/api/v1/namespaces/${ns}/pods`, { query: { gracePeriodSeconds: 0 } })
      .catch(() => undefined);
    await this.rest.delete('v1', 'Namespace', ns);
    await Promise.all(scenario.setup.nodes.map((n) => this.removeNode(n.name)));
    for (const crd of scenario.setup.crds) {
      const name = (crd as KubeObject).metadata?.name ?? '';
      const users = this.crdUsers.get(name);
      users?.delete(scenario.id);
      if (users && users.size === 0) {
        this.crdUsers.delete(name);
        await this.rest.delete('apiextensions.k8s.io/v1', 'CustomResourceDefinition', name);
      }
    }
  }

  /** Removes what an interrupted run left behind: labelled namespaces and nodes, the metrics API. */
  async removeLeftovers(): Promise<void> {
    const selector = EVAL_LABEL;
    const [namespaces, nodes] = await Promise.all([
      this.rest.list('v1', 'Namespace', undefined, selector),
      this.rest.list('v1', 'Node', undefined, selector),
    ]);
    await Promise.all([
      ...namespaces.map(async (n) => {
        await this.rest
          .request('DELETE', `/api/v1/namespaces/${n.metadata!.name}/pods`, {
            query: { gracePeriodSeconds: 0 },
          })
          .catch(() => undefined);
        await this.rest.delete('v1', 'Namespace', n.metadata!.name!);
      }),
      ...nodes.map((n) => this.removeNode(n.metadata!.name!)),
    ]);
    if (!this.metrics) await removeMetricsApi(this.rest).catch(() => undefined);
  }

  async close(): Promise<void> {
    const m = await this.metrics?.catch(() => undefined);
    await m?.stop();
    this.metrics = undefined;
    this.rest.close();
  }

  /** A node and the events about it (they live in `default` and would outlast it). */
  private async removeNode(name: string): Promise<void> {
    await this.rest.delete('v1', 'Node', name);
    const events = await this.rest.listPath<KubeObject>('/api/v1/namespaces/default/events', {
      fieldSelector: `involvedObject.kind=Node,involvedObject.name=${name}`,
    });
    await Promise.all(events.map((e) => this.rest.delete('v1', 'Event', e.metadata!.name!, 'default')));
  }

  private async freshNamespace(scenario: Scenario): Promise<void> {
    const ns = scenario.namespace;
    const existing = await this.rest.get('v1', 'Namespace', ns).catch((e) => {
      if (isStatus(e, 404)) return undefined;
      throw e;
    });
    if (existing) {
      if (existing.metadata?.labels?.[EVAL_LABEL] === undefined) {
        throw new Error(`namespace ${ns} exists and was not made by the eval harness; not touching it`);
      }
      await this.rest
        .request('DELETE', `/api/v1/namespaces/${ns}/pods`, { query: { gracePeriodSeconds: 0 } })
        .catch(() => undefined);
      await this.rest.delete('v1', 'Namespace', ns);
      await waitUntil(`leftover namespace ${ns} to go`, async () =>
        this.rest.get('v1', 'Namespace', ns).then(
          () => undefined,
          (e) => (isStatus(e, 404) ? true : Promise.reject(e)),
        ),
      );
    }
    await this.rest.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { [EVAL_LABEL]: scenario.id } },
    });
    // Pods are refused until the ServiceAccount controller has made the namespace's default account.
    await waitUntil(`ServiceAccount ${ns}/default`, () =>
      this.rest.get('v1', 'ServiceAccount', 'default', ns).then(() => true),
    );
  }

  private async ensureCrd(crd: KubeObject, scenarioId: string): Promise<void> {
    const name = crd.metadata?.name;
    if (!name) throw new Error('a CRD needs metadata.name');
    let created = false;
    try {
      await this.rest.create(crd);
      created = true;
    } catch (e) {
      if (!isStatus(e, 409)) throw e;
    }
    // Only CRDs this harness created are removed again, once no scenario uses them.
    if (created || this.crdUsers.has(name)) {
      const users = this.crdUsers.get(name) ?? new Set<string>();
      users.add(scenarioId);
      this.crdUsers.set(name, users);
    }
    await waitUntil(`CRD ${name} to be established`, async () => {
      const o = await this.rest.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', name);
      return conditionsOf(o).some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
  }

  private async createManifest(obj: KubeObject, namespace: string): Promise<void> {
    const res = await this.rest.resource(obj.apiVersion!, obj.kind!);
    const created = await this.rest.create(obj, res.namespaced ? namespace : undefined);
    if (obj.kind === 'ResourceQuota') {
      // Until the quota controller has counted usage, admission refuses every pod in the namespace.
      await waitUntil(`ResourceQuota ${created.metadata?.name} to be counted`, async () => {
        const q = await this.rest.get('v1', 'ResourceQuota', created.metadata!.name!, namespace);
        return q.status?.hard ? true : undefined;
      });
    }
  }

  private async patchStatuses(scenario: Scenario, vars: Vars): Promise<void> {
    for (const s of scenario.setup.status) {
      await this.rest.patchStatus(s.apiVersion, s.kind, s.name, scenario.namespace, fillDeep(s.status, vars));
    }
  }
}
