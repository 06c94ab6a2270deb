import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupIdOf } from '../../alerts/store.js';
import { type Alerts, buildAlerts } from '../../app/alerts.js';
import { buildBots } from '../../app/bots.js';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import type { SlackBot } from '../../bots/slack/bot.js';
import { buildMcpServer } from '../../mcp/server.js';
import type { Principal } from '../../policies/types.js';
import { silentLogger } from '../../tools/core/logger.js';
import {
  freePort,
  type PrometheusStack,
  startPrometheusStack,
  type WorkloadSpec,
} from '../env/prometheus.js';
import {
  adminClients,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  uniqueName,
} from '../support/kube.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';
import { MemoryAudit } from '../support/pipeline.js';
import {
  actionPress,
  BOT_TOKEN,
  buttonPress,
  type SlackMessage,
  type SlackServer,
  signed,
  startSlackServer,
} from '../support/slack-server.js';

/**
 * Alert triage end to end with real parts: the real Prometheus fires a real rule, the real
 * Alertmanager posts its webhook (bearer token) to Kubemate's HTTP server, and the thread on the
 * local Slack server gets a live summary, the alert, and a triage whose enrichment names the cause
 * planted on the real test cluster (pods that cannot be scheduled); then the alert resolves.
 */

const TOKEN = 'alertmanager-webhook-token-for-tests';
const SIGNING_SECRET = 'alerts-slack-signing-secret';
const CHANNEL = 'C0ALERTS';
const ns = uniqueName('alerts');
const POLICY = `
version: 1
identities:
  triage: [alert:triage]
  bob: [slack:UBOB, token:bob-ide]
  carol: [slack:UCAROL]
  mallory: [slack:UMAL, token:mallory-ide]
bindings:
  - subjects: [triage]
    roles: [viewer]
  - subjects: [bob, carol]
    roles: [operator]
`;

let slack: SlackServer;
let ollama: ScriptedOllama;
let stack: PrometheusStack;
let app: App;
let bot: SlackBot;
let alerts: Alerts;
let server: FastifyInstance;
let url: string;
const audit = new MemoryAudit();

const failing: WorkloadSpec = {
  namespace: ns,
  workload: 'api',
  naming: 'linkerd',
  pods: ['api-7d9c-x1'],
  rps: 20,
  errorRatio: 0.5,
  latency: { boundsMs: [10, 100, 1000], cumulative: [0.5, 0.9, 1] },
};

const waitFor = async (what: string, check: () => boolean | Promise<boolean>, ms = 60_000) => {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

beforeAll(async () => {
  slack = await startSlackServer();
  ollama = await startScriptedOllama();
  await createNamespace(ns);
  // The planted cause: a Deployment whose pods ask for more CPU than any node has.
  await adminClients().apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'api', labels: { app: 'api' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: {
            containers: [
              { name: 'main', image: 'registry.local/api:2.0', resources: { requests: { cpu: '640' } } },
            ],
          },
        },
      },
    },
  });

  // Alertmanager posts to the port Kubemate will listen on (it retries until Kubemate is up).
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  stack = await startPrometheusStack({
    alertmanagerConfig: `route:
  receiver: kubemate
  group_by: [alertname, namespace]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: kubemate
    webhook_configs:
      - url: ${url}/api/alerts
        send_resolved: true
        http_config:
          authorization:
            credentials: ${TOKEN}
`,
  });
  const cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__URL: ollama.url,
    KUBEMATE_OBSERVABILITY__PROMETHEUS: [{ url: stack.prometheusUrl, timeoutSeconds: 5 }],
    KUBEMATE_BOTS__SLACK__ENABLED: 'true',
    KUBEMATE_BOTS__SLACK__BOT_TOKEN: BOT_TOKEN,
    KUBEMATE_BOTS__SLACK__SIGNING_SECRET: SIGNING_SECRET,
    KUBEMATE_BOTS__SLACK__CHANNELS: [{ id: CHANNEL, allowWrites: true }],
    KUBEMATE_OBSERVABILITY__ALERTMANAGER: [{ url: stack.alertmanagerUrl, timeoutSeconds: 5 }],
    KUBEMATE_BOTS__SLACK__API_URL: slack.apiUrl,
    KUBEMATE_BOTS__SLACK__PER_CHANNEL_INTERVAL_SECONDS: '0.05',
    KUBEMATE_ALERTS__ENABLED: 'true',
    KUBEMATE_ALERTS__TOKEN: TOKEN,
    // Every test here may run the model; the budget itself is tested in the unit and storm tests.
    KUBEMATE_ALERTS__TRIAGE__MODEL_RUNS_PER_MINUTE: '100',
    KUBEMATE_ALERTS__ROUTES: [{ matchers: [`namespace="${ns}"`], channel: CHANNEL }],
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger, { audit });
  const bots = buildBots(app);
  bot = bots.slack!;
  await bot.start();
  alerts = buildAlerts(app, bots)!;
  alerts.service.start();
  server = await buildHttpServer(app, bots, alerts);
  await server.listen({ host: '127.0.0.1', port });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await alerts?.close();
  await server?.close();
  await bot?.stop();
  app?.close();
  await ollama?.close();
  await slack?.close();
  await deleteNamespace(ns);
});

const post = (body: unknown, token = TOKEN) =>
  fetch(`${url}/api/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });

describe('Alertmanager webhook', () => {
  it('refuses a missing or wrong token with 401, audited, and a bad payload with a 400 that says what is wrong', async () => {
    const before = await alerts.store.totals();
    const noToken = await fetch(`${url}/api/alerts`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(noToken.status).toBe(401);
    expect((await post({}, 'wrong-token-wrong-token')).status).toBe(401);
    expect(audit.records.filter((r) => r.principal.id === 'alertmanager:unverified')).toHaveLength(2);

    const bad = await post({
      version: '4',
      groupKey: 'g',
      status: 'firing',
      alerts: [{ status: 'firing', labels: {} }],
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /^invalid Alertmanager webhook payload: alerts\.0\./,
    );
    const v3 = await post({ version: '3', groupKey: 'g', status: 'firing', alerts: [] });
    expect(((await v3.json()) as { error: string }).error).toContain('version');
    expect(await alerts.store.totals()).toEqual(before);
    expect((await alerts.store.stats()).invalid).toBe(2);
    expect((await alerts.store.stats()).unauthorized).toBe(2);
  });
});

describe('alert triage on the real cluster', () => {
  it('a real rule fires: one thread with a live summary, the alert, and a triage naming the planted cause; then it resolves', async () => {
    ollama.setChat((r) =>
      r.messages.some((m) => m.role === 'tool')
        ? { content: `The api pods in ${ns} are Pending: they request 640 CPUs, more than any node has.` }
        : {
            toolCalls: [
              { name: 'workload_describe', arguments: { namespace: ns, kind: 'Deployment', name: 'api' } },
            ],
          },
    );
    stack.exporter.setWorkload(failing);
    const root = () =>
      slack.messages.find(
        (m) => m.channel === CHANNEL && !m.thread_ts && m.text.includes('KubemateTestHighErrorRate'),
      );
    await waitFor('the alert thread', () => root() !== undefined, 90_000);
    const thread = () => slack.messages.filter((m) => m.thread_ts === root()!.ts).map((m) => m.text);
    await waitFor('the triage in the thread', () => thread().some((t) => t.startsWith('Diagnosis:')), 60_000);
    await alerts.service.settled();
    await bot.outbox.drained();

    expect(root()!.text).toMatch(new RegExp(`^\\[FIRING\\] CRITICAL KubemateTestHighErrorRate in ${ns}`));
    expect(root()!.text).toMatch(/1 firing, 0 resolved/);
    expect(root()!.text).toContain(`${ns}/deployment/api`);
    expect(thread().some((t) => t.startsWith('Firing since') && t.includes(`${ns}/api fails`))).toBe(true);
    const triage = thread().find((t) => t.startsWith('Diagnosis:'))!;
    expect(triage).toContain('640 CPUs');
    // The enrichment read the real cluster: the scheduler's own reason is in it.
    expect(triage).toMatch(/Insufficient cpu|FailedScheduling/);
    expect(triage).toContain(`workload_describe namespace="${ns}" kind="Deployment" name="api"`);
    // Every read ran through the pipeline as the triage principal, which may only read.
    const reads = audit.records.filter((r) => r.principal.id === 'alert:triage' && r.kind === 'result');
    expect(reads.length).toBeGreaterThan(0);
    expect(new Set(reads.map((r) => r.principal.source))).toEqual(new Set(['alert', 'agent']));
    expect(root()!.text).toMatch(/triaged \(diagnosis below\)/);
    // One thread, one root, whatever Alertmanager repeated.
    expect(
      slack.messages.filter((m) => !m.thread_ts && m.text.includes('KubemateTestHighErrorRate')),
    ).toHaveLength(1);
    expect(thread().filter((t) => t.startsWith('Diagnosis:'))).toHaveLength(1);

    stack.exporter.setWorkload({ ...failing, errorRatio: 0 });
    await waitFor('the resolution', () => thread().some((t) => t.startsWith('Resolved')), 90_000);
    await waitFor('the summary to show it', () => root()!.text.startsWith('[RESOLVED]'), 10_000);
    expect(root()!.text).toMatch(/0 firing, 1 resolved/);
  }, 240_000);

  it('a repeated delivery posts nothing twice', async () => {
    const payload = {
      version: '4',
      groupKey: `{}:{alertname="KubemateRepeat", namespace="${ns}"}`,
      status: 'firing',
      receiver: 'kubemate',
      groupLabels: { alertname: 'KubemateRepeat', namespace: ns },
      commonLabels: { alertname: 'KubemateRepeat', namespace: ns, severity: 'warning' },
      commonAnnotations: {},
      externalURL: 'http://alertmanager',
      truncatedAlerts: 0,
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'KubemateRepeat', namespace: ns, severity: 'warning', pod: 'nothing-here' },
          annotations: { summary: 'repeat me' },
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint: 'abcdef0123456789',
        },
      ],
    };
    for (let i = 0; i < 3; i++) expect((await post(payload)).status).toBe(200);
    await alerts.service.settled();
    await bot.outbox.drained();
    const roots = slack.messages.filter((m) => !m.thread_ts && m.text.includes('KubemateRepeat'));
    expect(roots, JSON.stringify(roots.map((m) => m.text.slice(0, 200)))).toHaveLength(1);
    const lines = slack.messages.filter(
      (m) => m.thread_ts === roots[0]!.ts && m.text.startsWith('Firing since'),
    );
    expect(lines).toHaveLength(1);
  });
});

describe('the thread buttons', () => {
  const press = async (body: string) => {
    const r = await server.inject({
      method: 'POST',
      url: '/slack/events',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...signed(SIGNING_SECRET, body) },
      payload: body,
    });
    expect(r.statusCode).toBe(200);
    await bot.http?.idle();
    await bot.core.settled();
    await alerts.service.settled();
    await bot.outbox.drained();
  };
  let at = 1_700_000_100;
  const ts = () => `${at++}.000001`;

  it('Acknowledge, Silence 1h (approved, created in the real Alertmanager), Investigate and Runbook act as the presser; strangers are refused and audited', async () => {
    const alertname = `KubemateButtons${ns.replace(/[^a-z0-9]/g, '')}`;
    ollama.setChat((r) => {
      const asked = r.messages
        .filter((m) => m.role === 'user')
        .map((m) => m.content)
        .join('\n');
      if (!asked.includes('Investigate it further'))
        return { content: 'Triage: the api pods ran out of memory.' };
      return r.messages.some((m) => m.role === 'tool')
        ? { content: `Investigated as asked: the api pods in ${ns} were OOMKilled.` }
        : { toolCalls: [{ name: 'pods_list', arguments: { namespace: ns } }] };
    });
    // An alert pushed into the real Alertmanager, which groups it and posts it to Kubemate.
    const pushed = await fetch(`${stack.alertmanagerUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: { alertname, namespace: ns, severity: 'warning', pod: 'api-oom-1' },
          annotations: { summary: 'container OOMKilled: memory limit too low' },
          startsAt: new Date().toISOString(),
        },
      ]),
    });
    expect(pushed.status).toBe(200);
    const root = () =>
      slack.messages.find((m) => m.channel === CHANNEL && !m.thread_ts && m.text.includes(alertname));
    await waitFor('the alert thread', () => root() !== undefined, 60_000);
    await waitFor(
      'the triage',
      async () =>
        (
          await alerts.store.queue.get(
            (await alerts.store.groups({ limit: 500 })).find((g) => g.labels.alertname === alertname)!
              .groupKey,
          )
        )?.state === 'done',
      60_000,
    );
    await alerts.service.settled();
    await bot.outbox.drained();
    const group = (await alerts.store.groups({ limit: 500 })).find((g) => g.labels.alertname === alertname)!;
    const buttons = (root()!.blocks ?? [])
      .flatMap((b) => (b.elements as Array<{ action_id?: string; value?: string }>) ?? [])
      .filter((e) => e.action_id?.startsWith('kubemate_act_'));
    expect(buttons.map((b) => b.action_id)).toEqual([
      'kubemate_act_alert_investigate',
      'kubemate_act_alert_silence_1h',
      'kubemate_act_alert_silence_4h',
      'kubemate_act_alert_ack',
      'kubemate_act_alert_runbook',
    ]);
    expect(new Set(buttons.map((b) => b.value))).toEqual(new Set([group.id]));
    const thread = () => slack.messages.filter((m) => m.thread_ts === root()!.ts);
    const said = (re: RegExp) => thread().filter((m) => re.test(m.text));

    // Someone Kubemate does not know, and someone it knows who may not read alerts: refused, audited.
    await press(actionPress('UEVE', root()!, 'kubemate_act_alert_ack', ts()));
    await press(actionPress('UMAL', root()!, 'kubemate_act_alert_silence_1h', ts()));
    expect(said(/I don't know who you are/)).toHaveLength(1);
    expect(said(/^mallory: you may not act on alerts/)).toHaveLength(1);
    expect(
      audit.records.some(
        (r) => r.principal.id === 'slack:UEVE' && r.decision?.rule === 'chat-unknown-identity',
      ),
    ).toBe(true);
    expect(
      audit.records.some(
        (r) =>
          r.principal.id === 'slack:UMAL' && r.tool === 'chat:alert_silence_1h' && r.outcome === 'denied',
      ),
    ).toBe(true);
    expect((await alerts.store.group(group.groupKey))!.ackBy).toBeUndefined();
    expect(audit.records.some((r) => r.principal.id === 'slack:UMAL' && r.tool === 'silence_create')).toBe(
      false,
    );

    // Acknowledge: recorded, audited, and shown in the live summary.
    await press(actionPress('UBOB', root()!, 'kubemate_act_alert_ack', ts()));
    expect((await alerts.store.group(group.groupKey))!.ackBy).toBe('bob');
    expect(root()!.text).toContain('acknowledged by bob');
    expect(said(/^bob took this alert group/)).toHaveLength(1);
    expect(
      audit.records.some(
        (r) => r.principal.id === 'slack:UBOB' && r.tool === 'chat:alert_ack' && r.outcome === 'success',
      ),
    ).toBe(true);

    // Silence 1h: silence_create as bob, which the policy puts behind another person's approval.
    await press(actionPress('UBOB', root()!, 'kubemate_act_alert_silence_1h', ts()));
    const card = thread().find((m) => m.text.startsWith('Approval needed'));
    expect(card, JSON.stringify(thread().map((m) => m.text))).toBeDefined();
    expect(card!.text).toContain('for bob');
    const silences = async () =>
      (
        (await (await fetch(`${stack.alertmanagerUrl}/api/v2/silences`)).json()) as Array<{
          id: string;
          createdBy: string;
          comment: string;
          startsAt: string;
          endsAt: string;
          status: { state: string };
          matchers: Array<{ name: string; value: string; isEqual: boolean; isRegex: boolean }>;
        }>
      ).filter((x) => x.comment.includes(group.id));
    expect(await silences()).toHaveLength(0);
    await press(buttonPress('UCAROL', card as SlackMessage, 'approve', ts()));
    const made = await silences();
    expect(made).toHaveLength(1);
    expect(made[0]!.createdBy).toBe('slack:UBOB');
    expect(made[0]!.status.state).toBe('active');
    const hours = (Date.parse(made[0]!.endsAt) - Date.parse(made[0]!.startsAt)) / 3600_000;
    expect(hours).toBeCloseTo(1, 2);
    expect(made[0]!.matchers).toEqual(
      expect.arrayContaining([
        { name: 'alertname', value: alertname, isEqual: true, isRegex: false },
        { name: 'namespace', value: ns, isEqual: true, isRegex: false },
      ]),
    );
    expect(
      audit.records.some(
        (r) => r.principal.id === 'slack:UBOB' && r.tool === 'silence_create' && r.outcome === 'success',
      ),
    ).toBe(true);

    // Investigate further: the agent, as bob, in the thread.
    await press(actionPress('UBOB', root()!, 'kubemate_act_alert_investigate', ts()));
    expect(said(/^Investigated as asked/)).toHaveLength(1);
    expect(
      audit.records.some(
        (r) => r.principal.id === 'slack:UBOB' && r.tool === 'pods_list' && r.kind === 'result',
      ),
    ).toBe(true);

    // Runbook: the matching section, searched as bob.
    await press(actionPress('UBOB', root()!, 'kubemate_act_alert_runbook', ts()));
    expect(said(/kubemate\/oomkilled\.md/).length).toBeGreaterThan(0);
    expect(audit.records.some((r) => r.principal.id === 'slack:UBOB' && r.tool === 'runbooks_search')).toBe(
      true,
    );
  }, 180_000);
});

describe('alerts_triage and the alert groups as MCP resources', () => {
  const bob: Principal = { id: 'token:bob-ide', groups: [], source: 'mcp-http' };
  const mallory: Principal = { id: 'token:mallory-ide', groups: [], source: 'mcp-http' };
  async function connect(principal: Principal) {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await buildMcpServer(app.pipeline, principal).connect(serverSide);
    const client = new Client({ name: 'alerts-test', version: '1' });
    await client.connect(clientSide);
    return client;
  }

  it('triages a group or one alert on demand as the caller, and serves stored triage results to those who may read alerts', async () => {
    ollama.setChat(() => ({ content: 'MCP diagnosis: the api pods cannot be scheduled, 640 CPUs asked.' }));
    const alertname = 'KubemateMcpTriage';
    const groupKey = `{}:{alertname="${alertname}", namespace="${ns}"}`;
    const id = groupIdOf(groupKey);
    const uri = `kubemate://alerts/groups/${id}`;
    const client = await connect(bob);
    const stranger = await connect(mallory);
    const listChanged: unknown[] = [];
    const updated: string[] = [];
    client.setNotificationHandler(ResourceListChangedNotificationSchema, async (n) => {
      listChanged.push(n);
    });
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => {
      updated.push(n.params.uri);
    });
    const strangerHeard: unknown[] = [];
    stranger.setNotificationHandler(ResourceListChangedNotificationSchema, async (n) => {
      strangerHeard.push(n);
    });
    expect(client.getServerCapabilities()?.resources).toMatchObject({ listChanged: true, subscribe: true });
    await client.subscribeResource({ uri });
    await expect(stranger.subscribeResource({ uri })).rejects.toThrow(/cannot subscribe/);

    const fingerprint = 'fedcba9876543210';
    const delivered = await post({
      version: '4',
      groupKey,
      status: 'firing',
      receiver: 'kubemate',
      groupLabels: { alertname, namespace: ns },
      commonLabels: { alertname, namespace: ns, severity: 'critical', deployment: 'api' },
      commonAnnotations: {},
      externalURL: 'http://alertmanager',
      truncatedAlerts: 0,
      alerts: [
        {
          status: 'firing',
          labels: { alertname, namespace: ns, severity: 'critical', deployment: 'api' },
          annotations: { summary: 'api has no ready replicas' },
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint,
        },
      ],
    });
    expect(delivered.status).toBe(200);
    await alerts.service.settled();
    await waitFor('the notifications', () => listChanged.length > 0 && updated.includes(uri), 10_000);
    expect(strangerHeard).toHaveLength(0);

    // Resources: the stored triage (as the triage principal), for bob; nothing for mallory.
    const listed = await client.listResources();
    expect(listed.resources.map((r) => r.uri)).toContain(uri);
    const templates = await client.listResourceTemplates();
    expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toContain('kubemate://alerts/groups/{id}');
    const read = await client.readResource({ uri });
    const text = (read.contents[0] as { text: string }).text;
    expect(text).toContain(`# ${alertname} (${id})`);
    expect(text).toContain('- triage: done');
    expect(text).toContain('MCP diagnosis: the api pods cannot be scheduled');
    expect(text).toMatch(/Insufficient cpu|FailedScheduling/);
    expect((await stranger.listResources()).resources.map((r) => r.uri)).not.toContain(uri);
    expect((await stranger.listResourceTemplates()).resourceTemplates).toEqual([]);
    await expect(stranger.readResource({ uri })).rejects.toThrow(/denied/);
    expect(
      audit.records.some(
        (r) => r.principal.id === mallory.id && r.tool === 'alerts_triage' && r.outcome === 'denied',
      ),
    ).toBe(true);
    await expect(client.readResource({ uri: 'kubemate://alerts/groups/ag_000000000000' })).rejects.toThrow(
      /not found/i,
    );

    // The tool: the group, facts alone, read as bob (not as the triage principal).
    const before = audit.records.length;
    const facts = await client.callTool({ name: 'alerts_triage', arguments: { group: id, model: false } });
    expect(facts.isError).toBeFalsy();
    const factsText = (facts.content as Array<{ text: string }>)[0]!.text;
    expect(factsText).toContain(`Alert group ${id} (${alertname}, firing, 1 alert triaged)`);
    expect(factsText).toContain('Enrichment alone: no model run was asked for');
    expect(factsText).toMatch(/Insufficient cpu|FailedScheduling/);
    const reads = audit.records.slice(before);
    expect(
      reads.some((r) => r.principal.id === bob.id && r.tool === 'workload_describe' && r.kind === 'result'),
    ).toBe(true);
    expect(reads.some((r) => r.principal.id === 'alert:triage')).toBe(false);

    // One alert by fingerprint, with the model, by groupKey too.
    const one = await client.callTool({ name: 'alerts_triage', arguments: { fingerprint } });
    const structured = one.structuredContent as { diagnosis?: string; alerts: number; groupId: string };
    expect(structured.alerts).toBe(1);
    expect(structured.groupId).toBe(id);
    expect(structured.diagnosis).toContain('MCP diagnosis');
    const byKey = await client.callTool({
      name: 'alerts_triage',
      arguments: { group: groupKey, model: false },
    });
    expect((byKey.structuredContent as { groupId: string }).groupId).toBe(id);

    // Bad input and unknown alerts are clear errors; someone who may not read alerts is refused.
    const both = await client.callTool({ name: 'alerts_triage', arguments: { group: id, fingerprint } });
    expect(both.isError).toBe(true);
    expect((both.content as Array<{ text: string }>)[0]!.text).toContain(
      'give exactly one of group or fingerprint',
    );
    const unknown = await client.callTool({
      name: 'alerts_triage',
      arguments: { fingerprint: '0123456789abcdef' },
    });
    expect(unknown.isError).toBe(true);
    expect((unknown.content as Array<{ text: string }>)[0]!.text).toContain(
      'no alert with fingerprint 0123456789abcdef',
    );
    const refused = await stranger.callTool({ name: 'alerts_triage', arguments: { group: id } });
    expect(refused.isError).toBe(true);
    expect((refused.content as Array<{ text: string }>)[0]!.text).toMatch(/^denied/);
    await client.close();
    await stranger.close();
  }, 120_000);
});
