import { describe, expect, it } from 'vitest';
import { alertActionHandler, silenceMatchers } from '../../alerts/actions.js';
import { alertsConfigSchema } from '../../alerts/config.js';
import { targetsOf } from '../../alerts/enrich.js';
import { bearerMatches } from '../../alerts/http.js';
import { matches, parseMatcher } from '../../alerts/matchers.js';
import { ALERT_ACTION, alertLine, rootText, stormText } from '../../alerts/render.js';
import type { GroupRecord } from '../../alerts/store.js';
import { webhookSchema } from '../../alerts/webhook.js';
import { loadConfig } from '../../app/config.js';
import { buildRegistry } from '../../tools/index.js';
import { parseMatcher as parseSilenceMatcher } from '../../tools/metrics/matchers.js';
import { alertPayload } from '../support/alert-payload.js';
import { engineFrom } from '../support/policy.js';

const payload = alertPayload;

describe('matchers, as Alertmanager writes them', () => {
  it('parses =, !=, =~ and !~, quoted or not, with anchored regexes', () => {
    const labels = { namespace: 'payments', severity: 'critical', team: '' };
    expect(matches(parseMatcher('namespace="payments"'), labels)).toBe(true);
    expect(matches(parseMatcher('namespace=payments'), labels)).toBe(true);
    expect(matches(parseMatcher('severity!="warning"'), labels)).toBe(true);
    expect(matches(parseMatcher('namespace=~"pay.*"'), labels)).toBe(true);
    expect(matches(parseMatcher('namespace=~"pay"'), labels)).toBe(false); // anchored
    expect(matches(parseMatcher('namespace!~"pay.*"'), labels)).toBe(false);
    expect(matches(parseMatcher('team=""'), labels)).toBe(true);
    expect(matches(parseMatcher('missing=""'), labels)).toBe(true); // a missing label is empty
  });

  it('says what is wrong with a bad matcher, in the config', () => {
    expect(() => parseMatcher('namespace')).toThrow(/is not a matcher; write name="value"/);
    expect(() => parseMatcher('namespace=~"("')).toThrow(/the regex does not compile/);
    const r = alertsConfigSchema.safeParse({ routes: [{ matchers: ['sev==x'], channel: 'C1' }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['routes', 0, 'matchers', 0]);
    const noToken = alertsConfigSchema.safeParse({ enabled: true });
    expect(noToken.error!.issues[0]!.message).toMatch(/set token or tokenFile/);
  });
});

describe('the webhook', () => {
  it('checks the bearer token exactly', () => {
    expect(bearerMatches('Bearer s3cret-token-value', 's3cret-token-value')).toBe(true);
    expect(bearerMatches('bearer s3cret-token-value', 's3cret-token-value')).toBe(true);
    expect(bearerMatches('Bearer s3cret-token-valuE', 's3cret-token-value')).toBe(false);
    expect(bearerMatches('Basic s3cret-token-value', 's3cret-token-value')).toBe(false);
    expect(bearerMatches(undefined, 's3cret-token-value')).toBe(false);
  });

  it('refuses payloads that are not version 4, have no alerts, or bad fingerprints', () => {
    const ok = payload('g', [{ fingerprint: 'aa' }]);
    expect(webhookSchema.safeParse({ ...ok, version: '3' }).success).toBe(false);
    expect(webhookSchema.safeParse({ ...ok, alerts: [] }).success).toBe(false);
    expect(
      webhookSchema.safeParse({ ...ok, alerts: [{ ...ok.alerts[0], fingerprint: 'x y' }] }).success,
    ).toBe(false);
  });
});

describe('routes to chat platforms', () => {
  const routed =
    (platform: string, bots: Record<string, string> = {}) =>
    () =>
      loadConfig({
        env: {
          KUBEMATE_ALERTS__ENABLED: 'true',
          KUBEMATE_ALERTS__TOKEN: 'alertmanager-token-0123456789',
          KUBEMATE_ALERTS__ROUTES: `[{channel: ops01, platform: ${platform}}]`,
          ...bots,
        },
      });

  it('refuses a route to a platform whose bot is not configured, naming the bots block to add', () => {
    for (const [platform, doc] of [
      ['slack', 'docs/chat.md'],
      ['feishu', 'docs/chat-feishu.md'],
      ['dingtalk', 'docs/chat-dingtalk.md'],
      ['wecom', 'docs/chat-wecom.md'],
    ])
      expect(routed(platform!)).toThrow(
        `alerts.routes.0.platform: the route posts to ${platform} channel 'ops01', but no ${platform} bot is configured: add a bots.${platform} block with enabled: true (${doc}), or route to a configured platform`,
      );
    expect(routed('teams')).toThrow(/alerts\.routes\.0\.platform: .*"slack"\|"feishu"\|"dingtalk"\|"wecom"/);
  });

  it('takes a route to a configured platform, and a route without a channel on any', () => {
    const cfg = routed('feishu', {
      KUBEMATE_BOTS__FEISHU__ENABLED: 'true',
      KUBEMATE_BOTS__FEISHU__APP_ID: 'cli_0123456789abcdef',
      KUBEMATE_BOTS__FEISHU__APP_SECRET: 'feishu-app-secret-for-tests',
      KUBEMATE_BOTS__FEISHU__ENCRYPT_KEY: 'feishu-encrypt-key',
      KUBEMATE_BOTS__FEISHU__VERIFICATION_TOKEN: 'feishu-verification-token',
    })();
    expect(cfg.alerts.routes[0]).toMatchObject({ channel: 'ops01', platform: 'feishu' });
    const recordOnly = loadConfig({
      env: {
        KUBEMATE_ALERTS__ENABLED: 'true',
        KUBEMATE_ALERTS__TOKEN: 'alertmanager-token-0123456789',
        KUBEMATE_ALERTS__ROUTES: '[{platform: wecom, triage: false}]',
      },
    });
    expect(recordOnly.alerts.routes[0]).toMatchObject({ platform: 'wecom', triage: false });
  });
});

const group = (labels: Record<string, string>): GroupRecord => ({
  groupKey: 'g',
  id: 'ag_000000000000',
  labels,
  status: 'firing',
  severityRank: 0,
  storm: false,
  firstAt: 0,
  updatedAt: 0,
  episode: 0,
});
const alert = (labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
  fingerprint: 'aa',
  startsAt: '2026-12-07T01:00:00Z',
  status: 'firing' as const,
  labels,
  annotations,
  endsAt: '',
});

describe('what the labels point at', () => {
  it('reads the workload, else the pod, and the node; only valid names, deduplicated', () => {
    const targets = targetsOf(group({ alertname: 'X', namespace: 'pay' }), [
      alert({ namespace: 'pay', deployment: 'api', pod: 'api-1' }),
      alert({ namespace: 'pay', deployment: 'api', pod: 'api-2' }),
      alert({ namespace: 'pay', pod: 'db-0' }),
      alert({ node: 'node-7', instance: 'node-7:9100' }),
      alert({ namespace: 'pay', pod: 'Robert"); DROP' }),
      alert({ instance: '10.0.0.1:9100' }),
    ]);
    expect(targets.map((t) => t.label)).toEqual(['Deployment pay/api', 'pod pay/db-0', 'node node-7']);
    expect(targets[0]!.args).toEqual({ namespace: 'pay', kind: 'Deployment', name: 'api' });
  });
});

describe('what the thread shows', () => {
  it('a live summary, a line per change, and a storm summary with totals', () => {
    const g = group({ alertname: 'HighErrors', namespace: 'pay', severity: 'critical' });
    const a = alert(
      { alertname: 'HighErrors', namespace: 'pay', deployment: 'api' },
      { summary: 'api fails 12%' },
    );
    expect(rootText(g, [a], { firing: 1, resolved: 0 }).split('\n')).toEqual([
      '[FIRING] CRITICAL HighErrors in pay',
      '1 firing, 0 resolved · since 2026-12-07 01:00 UTC',
      'Affected: pay/deployment/api',
      'Summary: api fails 12%',
      'Group ag_000000000000 · not triaged',
    ]);
    expect(rootText(g, [a], { firing: 0, resolved: 1 })).toMatch(/^\[RESOLVED\]/);
    // Annotations are free text: a credential in one is masked before it reaches chat.
    const leaky = alert(
      { alertname: 'DbDown' },
      { summary: 'cannot reach postgres://app:hunter2secret@db:5432/app' },
    );
    expect(alertLine(leaky, 'fired')).not.toContain('hunter2secret');
    expect(alertLine(a, 'fired')).toBe(
      'Firing since 2026-12-07 01:00 UTC: api fails 12% (pay/deployment/api)',
    );
    expect(alertLine({ ...a, endsAt: '2026-12-07T02:30:00Z' }, 'resolved')).toBe(
      'Resolved at 2026-12-07 02:30 UTC: api fails 12% (pay/deployment/api)',
    );
    const storm = stormText(
      { groups: 30, firing: 29, triaged: 4 },
      [{ alertname: 'Disk', namespace: 'a', groups: 20, firing: 20, triaged: 3 }],
      Date.parse('2026-12-07T01:00:00Z'),
    );
    expect(storm.split('\n')[0]).toMatch(
      /^\[STORM\] 30 more alert groups since 2026-12-07 01:00 UTC \(29 firing, 4 triaged\)/,
    );
    expect(storm).toContain('• Disk in a: 20 groups, 20 firing, 3 triaged');
    expect(storm).toContain('… and 10 more groups');
  });
});

describe('silence matchers from an alert group', () => {
  it('one equality matcher per label, alertname first, values quoted so that silence_create reads them back exactly', () => {
    const labels = {
      namespace: 'pay',
      alertname: 'High"Errors',
      path: 'C:\\tmp',
      severity: 'critical',
      empty: '',
    };
    const matchers = silenceMatchers(labels);
    expect(matchers).toEqual([
      'alertname="High\\"Errors"',
      'namespace="pay"',
      'path="C:\\\\tmp"',
      'severity="critical"',
    ]);
    expect(matchers.map((m) => parseSilenceMatcher(m))).toEqual([
      { name: 'alertname', value: 'High"Errors', isRegex: false, isEqual: true },
      { name: 'namespace', value: 'pay', isRegex: false, isEqual: true },
      { name: 'path', value: 'C:\\tmp', isRegex: false, isEqual: true },
      { name: 'severity', value: 'critical', isRegex: false, isEqual: true },
    ]);
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`l${i}`, 'v']));
    expect(silenceMatchers(many)).toHaveLength(20);
  });
});

describe('the Silence button picks the Alertmanager of the alert cluster', () => {
  async function press(labels: Record<string, string>, alertmanagers: string[]) {
    const policy = engineFrom(
      'version: 1\nidentities:\n  bob: [slack:UBOB]\nbindings:\n  - subjects: [bob]\n    roles: [operator]\n',
    );
    const calls: Array<Record<string, unknown>> = [];
    const said: string[] = [];
    const group = { id: 'ag_0123456789ab', groupKey: 'k', labels, episode: 1 };
    const handler = alertActionHandler({} as never, { groupById: () => group } as never);
    await handler({
      asker: { principal: { id: 'slack:UBOB', groups: [], source: 'chat' }, person: 'bob' },
      action: ALERT_ACTION.silence1h,
      value: group.id,
      place: { channel: 'C1' },
      pipeline: {
        registry: buildRegistry(),
        policy,
        backends: { kube: { names: () => ['east', 'west'] }, alertmanager: { names: alertmanagers } },
        invoke: async (_tool: string, args: Record<string, unknown>) => {
          calls.push(args);
          return { status: 'success', text: 'silenced', isError: false };
        },
        recordDecision: () => {},
      } as never,
      say: (t: string) => said.push(t),
      card: () => {},
      ask: async () => {},
    } as never);
    return { calls, said };
  }

  it('names the cluster the alert carries, when it is a configured one', async () => {
    const { calls } = await press({ alertname: 'Down', cluster: 'west' }, ['am-east', 'am-west']);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ cluster: 'west', duration: '1h' });
  });

  it('with one Alertmanager, uses it; with several and no known cluster, makes nothing and says why', async () => {
    const one = await press({ alertname: 'Down' }, ['am']);
    expect(one.calls).toHaveLength(1);
    expect(one.calls[0]!.cluster).toBeUndefined();
    const several = await press({ alertname: 'Down', cluster: 'north' }, ['am-east', 'am-west']);
    expect(several.calls).toHaveLength(0);
    expect(several.said.join('\n')).toContain('names no configured cluster (cluster="north")');
  });
});

describe('taking a triage back from a replica that died', () => {
  it('waits longer than the slowest triage the configuration allows, and at least 15 minutes', async () => {
    const { triageTakenBackAfterMs } = await import('../../app/alerts.js');
    const defaults = loadConfig({ env: {} });
    const longest = (c: typeof defaults) =>
      c.agent.maxSteps * (c.llm.timeoutSeconds + c.output.timeoutSeconds) * 1000;
    expect(triageTakenBackAfterMs(defaults)).toBeGreaterThan(longest(defaults));
    expect(triageTakenBackAfterMs(defaults)).toBeGreaterThanOrEqual(15 * 60_000);
    const slow = loadConfig({
      env: { KUBEMATE_LLM__TIMEOUT_SECONDS: '3600', KUBEMATE_AGENT__MAX_STEPS: '20' },
    });
    expect(slow.llm.timeoutSeconds).toBe(3600);
    expect(triageTakenBackAfterMs(slow)).toBeGreaterThan(longest(slow));
  });
});
