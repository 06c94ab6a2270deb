// Degraded mode (no model) on the real cluster with the shipped runbooks: a plain question that
// names a service and a namespace is answered from the cluster's diagnosis and the runbook
// sections for what was found. Names and numbers are drawn per run.
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import type { KnowledgeBase } from '../../rag/knowledge-base.js';
import { silentLogger } from '../../tools/core/logger.js';
import { makeAgent } from '../support/agent-harness.js';
import {
  adminClients,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  uniqueName,
  waitFor,
  waitForRunningPods,
} from '../support/kube.js';
import { shippedKnowledgeBase } from '../support/runbooks.js';

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const ns = uniqueName(pick(['trading', 'billing', 'claims']));
const service = `${pick(['quotes', 'pricer', 'ledger-writer', 'fx-rates'])}-${Math.random().toString(36).slice(2, 6)}`;
const limit = `${pick([160, 256, 448])}Mi`;
const restarts = pick([4, 7, 12]);
const me = { id: 'local:test', groups: ['local'], source: 'cli' as const };

let app: App;
let kb: KnowledgeBase;

beforeAll(async () => {
  await createNamespace(ns);
  const { apps, core } = adminClients();
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: service, labels: { app: service } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: service } },
        template: {
          metadata: { labels: { app: service } },
          spec: {
            containers: [
              { name: 'server', image: 'registry.local/server:3', resources: { limits: { memory: limit } } },
            ],
          },
        },
      },
    },
  });
  const pods = await waitForRunningPods(ns, `app=${service}`, 2);
  for (const p of pods) {
    await waitFor('crash-loop status written', async () => {
      const pod: V1Pod = await core.readNamespacedPod({ namespace: ns, name: p.metadata!.name! });
      const now = Date.now();
      pod.status!.conditions = pod.status!.conditions!.map((c) =>
        c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False' } : c,
      );
      pod.status!.containerStatuses = [
        {
          name: 'server',
          image: 'registry.local/server:3',
          imageID: '',
          ready: false,
          restartCount: restarts,
          state: {
            waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' },
          },
          lastState: {
            terminated: {
              exitCode: 137,
              reason: 'OOMKilled',
              startedAt: new Date(now - 90_000),
              finishedAt: new Date(now - 60_000),
            },
          },
        },
      ];
      await core.replaceNamespacedPodStatus({ namespace: ns, name: pod.metadata!.name!, body: pod });
      return true;
    });
  }
  app = buildApp(kubemateConfig(), silentLogger);
  kb = await shippedKnowledgeBase();
}, 120_000);

afterAll(async () => {
  app?.close();
  await kb?.close();
  await deleteNamespace(ns);
});

const ask = (question: string) =>
  makeAgent({ pipeline: app.pipeline, llm: null, runbooks: kb }).agent.ask({ question, principal: me });

describe('degraded mode resolves the objects a question names', () => {
  it('reads the named service in the named namespace and answers with its diagnosis and runbook sections', async () => {
    const answer = await ask(`why does the ${service} service in namespace ${ns} keep restarting?`);
    expect(answer.status).toBe('degraded');
    expect(answer.text).toMatch(/^The model is offline/);
    const describe = answer.toolCalls.find((c) => c.name === 'workload_describe');
    expect(describe).toMatchObject({
      args: { namespace: ns, kind: 'Deployment', name: service },
      status: 'success',
    });
    expect(answer.text).toContain('2 pods CrashLoopBackOff (container server)');
    expect(answer.text).toContain(`last exit OOMKilled (exit code 137) (memory limit ${limit})`);
    expect(answer.text).toContain('What the runbooks say about what I found:');
    expect(answer.citations.map((c) => c.source)).toContain('kubemate/oomkilled.md');
    expect(answer.text).not.toContain('I did not understand a command');
  });

  it('a pod named with its namespace gets the pod diagnosis', async () => {
    const [pod] = (await adminClients().core.listNamespacedPod({ namespace: ns })).items;
    const answer = await ask(
      `${ns}/${pod!.metadata!.name} has restarted ${restarts} times, what is going on`,
    );
    expect(answer.toolCalls.find((c) => c.name === 'workload_describe')?.args).toEqual({
      namespace: ns,
      kind: 'Pod',
      name: pod!.metadata!.name,
    });
    expect(answer.text).toContain('OOMKilled');
  });

  it('a service that does not exist reads nothing more and answers from the runbooks, with help', async () => {
    const answer = await ask(`why does the nonexistent-${service} service in namespace ${ns} crash?`);
    expect(answer.toolCalls.map((c) => c.name)).not.toContain('workload_describe');
    expect(answer.toolCalls.find((c) => c.name === 'namespace_summary')?.args).toEqual({ namespace: ns });
    const none = await ask('how do I read the previous logs of a crashing container?');
    expect(none.toolCalls).toEqual([]);
    expect(none.text).toContain('I did not understand a command in that');
  });
});
