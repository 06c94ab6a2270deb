import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import { buildMcpServer } from '../../mcp/server.js';
import type { InvokeResult } from '../../tools/core/invoke.js';
import { silentLogger } from '../../tools/core/logger.js';
import { type PrometheusStack, startPrometheusStack } from '../env/prometheus.js';
import { kubemateConfig, waitFor } from '../support/kube.js';
import { who } from '../support/policy.js';

// Default approvals: every write needs one approval from another person who may run it.
const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  carol: [slack:UCAROL]
  dave: [slack:UDAVE]
bindings:
  - subjects: [alice, carol]
    roles: [operator]
  - subjects: [dave]
    roles: [viewer]
`;
const alice = who('slack:UALICE');
const carol = who('slack:UCAROL');
const dave = who('slack:UDAVE');
const NS = 'checkout';
const PODS = ['cart-5f7b9c8d6-aaaaa', 'cart-5f7b9c8d6-bbbbb'];

let stack: PrometheusStack;
let app: App;

interface Silence {
  id: string;
  createdBy: string;
  comment: string;
  matchers: Array<{ name: string; value: string; isRegex: boolean; isEqual: boolean }>;
  status: { state: string };
}
interface AlertGroup {
  alertname: string;
  severity: string;
  namespace: string;
  firing: number;
  pending: number;
  silenced: number;
  inhibited: number;
  alerts: Array<{ labels: Record<string, string>; state: string; silencedBy?: string[] }>;
}

const silencesInAlertmanager = async () =>
  (await (await fetch(`${stack.alertmanagerUrl}/api/v2/silences`)).json()) as Silence[];

async function groups(args: Record<string, unknown> = {}): Promise<AlertGroup[]> {
  const r = await app.pipeline.invoke('alerts_list', args, alice);
  return (r.structured as { items: AlertGroup[] }).items;
}

const group = (all: AlertGroup[], name: string) => all.find((g) => g.alertname === name);

/** Checks a result against the tool's published outputSchema, as an MCP client does. */
function conforms(tool: string, structured: unknown): void {
  const schema = app.pipeline.registry.jsonSchemas(tool).output!;
  const check = new AjvJsonSchemaValidator().getValidator(schema as never)(structured);
  expect(check.valid, `${tool}: ${check.errorMessage}`).toBe(true);
}

function previewOf(r: InvokeResult): string {
  return r
    .ticket!.plan.split('\n')
    .filter((l) => l.startsWith('  |'))
    .map((l) => l.replace(/^ {2}\| ?/, ''))
    .join('\n');
}

beforeAll(async () => {
  stack = await startPrometheusStack({
    exporter: (e) =>
      e.setWorkload({
        namespace: NS,
        workload: 'cart',
        naming: 'linkerd',
        pods: PODS,
        rps: 10,
        errorRatio: 0.2,
        latency: { boundsMs: [50, 100], cumulative: [0.9, 1] },
        memory: { bytes: 600e6, limitBytes: 1000e6 },
      }),
  });
  const cfg = kubemateConfig({
    KUBEMATE_OBSERVABILITY__PROMETHEUS: [{ url: stack.prometheusUrl, timeoutSeconds: 5 }],
    KUBEMATE_OBSERVABILITY__ALERTMANAGER: [{ url: stack.alertmanagerUrl, timeoutSeconds: 5 }],
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger);
  // The rule fires after its `for: 2s`, and Alertmanager has the alert after group_wait.
  await waitFor(
    'the error-rate alert to fire in Alertmanager',
    async () =>
      (await groups({ state: 'firing' })).some((g) => g.alertname === 'KubemateTestHighErrorRate')
        ? true
        : undefined,
    60_000,
  );
});

afterAll(async () => {
  app?.close();
  await stack?.stop();
});

describe('alerts_list', () => {
  it('shows the firing alert first, the pending one pending, and the inhibited one inhibited', async () => {
    const all = await groups();
    expect(all[0]).toMatchObject({
      alertname: 'KubemateTestHighErrorRate',
      severity: 'critical',
      namespace: NS,
      firing: 1,
    });
    expect(all[0]!.alerts[0]!.labels).toEqual({ deployment: 'cart' });
    expect(group(all, 'KubemateTestMemoryPressure')).toMatchObject({
      severity: 'warning',
      pending: PODS.length,
      firing: 0,
    });
    expect(
      group(all, 'KubemateTestMemoryPressure')!
        .alerts.map((a) => a.labels.pod)
        .sort(),
    ).toEqual(PODS);
    // the critical alert inhibits the warning on the same namespace (Alertmanager's inhibit rule)
    expect(group(all, 'KubemateTestErrorBudgetBurn')).toMatchObject({ inhibited: 1, firing: 0 });
    const r = await app.pipeline.invoke('alerts_list', {}, alice);
    expect(r.text).toMatch(
      /^4 alerts in 3 groups: 1 firing, 2 pending, 0 silenced, 1 inhibited \(Prometheus 'default'/,
    );
  });

  it('filters by state', async () => {
    const pending = await groups({ state: 'pending' });
    expect(pending.map((g) => g.alertname)).toEqual(['KubemateTestMemoryPressure']);
  });
});

describe('silences', () => {
  let silenceId = '';

  it('silence_create waits for approval, shows what it will catch, then creates the silence as its requester', async () => {
    const args = {
      matchers: ['alertname="KubemateTestHighErrorRate"', `namespace="${NS}"`],
      duration: '2h',
      comment: 'known incident INC-42',
    };
    const asked = await app.pipeline.invoke('silence_create', args, alice);
    expect(asked.status, asked.text).toBe('approval_required');
    expect(previewOf(asked)).toMatch(
      new RegExp(
        `^silence alerts matching \\{alertname="KubemateTestHighErrorRate", namespace="${NS}"\\} for 2h \\(until about .*\\) in Alertmanager 'default' at .*, currently matching 1 firing alert: KubemateTestHighErrorRate\\{deployment="cart", namespace="${NS}", severity="critical"\\}; comment: "known incident INC-42"\\.$`,
      ),
    );
    expect(await silencesInAlertmanager()).toEqual([]);

    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status, done.text).toBe('success');
    expect(done.ticket?.status).toBe('executed');
    silenceId = (done.structured as { id: string }).id;
    conforms('silence_create', done.structured);
    const [silence] = await silencesInAlertmanager();
    expect(silence).toMatchObject({
      id: silenceId,
      createdBy: 'slack:UALICE',
      comment: 'known incident INC-42',
      status: { state: 'active' },
    });
    expect(silence!.matchers).toEqual([
      { name: 'alertname', value: 'KubemateTestHighErrorRate', isRegex: false, isEqual: true },
      { name: 'namespace', value: NS, isRegex: false, isEqual: true },
    ]);
  });

  it('the silenced alert shows as silenced, by that silence', async () => {
    const g = await waitFor('the alert to be silenced', async () => {
      const x = group(await groups(), 'KubemateTestHighErrorRate');
      return x?.silenced === 1 ? x : undefined;
    });
    expect(g.alerts[0]!.silencedBy).toEqual([silenceId]);
    const listed = await app.pipeline.invoke('silences_list', {}, alice);
    expect((listed.structured as { items: unknown[] }).items).toEqual([
      expect.objectContaining({ id: silenceId, state: 'active', createdBy: 'slack:UALICE', silencing: 1 }),
    ]);
  });

  it('bad silences are refused before anything is asked or created', async () => {
    const bad = await app.pipeline.invoke(
      'silence_create',
      { matchers: ['alertname~"X"'], duration: '90d', comment: 'x' },
      alice,
    );
    expect(bad.status).toBe('invalid');
    expect(bad.text).toContain(`matchers.0: 'alertname~"X"' is not a matcher`);
    expect(bad.text).toContain('duration: must be at most 30d');
    expect(bad.text).toContain('comment: say why');
    expect(bad.ticket).toBeUndefined();
    expect((await silencesInAlertmanager()).length).toBe(1);
  });

  it('a viewer may list silences but not create one', async () => {
    expect((await app.pipeline.invoke('silences_list', {}, dave)).status).toBe('success');
    const r = await app.pipeline.invoke(
      'silence_create',
      { matchers: ['alertname="X"'], duration: '1h', comment: 'nope' },
      dave,
    );
    expect(r.status).toBe('denied');
  });

  it('silence_expire waits for approval, says what it would unmute, then expires it', async () => {
    const asked = await app.pipeline.invoke('silence_expire', { id: silenceId }, alice);
    expect(asked.status, asked.text).toBe('approval_required');
    expect(previewOf(asked)).toContain(
      `expire active silence ${silenceId} in Alertmanager 'default' at ${stack.alertmanagerUrl}: {alertname="KubemateTestHighErrorRate", namespace="${NS}"}, created by slack:UALICE`,
    );
    expect(previewOf(asked)).toContain('it mutes 1 alert now');
    expect((await silencesInAlertmanager())[0]!.status.state).toBe('active');
    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status, done.text).toBe('success');
    expect(done.structured).toMatchObject({ id: silenceId, previousState: 'active', expired: true });
    conforms('silence_expire', done.structured);
    expect((await silencesInAlertmanager())[0]!.status.state).toBe('expired');
    await waitFor('the alert to fire again', async () =>
      group(await groups(), 'KubemateTestHighErrorRate')?.firing === 1 ? true : undefined,
    );
  });

  it('an unknown silence id is a clear not-found', async () => {
    const r = await app.pipeline.invoke('silences_list', { state: 'expired' }, alice);
    expect((r.structured as { total: number }).total).toBe(1);
    const asked = await app.pipeline.invoke(
      'silence_expire',
      { id: '00000000-0000-0000-0000-000000000000' },
      alice,
    );
    expect(asked.ticket!.plan).toContain('preview unavailable');
    const done = await app.pipeline.approve(asked.ticket!.id, carol);
    expect(done.status).toBe('error');
    expect(done.text).toContain(
      "no silence '00000000-0000-0000-0000-000000000000' in Alertmanager 'default'",
    );
  });
});

describe('published output schemas', () => {
  it("every metrics read tool's structuredContent passes the MCP client's outputSchema check", async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await buildMcpServer(app.pipeline, alice).connect(serverSide);
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(clientSide);
    // listing the tools makes the client validate every structured result against its schema
    const { tools } = await client.listTools();
    const calls: Array<[string, Record<string, unknown>]> = [
      ['promql_query', { query: 'sum by (pod) (container_memory_working_set_bytes)' }],
      ['promql_query', { query: 'up[3s]' }],
      ['promql_query', { query: 'scalar(sum(up))' }],
      ['promql_query', { query: 'absent_metric_xyz' }],
      ['promql_query_range', { query: 'sum by (pod) (rate(request_total[5s]))', lookback: '10s' }],
      ['metrics_series', { match: ['up'] }],
      ['metrics_labels', {}],
      ['metrics_label_values', { label: 'job' }],
      ['targets_list', {}],
      ['alerts_list', {}],
      ['silences_list', { state: 'expired' }],
      ['workload_golden_signals', { namespace: NS, workload: 'cart', window: '5s' }],
      ['node_usage', {}],
    ];
    const names = new Set(calls.map(([n]) => n));
    expect(
      tools
        .filter(
          (t) =>
            t.outputSchema &&
            app.pipeline.registry.find(t.name)?.permission.toolset === 'metrics' &&
            t.annotations?.readOnlyHint,
        )
        .map((t) => t.name)
        .sort(),
    ).toEqual([...names].sort());
    for (const [name, args] of calls) {
      const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(r.isError, `${name}: ${JSON.stringify(r.content).slice(0, 300)}`).toBeFalsy();
      expect(r.structuredContent, name).toBeDefined();
    }
    await client.close();
  });
});
