// The Helm chart (deploy/helm/kubemate) with real parts: helm (built pinned by test/env/helm.sh)
// lints and renders it; the rendered objects are applied to the test API server in namespaces this
// file owns, where the Deployment's pods are scheduled on kwok nodes; the RBAC it grants is checked
// with SubjectAccessReviews; its alert rules go through promtool, and every metric the dashboard
// and the rules name must be one Kubemate's registry exports (or one of the state-store and lease
// metrics named below).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { buildApp } from '../../app/wiring.js';
import { silentLogger } from '../../tools/core/logger.js';
import { testenvCacheRoot } from '../env/prepare.js';
import { adminClients, kubemateConfig, testKubeconfig, uniqueName } from '../support/kube.js';

const run = promisify(execFile);
const CHART = resolve('deploy/helm/kubemate');
/** Exported by the state stores and leases (PostgreSQL state); the dashboard and rules may name them. */
const STATE_METRICS = [
  'kubemate_state_operation_duration_seconds',
  'kubemate_state_errors_total',
  'kubemate_lease_held',
];

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are walked freely
  [k: string]: any;
};

let helm: string;
let kubectl: string;
const work = mkdtempSync(join(tmpdir(), 'kubemate-helm-'));
const nsDefault = uniqueName('chart-default');
const nsHa = uniqueName('chart-ha');
const nsOther = uniqueName('chart-other');
const releaseDefault = uniqueName('km');
const releaseHa = uniqueName('kmha');
const pvName = `${nsDefault}-data`;

async function helmCmd(...args: string[]): Promise<string> {
  const { stdout } = await run(helm, args, {
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(work, 'cache'),
      HELM_CONFIG_HOME: join(work, 'config'),
      HELM_DATA_HOME: join(work, 'data'),
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

async function render(release: string, namespace: string, ...args: string[]): Promise<Obj[]> {
  const out = await helmCmd('template', release, CHART, '--namespace', namespace, ...args);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

async function kubectlApply(objs: Obj[], namespace: string): Promise<void> {
  const file = join(work, `${namespace}-${Date.now()}.yaml`);
  writeFileSync(file, objs.map((o) => stringify(o)).join('---\n'));
  await run(kubectl, [
    '--kubeconfig',
    testKubeconfig(),
    '--context',
    'admin',
    'apply',
    '-n',
    namespace,
    '-f',
    file,
  ]);
}

const CRD_KINDS = new Set(['ServiceMonitor', 'PrometheusRule']);
const byKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: Obj[], kind: string) => {
  const found = byKind(objs, kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const podSpec = (objs: Obj[]) => one(objs, 'Deployment').spec.template.spec;

async function scheduledPods(namespace: string, release: string, want: number): Promise<V1Pod[]> {
  const { core } = adminClients();
  const deadline = Date.now() + 90_000;
  for (;;) {
    const pods = (
      await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` })
    ).items;
    const running = pods.filter((p) => p.spec?.nodeName && p.status?.phase === 'Running');
    if (running.length === want) return running;
    if (Date.now() > deadline) {
      throw new Error(
        `expected ${want} running pods in ${namespace}, have: ${pods.map((p) => `${p.metadata?.name} ${p.status?.phase} on ${p.spec?.nodeName ?? '-'} ${JSON.stringify(p.status?.conditions ?? [])}`).join('; ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Asks the API server whether the release's ServiceAccount may do something. */
async function may(
  namespace: string,
  serviceAccount: string,
  attrs: {
    verb: string;
    resource: string;
    group?: string;
    namespace?: string;
    name?: string;
    subresource?: string;
  },
): Promise<boolean> {
  const authz = adminClients().kc.makeApiClient(AuthorizationV1Api);
  const review = await authz.createSubjectAccessReview({
    body: {
      spec: {
        user: `system:serviceaccount:${namespace}:${serviceAccount}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        resourceAttributes: { group: '', ...attrs },
      },
    },
  });
  return review.status?.allowed === true;
}

const HA_POLICY = {
  version: 1,
  identities: { alice: ['slack:UALICE'] },
  bindings: [{ subjects: ['alice'], roles: ['viewer'] }],
  impersonation: {
    enabled: true,
    users: { alice: { user: 'alice@bank.example', groups: ['payments-devs'] } },
  },
};

let defaultObjs: Obj[];
let haObjs: Obj[];

beforeAll(async () => {
  helm = (await run('bash', ['test/env/helm.sh', 'path'])).stdout.trim().split('\n').at(-1)!;
  kubectl = join(testenvCacheRoot(), 'bin', 'kubectl');
  const { core } = adminClients();
  for (const ns of [nsDefault, nsHa, nsOther])
    await core.createNamespace({ body: { metadata: { name: ns } } });
  defaultObjs = await render(releaseDefault, nsDefault, '--set', 'persistence.storageClass=');
  const policyFile = join(work, 'policy-values.yaml');
  writeFileSync(
    policyFile,
    stringify({ policy: HA_POLICY, rbac: { impersonate: { groups: ['sre-readers'] } } }),
  );
  haObjs = await render(releaseHa, nsHa, '-f', join(CHART, 'values-ha.yaml'), '-f', policyFile);
});

afterAll(async () => {
  const { core, kc } = adminClients();
  for (const ns of [nsDefault, nsHa, nsOther])
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  await core.deletePersistentVolume({ name: pvName }).catch(() => undefined);
  const rbac = kc.makeApiClient((await import('@kubernetes/client-node')).RbacAuthorizationV1Api);
  for (const o of [...(defaultObjs ?? []), ...(haObjs ?? [])]) {
    if (o.kind === 'ClusterRole')
      await rbac.deleteClusterRole({ name: o.metadata.name }).catch(() => undefined);
    if (o.kind === 'ClusterRoleBinding')
      await rbac.deleteClusterRoleBinding({ name: o.metadata.name }).catch(() => undefined);
  }
});

describe('helm lint and template', () => {
  it('lints cleanly with the default and the HA values', async () => {
    expect(await helmCmd('lint', CHART, '--strict')).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(await helmCmd('lint', CHART, '--strict', '-f', join(CHART, 'values-ha.yaml'))).toContain(
      '1 chart(s) linted, 0 chart(s) failed',
    );
  });

  it('renders one replica on SQLite in a data volume, hardened, with probes and no monitoring CRDs', () => {
    const kinds = defaultObjs.map((o) => o.kind).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'NetworkPolicy',
        'PersistentVolumeClaim',
        'PodDisruptionBudget',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    const deploy = one(defaultObjs, 'Deployment');
    expect(deploy.spec.replicas).toBe(1);
    expect(deploy.spec.strategy).toEqual({ type: 'Recreate' });
    const spec = podSpec(defaultObjs);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const c = spec.containers[0];
    expect(c.image).toBe('kubemate:0.1.0');
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.startupProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    const env = Object.fromEntries(c.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(env.KUBEMATE_DATA_DIR).toBe('/data');
    expect(env.KUBEMATE_SERVER__HOST).toBe('0.0.0.0');
    expect(env.KUBEMATE_CONFIG).toBe('/etc/kubemate/kubemate.yaml');
    expect('KUBEMATE_STATE__URL' in env).toBe(false);
    expect('KUBEMATE_POLICY__FILE' in env).toBe(false);
    expect(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(
      expect.arrayContaining(['/data', '/tmp', '/etc/kubemate/kubemate.yaml']),
    );
    const claim = spec.volumes.find((v: { name: string }) => v.name === 'data').persistentVolumeClaim
      .claimName;
    expect(one(defaultObjs, 'PersistentVolumeClaim').metadata.name).toBe(claim);
    const role = one(defaultObjs, 'ClusterRole');
    const verbs = new Set(role.rules.flatMap((r: { verbs: string[] }) => r.verbs));
    expect([...verbs].sort()).toEqual(['get', 'list', 'watch']);
    expect(role.rules.some((r: { resources: string[] }) => r.resources.includes('secrets'))).toBe(false);
  });

  it('the environment it sets is a configuration Kubemate accepts', async () => {
    const c = podSpec(defaultObjs).containers[0];
    const env: Record<string, string> = {};
    for (const e of c.env as Array<{ name: string; value?: string }>)
      if (e.value !== undefined) env[e.name] = e.value;
    env.KUBEMATE_SERVER__ALLOWED_HOSTS = env.KUBEMATE_SERVER__ALLOWED_HOSTS!.replace('$(POD_IP)', '10.0.0.7');
    const configFile = join(work, 'kubemate.yaml');
    writeFileSync(
      configFile,
      one(
        defaultObjs.filter((o) => o.metadata.name.endsWith('-config')),
        'ConfigMap',
      ).data['kubemate.yaml'],
    );
    const { loadConfig } = await import('../../app/config.js');
    const { KUBEMATE_CONFIG: _file, POD_IP: _ip, ...rest } = env;
    const config = loadConfig({ file: configFile, env: rest });
    expect(config.dataDir).toBe('/data');
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 8080 });
    expect(config.server.allowedHosts).toEqual([
      'localhost',
      '127.0.0.1',
      '10.0.0.7',
      `${releaseDefault}-kubemate`,
      `${releaseDefault}-kubemate.${nsDefault}`,
      `${releaseDefault}-kubemate.${nsDefault}.svc`,
      `${releaseDefault}-kubemate.${nsDefault}.svc.cluster.local`,
    ]);
  });

  it('the values in docs/deploy.md render a configuration and policy Kubemate accepts', async () => {
    const doc = readFileSync('docs/deploy.md', 'utf8');
    const block = /```yaml\n(# my-values\.yaml\n[\s\S]*?)```/.exec(doc);
    expect(block).not.toBeNull();
    const valuesFile = join(work, 'my-values.yaml');
    writeFileSync(valuesFile, block![1]!);
    const objs = await render('docs', nsOther, '-f', valuesFile);
    const c = podSpec(objs).containers[0];
    const env: Record<string, string> = {};
    for (const e of c.env as Array<{ name: string; value?: string }>)
      if (e.value !== undefined) env[e.name] = e.value;
    const { KUBEMATE_CONFIG: _file, POD_IP: _ip, ...rest } = env;
    rest.KUBEMATE_SERVER__ALLOWED_HOSTS = rest.KUBEMATE_SERVER__ALLOWED_HOSTS!.replace(
      '$(POD_IP)',
      '10.0.0.8',
    );
    const configFile = join(work, 'docs-kubemate.yaml');
    writeFileSync(configFile, objs.find((o) => o.metadata.name.endsWith('-config'))!.data['kubemate.yaml']);
    const { loadConfig } = await import('../../app/config.js');
    const config = loadConfig({ file: configFile, env: rest });
    expect(config.llm.url).toBe('http://ollama.ai.svc:11434');
    expect(config.bots.slack.botTokenFile).toBe('/etc/kubemate/secrets/kubemate-slack/bot-token');
    expect(config.alerts.tokenFile).toBe('/etc/kubemate/secrets/kubemate-alertmanager/token');
    expect(config.policy.file).toBe('/etc/kubemate/policy/policy.yaml');
    const { parsePolicy } = await import('../../policies/policy-file.js');
    const { parse } = await import('yaml');
    const policyText = objs.find((o) => o.metadata.name.endsWith('-policy'))!.data['policy.yaml'];
    expect(parsePolicy(policyText, 'policy.yaml', parse).bindings).toHaveLength(1);
  });

  it('renders HA: replicas on PostgreSQL from a Secret, no data volume claim, policy and monitoring', () => {
    const deploy = one(haObjs, 'Deployment');
    expect(deploy.spec.replicas).toBe(3);
    expect(deploy.spec.strategy).toBeUndefined();
    expect(byKind(haObjs, 'PersistentVolumeClaim')).toHaveLength(0);
    const c = podSpec(haObjs).containers[0];
    const url = c.env.find((e: { name: string }) => e.name === 'KUBEMATE_STATE__URL');
    expect(url.valueFrom.secretKeyRef).toEqual({ name: 'kubemate-postgres', key: 'url' });
    expect(c.env.find((e: { name: string }) => e.name === 'KUBEMATE_POLICY__FILE').value).toBe(
      '/etc/kubemate/policy/policy.yaml',
    );
    one(haObjs, 'ServiceMonitor');
    one(haObjs, 'PrometheusRule');
    const policyMap = haObjs.find((o) => o.metadata.name.endsWith('-policy'))!;
    expect(parseAllDocuments(policyMap.data['policy.yaml'])[0]!.toJS()).toEqual(HA_POLICY);
  });

  it('mounts keys of existing Secrets as files and points the configuration at them', async () => {
    const objs = await render(
      'sec',
      nsOther,
      '--set-json',
      'secretFiles=[{"secret":"im","key":"bot-token","configKey":"bots.slack.botTokenFile"},{"secret":"im","key":"aes","configKey":"bots.wecom.encodingAesKeyFile"},{"secret":"am","key":"token","configKey":"alerts.tokenFile"}]',
    );
    const spec = podSpec(objs);
    const env = Object.fromEntries(
      spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]),
    );
    expect(env.KUBEMATE_BOTS__SLACK__BOT_TOKEN_FILE).toBe('/etc/kubemate/secrets/im/bot-token');
    expect(env.KUBEMATE_BOTS__WECOM__ENCODING_AES_KEY_FILE).toBe('/etc/kubemate/secrets/im/aes');
    expect(env.KUBEMATE_ALERTS__TOKEN_FILE).toBe('/etc/kubemate/secrets/am/token');
    const im = spec.volumes.find((v: { name: string }) => v.name === 'secret-im').secret;
    expect(im).toEqual({
      secretName: 'im',
      defaultMode: 0o440,
      items: [
        { key: 'bot-token', path: 'bot-token' },
        { key: 'aes', path: 'aes' },
      ],
    });
    // The configuration loader reads these variables back as the keys they name.
    const { envOverrides } = await import('../../app/config.js');
    const { values } = envOverrides({
      KUBEMATE_BOTS__WECOM__ENCODING_AES_KEY_FILE: 'x',
      KUBEMATE_ALERTS__TOKEN_FILE: 'y',
    });
    expect(values).toEqual({ bots: { wecom: { encodingAesKeyFile: 'x' } }, alerts: { tokenFile: 'y' } });
    // Nothing secret ends up in a ConfigMap.
    for (const cm of byKind(objs, 'ConfigMap'))
      expect(JSON.stringify(cm)).not.toMatch(/bot-token|secretName/);
  });

  it('refuses two replicas without PostgreSQL, and a floating image tag', async () => {
    await expect(render('bad', nsOther, '--set', 'replicaCount=2')).rejects.toThrow(/needs PostgreSQL state/);
    await expect(render('bad', nsOther, '--set', 'image.tag=latest')).rejects.toThrow(/not latest/);
    const pinned = await render('pin', nsOther, '--set', `image.digest=sha256:${'a'.repeat(64)}`);
    expect(podSpec(pinned).containers[0].image).toBe(`kubemate:0.1.0@sha256:${'a'.repeat(64)}`);
  });
});

describe('the rendered chart on a real API server', () => {
  it('applies the default render and its one pod is scheduled on a kwok node with its data volume bound', async () => {
    const { core } = adminClients();
    const claim = one(defaultObjs, 'PersistentVolumeClaim').metadata.name;
    // No provisioner here: a volume made for the claim (storageClassName "", pre-bound).
    await core.createPersistentVolume({
      body: {
        metadata: { name: pvName },
        spec: {
          capacity: { storage: '2Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: '',
          hostPath: { path: `/tmp/${pvName}` },
          claimRef: { namespace: nsDefault, name: claim },
        },
      },
    });
    await kubectlApply(defaultObjs, nsDefault);
    const [pod] = await scheduledPods(nsDefault, releaseDefault, 1);
    expect(pod!.spec!.nodeName).toMatch(/^kwok-node-/);
    expect(pod!.spec!.serviceAccountName).toBe(`${releaseDefault}-kubemate`);
    const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace: nsDefault, name: claim });
    expect(pvc.status?.phase).toBe('Bound');
  });

  it('applies the HA render and its three pods are scheduled', async () => {
    const { core } = adminClients();
    await core.createNamespacedSecret({
      namespace: nsHa,
      body: {
        metadata: { name: 'kubemate-postgres' },
        stringData: { url: 'postgres://kubemate:pw@db:5432/kubemate' },
      },
    });
    await kubectlApply(
      haObjs.filter((o) => !CRD_KINDS.has(o.kind)),
      nsHa,
    );
    const pods = await scheduledPods(nsHa, releaseHa, 3);
    for (const p of pods) expect(p.spec!.nodeName).toMatch(/^kwok-node-/);
    const pdb = await adminClients()
      .kc.makeApiClient((await import('@kubernetes/client-node')).PolicyV1Api)
      .readNamespacedPodDisruptionBudget({ namespace: nsHa, name: `${releaseHa}-kubemate` });
    expect(pdb.spec?.maxUnavailable).toBe(1);
  });

  it('grants reads and impersonation of the configured groups and users, and nothing broader', async () => {
    const sa = `${releaseHa}-kubemate`;
    const yes = async (a: Parameters<typeof may>[2]) =>
      expect(await may(nsHa, sa, a), JSON.stringify(a)).toBe(true);
    const no = async (a: Parameters<typeof may>[2]) =>
      expect(await may(nsHa, sa, a), JSON.stringify(a)).toBe(false);
    for (const verb of ['get', 'list', 'watch']) {
      await yes({ verb, resource: 'pods' });
      await yes({ verb, resource: 'deployments', group: 'apps' });
      await yes({ verb, resource: 'events', namespace: nsOther });
      await yes({ verb, resource: 'nodes' });
    }
    await yes({ verb: 'get', resource: 'pods', subresource: 'log', namespace: nsOther });
    await yes({ verb: 'impersonate', resource: 'groups', name: 'payments-devs' });
    await yes({ verb: 'impersonate', resource: 'groups', name: 'sre-readers' });
    await yes({ verb: 'impersonate', resource: 'users', name: 'alice@bank.example' });
    await yes({ verb: 'create', resource: 'leases', group: 'coordination.k8s.io', namespace: nsHa });

    await no({ verb: 'list', resource: 'secrets' });
    await no({ verb: 'get', resource: 'secrets', namespace: nsOther, name: 'x' });
    await no({ verb: 'create', resource: 'pods', namespace: nsOther });
    await no({ verb: 'delete', resource: 'pods', namespace: nsOther });
    await no({ verb: 'patch', resource: 'deployments', group: 'apps', namespace: nsOther });
    await no({ verb: 'create', resource: 'pods', subresource: 'exec', namespace: nsOther });
    await no({ verb: 'impersonate', resource: 'groups', name: 'system:masters' });
    await no({ verb: 'impersonate', resource: 'groups', name: 'other-team' });
    await no({ verb: 'impersonate', resource: 'users', name: 'admin' });
    await no({ verb: 'impersonate', resource: 'serviceaccounts', namespace: 'kube-system', name: 'default' });
    await no({ verb: 'escalate', resource: 'clusterroles', group: 'rbac.authorization.k8s.io' });
    await no({ verb: 'bind', resource: 'clusterroles', group: 'rbac.authorization.k8s.io' });
    await no({ verb: 'create', resource: 'leases', group: 'coordination.k8s.io', namespace: nsOther });
  });

  it('reads secrets cluster-wide only when asked to', async () => {
    const release = uniqueName('kmsec');
    const objs = await render(
      release,
      nsOther,
      '--set',
      'rbac.readSecrets=true',
      '--set',
      'rbac.leases=false',
    );
    const rbacOnly = objs.filter((o) =>
      ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind),
    );
    expect(rbacOnly).toHaveLength(3);
    defaultObjs.push(...rbacOnly.filter((o) => o.kind.startsWith('Cluster'))); // cleaned up afterwards
    await kubectlApply(rbacOnly, nsOther);
    const sa = `${release}-kubemate`;
    expect(await may(nsOther, sa, { verb: 'list', resource: 'secrets' })).toBe(true);
    expect(await may(nsOther, sa, { verb: 'delete', resource: 'secrets', namespace: nsHa })).toBe(false);
    expect(await may(nsOther, sa, { verb: 'impersonate', resource: 'groups', name: 'payments-devs' })).toBe(
      false,
    );
  });
});

/** Metric names in PromQL: kubemate_* identifiers, histogram series reduced to their family. */
function metricNames(exprs: string[]): Set<string> {
  const names = new Set<string>();
  for (const e of exprs) {
    for (const m of e.matchAll(/\b(kubemate_[a-z0-9_]+)/g))
      names.add(m[1]!.replace(/_(bucket|count|sum)$/, ''));
  }
  return names;
}

function exportedMetricNames(): Promise<Set<string>> {
  const app = buildApp(
    kubemateConfig({ KUBEMATE_POLICY__FILE: resolve('policy.example.yaml') }),
    silentLogger,
  );
  return app.metrics.registry
    .getMetricsAsJSON()
    .then((all) => new Set([...all.map((m) => m.name), ...STATE_METRICS]))
    .finally(() => app.close());
}

describe('alert rules and the dashboard', () => {
  it('the alert rules pass promtool check and their own unit tests', async () => {
    const rule = one(haObjs, 'PrometheusRule') as Obj & { spec: { groups: unknown[] } };
    const rulesFile = join(work, 'rules.yaml');
    writeFileSync(rulesFile, stringify(rule.spec));
    const check = await run('promtool', ['check', 'rules', rulesFile]);
    expect(check.stdout).toContain('SUCCESS: 13 rules found');
    const job = `${releaseHa}-kubemate`;
    const tests = {
      rule_files: [rulesFile],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: `kubemate_outbox_pending{job="${job}",platform="slack"}`, values: '150x30' },
            { series: `kubemate_outbox_pending{job="${job}",platform="wecom"}`, values: '3x30' },
            { series: `kubemate_lease_held{job="${job}",lease="scheduler",pod="a"}`, values: '1x30' },
            { series: `kubemate_lease_held{job="${job}",lease="scheduler",pod="b"}`, values: '1x30' },
            {
              series: `kubemate_state_errors_total{job="${job}",store="audit",op="append"}`,
              values: '0+5x30',
            },
            { series: `up{job="${job}",instance="a:8080",pod="a"}`, values: '0x30' },
          ],
          alert_rule_test: [
            {
              eval_time: '20m',
              alertname: 'KubemateOutboxBacklog',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', platform: 'slack' },
                  exp_annotations: {
                    summary: '150 chat messages wait in the slack outbox',
                    description: 'Deliveries to slack are failing or rate limited.',
                  },
                },
              ],
            },
            {
              eval_time: '20m',
              alertname: 'KubemateLeaseSplit',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', lease: 'scheduler' },
                  exp_annotations: {
                    summary: '2 replicas claim lease scheduler',
                    description: 'Scheduled work may run twice; check clock skew and the lease store.',
                  },
                },
              ],
            },
            { eval_time: '20m', alertname: 'KubemateLeaseUnheld', exp_alerts: [] },
            { eval_time: '2m', alertname: 'KubemateStateErrors', exp_alerts: [] },
            {
              eval_time: '20m',
              alertname: 'KubemateStateErrors',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', store: 'audit', op: 'append' },
                  exp_annotations: {
                    summary: 'State store audit fails on append',
                    description: 'Approvals, audit or chat state may not be written; check the database.',
                  },
                },
              ],
            },
            {
              eval_time: '20m',
              alertname: 'KubemateDown',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', job, instance: 'a:8080', pod: 'a' },
                  exp_annotations: {
                    summary: 'Kubemate pod a is not answering scrapes',
                    description:
                      'Prometheus could not scrape a:8080 for 5 minutes: the MCP endpoint, chat bots and alert triage on that pod are down.',
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const testFile = join(work, 'rules.test.yaml');
    writeFileSync(testFile, stringify(tests));
    const unit = await run('promtool', ['test', 'rules', testFile]);
    expect(unit.stdout).toContain('SUCCESS');
  });

  it('the dashboard and the rules name only metrics Kubemate exports, and cover what operators watch', async () => {
    const exported = await exportedMetricNames();
    const cm = defaultObjs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard'))!;
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(cm.data['kubemate.json']) as {
      uid: string;
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    };
    expect(dashboard.uid).toBe('kubemate-overview');
    expect(dashboard).toEqual(JSON.parse(readFileSync(join(CHART, 'files/dashboard.json'), 'utf8')));
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const used = metricNames(exprs);
    for (const name of used) expect(exported, `dashboard uses ${name}`).toContain(name);
    for (const wanted of [
      'kubemate_http_requests_total',
      'kubemate_http_request_duration_seconds',
      'kubemate_tool_calls_total',
      'kubemate_tool_duration_seconds',
      'kubemate_approvals_pending',
      'kubemate_audit_records_total',
      'kubemate_outbox_pending',
      'kubemate_alert_triage_queued',
      ...STATE_METRICS,
    ]) {
      expect(used, `the dashboard shows ${wanted}`).toContain(wanted);
    }
    expect(exprs.some((e) => e.includes('status="denied"'))).toBe(true);
    const rule = one(haObjs, 'PrometheusRule') as Obj & {
      spec: { groups: Array<{ rules: Array<{ expr: string }> }> };
    };
    const ruleNames = metricNames(rule.spec.groups.flatMap((g) => g.rules.map((r) => r.expr)));
    expect(ruleNames.size).toBeGreaterThan(5);
    for (const name of ruleNames) expect(exported, `alert rules use ${name}`).toContain(name);
  });
});
