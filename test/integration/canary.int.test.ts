// The canary toolset end to end on the real API server (with the real Gateway API, Linkerd, SMI,
// Flagger and Argo Rollouts CRDs) and a real Prometheus scraping Linkerd-shaped metrics of a good
// and a bad canary. Every write waits for a colleague's approval and is checked on the object itself.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import { hashToken } from '../../mcp/auth.js';
import { readSplit, weightPatch } from '../../tools/canary/splits.js';
import { silentLogger } from '../../tools/core/logger.js';
import { installCanaryCrds } from '../env/canary.js';
import { type PrometheusStack, startPrometheusStack, type WorkloadSpec } from '../env/prometheus.js';
import {
  adminClients,
  createDeployment,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  uniqueName,
  waitFor,
} from '../support/kube.js';
import { who } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  carol: [slack:UCAROL]
  oscar: [slack:UOSCAR]
  petra: [slack:UPETRA]
bindings:
  - subjects: [alice, carol]
    roles: [operator]
  - subjects: [oscar, petra]
    roles: [admin]
`;
const alice = who('slack:UALICE');
const carol = who('slack:UCAROL');
const oscar = who('slack:UOSCAR');
const petra = who('slack:UPETRA');

const ns = uniqueName('canary');
const GW = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
const LINKERD = { group: 'policy.linkerd.io', version: 'v1beta3', plural: 'httproutes' };
const SMI = { group: 'split.smi-spec.io', version: 'v1alpha2', plural: 'trafficsplits' };
const FLAGGER = { group: 'flagger.app', version: 'v1beta1', plural: 'canaries' };
const ARGO = { group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts' };
const RUNS = { group: 'argoproj.io', version: 'v1alpha1', plural: 'analysisruns' };

let app: App;
let stack: PrometheusStack;
let cfg: ReturnType<typeof kubemateConfig>;
const custom = () => adminClients().kc.makeApiClient(CustomObjectsApi);
type Res = typeof GW;
// biome-ignore lint/suspicious/noExplicitAny: custom objects are plain JSON
type Obj = any;

const get = (r: Res, name: string) =>
  custom().getNamespacedCustomObject({ ...r, namespace: ns, name }) as Promise<Obj>;
const create = (r: Res, body: Obj) =>
  custom().createNamespacedCustomObject({ ...r, namespace: ns, body }) as Promise<Obj>;
const weightsOf = async (name: string, r: Res = GW) =>
  ((await get(r, name)).spec.rules[0].backendRefs as Obj[]).map((b) => [b.name, b.weight]);

function route(
  name: string,
  stable: string,
  canary: string,
  stableWeight: number,
  canaryWeight: number,
  api = GW,
): Obj {
  return {
    apiVersion: `${api.group}/${api.version}`,
    kind: 'HTTPRoute',
    metadata: { name },
    spec: {
      rules: [
        {
          backendRefs: [
            { name: stable, port: 80, weight: stableWeight },
            { name: canary, port: 80, weight: canaryWeight },
          ],
        },
      ],
    },
  };
}

async function service(name: string) {
  await adminClients().core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }] } },
  });
}

async function release(base: string) {
  for (const name of [`${base}-stable`, `${base}-canary`]) {
    await createDeployment(ns, name, 1);
    await service(name);
  }
}

const linkerd = (deployment: string, errorRatio: number, p99Bound: number): WorkloadSpec => ({
  namespace: ns,
  workload: deployment,
  naming: 'linkerd',
  pods: [`${deployment}-7d9c5b6f4-x1y2z`],
  rps: 20,
  errorRatio,
  latency: { boundsMs: [10, 50, p99Bound, 5000], cumulative: [0.5, 0.9, 0.995, 1] },
});

/** The preview part of a ticket's plan (after the pipeline's own first line). */
const previewOf = (plan: string) =>
  plan
    .split('\n')
    .slice(1)
    .map((l) => l.replace(/^ {2}\| ?/, ''))
    .join('\n');

async function ask(tool: string, args: Record<string, unknown>, by = alice, approver = carol) {
  const asked = await app.pipeline.invoke(tool, { namespace: ns, ...args }, by);
  expect(asked.status, asked.text).toBe('approval_required');
  return {
    plan: previewOf(asked.ticket!.plan),
    approve: () => app.pipeline.approve(asked.ticket!.id, approver),
  };
}

const call = (tool: string, args: Record<string, unknown>) =>
  app.pipeline.invoke(tool, { namespace: ns, ...args }, alice);

/** A Flagger Canary and the HTTPRoute it owns, with the status Flagger writes. */
async function flaggerCanary(name: string) {
  // Flagger: a Canary and the HTTPRoute it owns, with the status Flagger writes.
  const canary = await create(FLAGGER, {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: name },
    spec: {
      provider: 'gatewayapi:v1',
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: name },
      service: { port: 9898 },
      analysis: { interval: '1m', threshold: 5, maxWeight: 50, stepWeight: 10 },
    },
  });
  await custom().replaceNamespacedCustomObjectStatus({
    ...FLAGGER,
    namespace: ns,
    name: name,
    body: { ...canary, status: { phase: 'Progressing', canaryWeight: 20, failedChecks: 1, iterations: 2 } },
  });
  const owned = route(name, `${name}-primary`, `${name}-canary`, 80, 20);
  owned.metadata.ownerReferences = [
    {
      apiVersion: 'flagger.app/v1beta1',
      kind: 'Canary',
      name: name,
      uid: canary.metadata.uid,
      controller: true,
    },
  ];
  await create(GW, owned);
}

/** An Argo Rollout, paused, with the TrafficSplit it owns and a failed AnalysisRun. */
async function argoRollout(name: string) {
  // Argo: a paused Rollout and a failed AnalysisRun it owns.
  const rollout = await create(ARGO, {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'registry.local/checkout:2' }] },
      },
      strategy: {
        canary: {
          stableService: `${name}-stable`,
          canaryService: `${name}-canary`,
          trafficRouting: { smi: { trafficSplitName: name } },
          steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }],
        },
      },
    },
  });
  await custom().replaceNamespacedCustomObjectStatus({
    ...ARGO,
    namespace: ns,
    name: name,
    body: {
      ...rollout,
      status: {
        phase: 'Paused',
        message: 'CanaryPauseStep',
        currentStepIndex: 1,
        pauseConditions: [{ reason: 'CanaryPauseStep', startTime: '2026-12-07T03:00:00Z' }],
        canary: { weights: { canary: { weight: 10 }, stable: { weight: 90 } } },
      },
    },
  });
  await create(SMI, {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: {
      name: name,
      ownerReferences: [
        {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Rollout',
          name: name,
          uid: rollout.metadata.uid,
          controller: true,
        },
      ],
    },
    spec: {
      service: name,
      backends: [
        { service: `${name}-stable`, weight: 90 },
        { service: `${name}-canary`, weight: 10 },
      ],
    },
  });
  // AnalysisRun has no status subresource: its status is written with the object.
  await create(RUNS, {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisRun',
    metadata: {
      name: `${name}-run-1`,
      ownerReferences: [
        {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Rollout',
          name: name,
          uid: rollout.metadata.uid,
          controller: true,
        },
      ],
    },
    spec: { metrics: [{ name: 'success-rate', provider: { prometheus: { query: 'vector(0.5)' } } }] },
    status: {
      phase: 'Failed',
      metricResults: [{ name: 'success-rate', phase: 'Failed', count: 3, failed: 3 }],
    },
  });
}

beforeAll(async () => {
  const admin = adminClients();
  await installCanaryCrds(admin.kc);
  await createNamespace(ns);
  stack = await startPrometheusStack({
    exporter: (e) => {
      e.setWorkload(linkerd('api-stable', 0.001, 100));
      e.setWorkload(linkerd('api-canary', 0.002, 100));
      e.setWorkload(linkerd('pay-stable', 0.001, 100));
      e.setWorkload(linkerd('pay-canary', 0.3, 2000));
      e.setWorkload(linkerd('up-stable', 0.001, 100));
      e.setWorkload(linkerd('up-canary', 0.001, 100));
      e.setWorkload(linkerd('prog-good-stable', 0.001, 100));
      e.setWorkload(linkerd('prog-good-canary', 0.001, 100));
      e.setWorkload(linkerd('prog-bad-stable', 0.001, 100));
      e.setWorkload(linkerd('prog-bad-canary', 0.25, 100));
    },
  });
  for (const base of [
    'api',
    'pay',
    'mesh',
    'meshw',
    'smi',
    'gone',
    'race',
    'prog-good',
    'prog-bad',
    'up',
    'down',
    'input',
    'replan',
  ])
    await release(base);
  await service('single');
  await create(GW, route('api', 'api-stable', 'api-canary', 90, 10));
  await create(GW, route('pay', 'pay-stable', 'pay-canary', 90, 10));
  await create(GW, route('gone', 'gone-stable', 'gone-canary', 90, 10));
  for (const name of ['race', 'up', 'down', 'input', 'replan'])
    await create(GW, route(name, `${name}-stable`, `${name}-canary`, 90, 10));
  await create(GW, route('prog-good', 'prog-good-stable', 'prog-good-canary', 90, 10));
  await create(GW, route('prog-bad', 'prog-bad-stable', 'prog-bad-canary', 90, 10));
  await create(GW, {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'single' },
    spec: { rules: [{ backendRefs: [{ name: 'single', port: 80 }] }] },
  });
  await create(LINKERD, route('mesh', 'mesh-stable', 'mesh-canary', 80, 20, LINKERD));
  await create(SMI, {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: { name: 'smi' },
    spec: {
      service: 'smi',
      backends: [
        { service: 'smi-stable', weight: 75 },
        { service: 'smi-canary', weight: 25 },
      ],
    },
  });
  await flaggerCanary('podinfo');
  await argoRollout('checkout');
  cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_OBSERVABILITY__PROMETHEUS: [{ url: stack.prometheusUrl, timeoutSeconds: 5 }],
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger);
  // Enough scrapes for rates over the 20 s windows the tests use.
  await waitFor(
    'Prometheus to have 10 s of the canaries',
    async () => {
      const r = await fetch(
        `${stack.prometheusUrl}/api/v1/query?query=${encodeURIComponent(`count_over_time(response_total{namespace="${ns}"}[30s])`)}`,
      );
      const body = (await r.json()) as Obj;
      return body.data.result.length > 0 && Number(body.data.result[0].value[1]) >= 10 ? true : undefined;
    },
    60_000,
  );
}, 180_000);

afterAll(async () => {
  app?.close();
  await stack?.stop();
  await deleteNamespace(ns);
});

const WINDOW = { window: '20s' };

describe('canary reads', () => {
  it('canary_list finds every split and controller with weights and who is in charge', async () => {
    const r = await call('canary_list', {});
    expect(r.status, r.text).toBe('success');
    const items = (r.structured as Obj).items as Obj[];
    const row = (name: string) => items.find((i) => i.name === name);
    expect(row('api')).toMatchObject({
      kind: 'HTTPRoute',
      weights: 'api-stable 90%, api-canary 10%',
      controller: 'none',
      phase: 'manual',
    });
    expect(row('mesh')).toMatchObject({
      kind: 'Linkerd HTTPRoute',
      weights: 'mesh-stable 80%, mesh-canary 20%',
    });
    expect(row('smi')).toMatchObject({ kind: 'TrafficSplit', weights: 'smi-stable 75%, smi-canary 25%' });
    expect(row('podinfo')).toMatchObject({ controller: 'Flagger Canary podinfo', phase: 'Progressing' });
    expect(row('checkout')).toMatchObject({
      kind: 'TrafficSplit',
      weights: 'checkout-stable 90%, checkout-canary 10%',
      controller: 'Argo Rollout checkout',
      phase: 'Paused',
    });
    expect(row('single')).toBeUndefined();
    expect((r.structured as Obj).missing).toEqual([]);
    const all = await call('canary_list', { all: true });
    expect(((all.structured as Obj).items as Obj[]).find((i) => i.name === 'single')?.weights).toBe(
      'not weighted',
    );
  });

  it('canary_status shows weights, the Deployments behind the backends and the controller', async () => {
    await waitFor('the api Deployments to be ready', async () => {
      const d = await adminClients().apps.readNamespacedDeployment({ namespace: ns, name: 'api-canary' });
      return d.status?.readyReplicas === 1 ? true : undefined;
    });
    const r = await call('canary_status', { name: 'api' });
    expect(r.status, r.text).toBe('success');
    expect(r.text).toContain(`HTTPRoute ${ns}/api rule 0: api-stable 90%, api-canary 10%`);
    expect(r.text).toContain('api-canary: Deployment api-canary 1/1 ready, registry.local/api-canary:1.0');
    expect(r.text).toContain('controller: none');
    expect((r.structured as Obj).weights).toEqual({ 'api-stable': 90, 'api-canary': 10 });

    const flagger = await call('canary_status', { name: 'podinfo' });
    expect(flagger.text).toContain(
      'controller: Flagger Canary podinfo: phase Progressing, canary weight 20%, iteration 2, 1 failed check of 5 allowed',
    );

    const argo = await call('canary_status', { name: 'checkout' });
    expect(argo.text).toContain(`TrafficSplit ${ns}/checkout: checkout-stable 90%, checkout-canary 10%`);
    expect(argo.text).toContain(
      'controller: Argo Rollout checkout: phase Paused, canary weight 10%, step 1 of 3, paused (CanaryPauseStep)',
    );
    expect(argo.text).toContain('analysis run checkout-run-1: Failed');
    expect(argo.text).toContain('success-rate: Failed, 3 measurements, 3 failed');
  });

  it('canary_status of an unknown name says what there is', async () => {
    const r = await call('canary_status', { name: 'apx' });
    expect(r.status).toBe('error');
    expect(r.text).toContain(`no canary named 'apx' in namespace ${ns}`);
    expect(r.text).toContain("did you mean 'api'?");
  });
});

describe('canary_analyze', () => {
  it('passes the good canary with its numbers and PromQL', async () => {
    const r = await call('canary_analyze', { name: 'api', ...WINDOW });
    expect(r.status, r.text).toBe('success');
    const s = r.structured as Obj;
    expect(s.verdict).toBe('pass');
    expect(s.canary).toBe('api-canary');
    expect(s.stable).toBe('api-stable');
    expect(s.requests).toBeGreaterThan(100);
    const rate = s.checks.find((c: Obj) => c.name === 'success rate %');
    expect(rate.value).toBeCloseTo(99.8, 1);
    expect(rate.stable).toBeCloseTo(99.9, 1);
    expect(rate.query).toContain(`deployment="api-canary"`);
    expect(r.text).toContain('over 20s: PASS');
  });

  it('fails the bad canary, naming the checks that failed', async () => {
    const r = await call('canary_analyze', { name: 'pay', ...WINDOW });
    const s = r.structured as Obj;
    expect(s.verdict, r.text).toBe('fail');
    expect(s.checks.find((c: Obj) => c.name === 'success rate %').value).toBeCloseTo(70, 0);
    expect(s.checks.find((c: Obj) => c.name === 'p99 latency ms').result).toBe('fail');
    expect(r.text).toContain('FAIL (failed: success rate % 70');
  });

  it('is inconclusive with too little traffic, and evaluates metric templates', async () => {
    const few = await call('canary_analyze', { name: 'api', ...WINDOW, minRequests: 1_000_000 });
    expect((few.structured as Obj).verdict).toBe('inconclusive');
    expect(few.text).toContain('fewer than the 1000000 needed');
    const t = await call('canary_analyze', {
      name: 'pay',
      ...WINDOW,
      minSuccessRate: 50,
      maxLatencyP99Ms: 10_000,
      metrics: [
        {
          name: 'error ratio',
          query:
            'sum(rate(response_total{namespace="{{namespace}}",deployment="{{target}}",classification="failure"}[{{interval}}])) / sum(rate(response_total{namespace="{{namespace}}",deployment="{{target}}"}[{{interval}}]))',
          max: 0.05,
        },
      ],
    });
    const check = (t.structured as Obj).checks.find((c: Obj) => c.name === 'error ratio');
    expect(check.query).toBe(
      `sum(rate(response_total{namespace="${ns}",deployment="pay-canary",classification="failure"}[20s])) / sum(rate(response_total{namespace="${ns}",deployment="pay-canary"}[20s]))`,
    );
    expect(check.value).toBeCloseTo(0.3, 2);
    expect(check.stable).toBeCloseTo(0.001, 3);
    expect(check.result).toBe('fail');
  });
});

describe('canary writes', () => {
  it('shift 10 → 50 waits for approval, shows before → after and the verdict, then changes the HTTPRoute', async () => {
    const { plan, approve } = await ask('canary_shift', {
      name: 'up',
      weights: { 'up-stable': 50, 'up-canary': 50 },
      ...WINDOW,
    });
    expect(plan).toContain(
      `shift HTTPRoute ${ns}/up in cluster 'admin': up-stable 90% → 50%, up-canary 10% → 50%`,
    );
    expect(plan).toContain(': PASS (every check is within its threshold)');
    expect(await weightsOf('up')).toEqual([
      ['up-stable', 90],
      ['up-canary', 10],
    ]);
    const done = await approve();
    expect(done.status, done.text).toBe('success');
    expect(done.text).toContain('Shifted HTTPRoute');
    expect(await weightsOf('up')).toEqual([
      ['up-stable', 50],
      ['up-canary', 50],
    ]);
  });

  it('refuses to shift towards a failing canary; the forced variant needs the admin verb', async () => {
    const { plan, approve } = await ask('canary_shift', { name: 'pay', step: 10, ...WINDOW });
    expect(plan).toContain('refusing to send more traffic to the canary');
    const done = await approve();
    expect(done.status).toBe('error');
    expect(done.text).toContain('the analysis fails');
    expect(await weightsOf('pay')).toEqual([
      ['pay-stable', 90],
      ['pay-canary', 10],
    ]);

    const denied = await call('canary_shift_forced', { name: 'pay', step: 10, ...WINDOW });
    expect(denied.status).toBe('denied');
    const forced = await ask('canary_shift_forced', { name: 'pay', step: 10, ...WINDOW }, oscar, petra);
    expect(forced.plan).toContain('FORCED');
    const forcedDone = await forced.approve();
    expect(forcedDone.status, forcedDone.text).toBe('success');
    expect(await weightsOf('pay')).toEqual([
      ['pay-stable', 80],
      ['pay-canary', 20],
    ]);
  });

  it('rollback puts 100 % on stable', async () => {
    const { plan, approve } = await ask('canary_rollback', { name: 'down' });
    expect(plan).toContain('down-stable 90% → 100%, down-canary 10% → 0%');
    expect((await approve()).status).toBe('success');
    expect(await weightsOf('down')).toEqual([
      ['down-stable', 100],
      ['down-canary', 0],
    ]);
  });

  it('shifts a Linkerd HTTPRoute and an SMI TrafficSplit the same way', async () => {
    await create(LINKERD, route('meshw', 'meshw-stable', 'meshw-canary', 80, 20, LINKERD));
    await create(SMI, {
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: { name: 'smiw' },
      spec: {
        service: 'smiw',
        backends: [
          { service: 'smiw-stable', weight: 75 },
          { service: 'smiw-canary', weight: 25 },
        ],
      },
    });
    const mesh = await ask('canary_shift', { name: 'meshw', step: 30, ...WINDOW, minRequests: 1 });
    expect(mesh.plan).toContain('meshw-stable 80% → 50%, meshw-canary 20% → 50%');
    expect((await mesh.approve()).status).toBe('success');
    expect(await weightsOf('meshw', LINKERD)).toEqual([
      ['meshw-stable', 50],
      ['meshw-canary', 50],
    ]);

    const smi = await ask('canary_rollback', { name: 'smiw' });
    expect((await smi.approve()).status).toBe('success');
    expect(((await get(SMI, 'smiw')).spec.backends as Obj[]).map((b) => [b.service, b.weight])).toEqual([
      ['smiw-stable', 100],
      ['smiw-canary', 0],
    ]);
  });

  it('Flagger and Argo are driven through their own resources, never by re-weighting', async () => {
    await flaggerCanary('podinfo-w');
    await argoRollout('checkout-w');
    const shift = await call('canary_shift', { name: 'podinfo-w', step: 10 });
    expect(shift.status).toBe('approval_required');
    const refused = await app.pipeline.approve(shift.ticket!.id, carol);
    expect(refused.text).toContain('Flagger Canary');
    expect(refused.text).toContain('Kubemate does not fight its controller');
    expect(await weightsOf('podinfo-w')).toEqual([
      ['podinfo-w-primary', 80],
      ['podinfo-w-canary', 20],
    ]);

    const promote = await ask('canary_promote', { name: 'podinfo-w' });
    expect(promote.plan).toContain('set spec.skipAnalysis to true');
    expect((await promote.approve()).status).toBe('success');
    expect((await get(FLAGGER, 'podinfo-w')).spec.skipAnalysis).toBe(true);

    const full = await ask('canary_promote', { name: 'checkout-w' });
    expect(full.plan).toContain('set status.promoteFull');
    expect((await full.approve()).status).toBe('success');
    expect((await get(ARGO, 'checkout-w')).status.promoteFull).toBe(true);

    const abort = await ask('canary_rollback', { name: 'checkout-w' });
    expect(abort.plan).toContain('set status.abort');
    expect((await abort.approve()).status).toBe('success');
    expect((await get(ARGO, 'checkout-w')).status.abort).toBe(true);
  });
});

describe('canary bad input: clear errors, nothing changed', () => {
  it('weights that do not add up, and unknown backends, are refused before any ticket', async () => {
    const sum = await call('canary_shift', {
      name: 'input',
      weights: { 'input-stable': 50, 'input-canary': 40 },
    });
    expect(
      sum.status === 'approval_required'
        ? (await app.pipeline.approve(sum.ticket!.id, carol)).text
        : sum.text,
    ).toContain('weights must add up to 100 (percent); these add up to 90');
    const unknown = await call('canary_shift', { name: 'input', weights: { 'input-canry': 100 } });
    const text =
      unknown.status === 'approval_required'
        ? (await app.pipeline.approve(unknown.ticket!.id, carol)).text
        : unknown.text;
    expect(text).toContain("'input-canry'; did you mean 'input-canary'?");
    const both = await call('canary_shift', { name: 'input', step: 10, weights: { 'input-stable': 100 } });
    expect(both.status).toBe('invalid');
    expect(both.text).toContain('give either weights or step');
    expect(await weightsOf('input')).toEqual([
      ['input-stable', 90],
      ['input-canary', 10],
    ]);
  });

  it('a route with no weighted backends says so', async () => {
    const { approve } = await ask('canary_rollback', { name: 'single' });
    const r = await approve();
    expect(r.status).toBe('error');
    expect(r.text).toContain(`HTTPRoute ${ns}/single has no weighted backends`);
  });

  it('the weight patch is refused by the API server when the split changed since it was read', async () => {
    const stale = readSplit('httproute', await get(GW, 'race'));
    await custom().patchNamespacedCustomObject({
      ...GW,
      namespace: ns,
      name: 'race',
      body: [
        { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 11 },
        { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 89 },
      ],
    });
    const err = await custom()
      .patchNamespacedCustomObject({
        ...GW,
        namespace: ns,
        name: 'race',
        body: weightPatch(stale, { 'race-stable': 0, 'race-canary': 100 }),
      })
      .then(
        () => undefined,
        (e: { code?: number }) => e,
      );
    expect(err?.code).toBe(422);
    expect(await weightsOf('race')).toEqual([
      ['race-stable', 89],
      ['race-canary', 11],
    ]);
  });

  it('a split changed between plan and approval is re-planned from what is there at approval', async () => {
    const { approve } = await ask('canary_shift', { name: 'replan', step: 10, ...WINDOW, minRequests: 1 });
    // The handler re-reads before writing; a write landing between its read and its patch is what
    // the resourceVersion test catches. Here another writer changes it after the plan: the handler
    // plans from the new state, so a step applies to what is there now.
    await custom().patchNamespacedCustomObject({
      ...GW,
      namespace: ns,
      name: 'replan',
      body: [
        { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 30 },
        { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 70 },
      ],
    });
    const r = await approve();
    expect(r.status, r.text).toBe('success');
    expect(r.text).toContain('replan-stable 70% → 60%, replan-canary 30% → 40%');
    expect(await weightsOf('replan')).toEqual([
      ['replan-stable', 60],
      ['replan-canary', 40],
    ]);
  });

  it('a canary deleted mid-plan fails clearly', async () => {
    const { approve } = await ask('canary_rollback', { name: 'gone' });
    await custom().deleteNamespacedCustomObject({ ...GW, namespace: ns, name: 'gone' });
    const r = await approve();
    expect(r.status).toBe('error');
    expect(r.text).toContain("no canary named 'gone'");
  });
});

// Shifts and progressions wait for a second person; a rollback does not (the on-call fast path:
// no approvals rule matches it).
const PROGRESS_POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  carol: [slack:UCAROL]
bindings:
  - subjects: [alice, carol]
    roles: [operator]
approvals:
  - tools: [canary_progress, "canary_shift*", canary_promote]
    approvers: { count: 1 }
`;

describe('canary_progress', () => {
  const reports: string[] = [];
  let dataDir: string;

  function progressApp(): App {
    const policyFile = join(dataDir, 'progress-policy.yaml');
    writeFileSync(policyFile, PROGRESS_POLICY);
    const a = buildApp({ ...cfg, dataDir, policy: { ...cfg.policy, file: policyFile } }, silentLogger);
    a.canaryNotifiers.push({ notify: (plan, text) => void reports.push(`${plan.name}: ${text}`) });
    return a;
  }

  async function start(a: App, name: string, steps: number[]) {
    const asked = await a.pipeline.invoke(
      'canary_progress',
      { namespace: ns, name, steps, intervalSeconds: 1, ...WINDOW, minRequests: 1 },
      alice,
    );
    expect(asked.status, asked.text).toBe('approval_required');
    expect(previewOf(asked.ticket!.plan)).toContain(`the canary ${name}-canary to ${steps.join('% → ')}%`);
    // The approver sees the thresholds the caller chose (here a relaxed request count).
    expect(previewOf(asked.ticket!.plan)).toContain(
      'Passing means: success rate ≥ 99%, p99 ≤ 500 ms, at least 1 requests',
    );
    const started = await a.pipeline.approve(asked.ticket!.id, carol);
    expect(started.status, started.text).toBe('success');
    return (started.structured as Obj).id as string;
  }

  beforeAll(() => {
    dataDir = kubemateConfig().dataDir;
  });

  it('takes a chat thread to report in only from chat', async () => {
    const a = progressApp();
    try {
      const asked = await a.pipeline.invoke(
        'canary_progress',
        {
          namespace: ns,
          name: 'prog-bad',
          steps: [25],
          thread: { channel: 'C0PRIVATE', threadId: '1' },
          ...WINDOW,
        },
        { ...alice, source: 'mcp-http' },
      );
      const ran = asked.ticket ? await a.pipeline.approve(asked.ticket.id, carol) : asked;
      expect(ran.isError).toBe(true);
      expect(ran.text).toContain('thread is set by the chat surface');
      expect(reports.some((r) => r.startsWith('prog-bad'))).toBe(false);
    } finally {
      a.close();
    }
  });

  it('rolls back by itself when a step fails its analysis', async () => {
    const a = progressApp();
    try {
      const id = await start(a, 'prog-bad', [25, 50, 100]);
      await a.canaryRunner.tick();
      expect(await weightsOf('prog-bad')).toEqual([
        ['prog-bad-stable', 100],
        ['prog-bad-canary', 0],
      ]);
      const plan = (await a.canaryPlans.get(id))!;
      expect(plan.state).toBe('rolled_back');
      expect(plan.history.at(-1)!.text).toContain('analysis failed before step 1');
      expect(reports.at(-1)).toContain('prog-bad: canary');
      expect(reports.at(-1)).toContain('rolled back: all traffic on stable');
      const status = await a.pipeline.invoke('canary_progress_status', { id }, alice);
      expect(status.text).toContain(`${id} ${ns}/prog-bad: rolled_back`);
    } finally {
      a.close();
    }
  });

  it('takes each step after a passing analysis and its approval, and continues after a restart', async () => {
    const first = progressApp();
    const id = await start(first, 'prog-good', [50, 100]);
    await first.canaryRunner.tick();
    let plan = (await first.canaryPlans.get(id))!;
    expect(plan.state).toBe('waiting');
    const ticket = plan.waiting!.ticket;
    expect((await first.pipeline.approve(ticket, carol)).status).toBe('success');
    expect(await weightsOf('prog-good')).toEqual([
      ['prog-good-stable', 50],
      ['prog-good-canary', 50],
    ]);
    first.close();

    // A new process on the same data directory picks the plan up where it was.
    const second = progressApp();
    try {
      await second.canaryRunner.tick();
      plan = (await second.canaryPlans.get(id))!;
      expect(plan.state).toBe('running');
      expect(plan.step).toBe(1);
      await new Promise((r) => setTimeout(r, 1100));
      await second.canaryRunner.tick();
      plan = (await second.canaryPlans.get(id))!;
      expect(plan.state).toBe('waiting');
      expect((await second.pipeline.approve(plan.waiting!.ticket, carol)).status).toBe('success');
      await second.canaryRunner.tick();
      plan = (await second.canaryPlans.get(id))!;
      expect(plan.state).toBe('completed');
      expect(await weightsOf('prog-good')).toEqual([
        ['prog-good-stable', 0],
        ['prog-good-canary', 100],
      ]);
      expect(reports.filter((r) => r.startsWith('prog-good'))).toEqual([
        expect.stringContaining('step 1: analysis passes; shift to 50% waits for approval'),
        expect.stringContaining('step 1 done: the canary has 50%'),
        expect.stringContaining('step 2: analysis passes; shift to 100% waits for approval'),
        expect.stringContaining('completed: the canary has 100% of the traffic'),
      ]);
    } finally {
      second.close();
    }
  });

  it('refuses a progression over a split a controller runs, and steps that do not rise', async () => {
    const a = progressApp();
    try {
      const bad = await a.pipeline.invoke(
        'canary_progress',
        { namespace: ns, name: 'api', steps: [50, 20] },
        alice,
      );
      expect(bad.status).toBe('invalid');
      expect(bad.text).toContain('steps must rise');
      const asked = await a.pipeline.invoke(
        'canary_progress',
        { namespace: ns, name: 'podinfo', steps: [50] },
        alice,
      );
      const r = await a.pipeline.approve(asked.ticket!.id, carol);
      expect(r.status).toBe('error');
      expect(r.text).toContain('runs this release');
      expect((await a.canaryPlans.list()).filter((p) => p.name === 'podinfo')).toEqual([]);
    } finally {
      a.close();
    }
  });
});

describe('Flagger confirm webhooks', () => {
  const TOKEN = 'flagger-webhook-token-0123456789';
  const GATE_POLICY = `
version: 1
identities:
  flagger: [token:flagger]
  carol: [slack:UCAROL]
bindings:
  - subjects: [flagger, carol]
    roles: [operator]
`;

  it('a confirm-promotion webhook waits until a colleague approves, then lets Flagger go on', async () => {
    const dataDir = kubemateConfig().dataDir;
    const policyFile = join(dataDir, 'gate-policy.yaml');
    writeFileSync(policyFile, GATE_POLICY);
    const gateCfg = kubemateConfig({
      KUBEMATE_DATA_DIR: dataDir,
      KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
      KUBEMATE_AUTH__TOKENS: [
        { name: 'flagger', sha256: hashToken(TOKEN), principal: { id: 'token:flagger', groups: [] } },
      ],
    });
    const a = buildApp({ ...gateCfg, policy: { ...gateCfg.policy, file: policyFile } }, silentLogger);
    const server = await buildHttpServer(a);
    try {
      const body = {
        name: 'podinfo',
        namespace: ns,
        phase: 'Promoting',
        checksum: '6d8f9c7b5',
        metadata: {},
      };
      const hook = (payload: unknown, auth = `Bearer ${TOKEN}`, gate = 'confirm-promotion') =>
        server.inject({
          method: 'POST',
          url: `/flagger/${gate}`,
          headers: { authorization: auth, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });

      expect((await hook(body, 'Bearer wrong')).statusCode).toBe(401);
      const bad = await hook({ namespace: ns });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toContain('name');
      // Without the release's checksum one approval would open the gate for every later release.
      const { checksum: _, ...unidentified } = body;
      const noChecksum = await hook(unidentified);
      expect(noChecksum.statusCode).toBe(400);
      expect(noChecksum.json().error).toContain('checksum is missing');
      expect((await hook(body, 'Bearer x', 'confirm-anything')).statusCode).toBe(401);
      expect((await hook(body, `Bearer ${TOKEN}`, 'confirm-anything')).statusCode).toBe(404);

      const first = await hook(body);
      expect(first.statusCode).toBe(403);
      const ticket = first.json().ticket as string;
      expect(first.json().message).toBe(`waiting for approval of ticket ${ticket}`);
      // Flagger asks again at its next interval: the same ticket, no second one.
      const again = await hook(body);
      expect(again.statusCode).toBe(403);
      expect(again.json().ticket).toBe(ticket);
      expect((await a.approvals!.get(ticket)).plan).toContain(
        `let Flagger promote the canary to primary for Canary ${ns}/podinfo`,
      );

      // The webhook's own principal cannot approve its own request (four eyes).
      const self = await a.pipeline.approve(ticket, { id: 'token:flagger', groups: [], source: 'mcp-http' });
      expect(self.status).toBe('denied');
      const approved = await a.pipeline.approve(ticket, carol);
      expect(approved.status, approved.text).toBe('success');
      const open = await hook(body);
      expect(open.statusCode).toBe(200);
      expect(open.json().open).toBe(true);

      // The token may also come in the webhook's metadata; a new release needs a new approval.
      const next = await hook({ ...body, checksum: 'a1b2c3', metadata: { token: TOKEN } }, '');
      expect(next.statusCode).toBe(403);
      expect(next.json().ticket).not.toBe(ticket);
    } finally {
      await server.close();
      a.close();
    }
  });
});
