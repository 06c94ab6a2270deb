import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GuardOnlyPolicy, type GuardSettings } from '../../policies/guard.js';
import { defineTool } from '../../tools/core/types.js';
import { countingTools } from '../support/fake-tools.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom } from '../support/policy.js';

const principal = { id: 'local:test', groups: ['local'], source: 'cli' as const };
const open: GuardSettings = { readOnly: false, disableDestructive: false, allowTools: [], denyTools: [] };

/** A policy file that lets the test principal run everything outright: the switches are what is tested. */
const ADMIN_POLICY = `
version: 1
identities:
  tester: [local:test]
bindings:
  - subjects: [tester]
    roles: [admin]
approvals: []
`;

function setup(settings: Partial<GuardSettings> = {}) {
  const { tools, runs } = countingTools();
  const t = testPipeline({ tools, policy: engineFrom(ADMIN_POLICY, 'prod', { ...open, ...settings }) });
  return { ...t, runs };
}

describe('without a policy file (fail closed)', () => {
  function bare(settings: Partial<GuardSettings> = {}) {
    const { tools, runs } = countingTools();
    const t = testPipeline({ tools, policy: new GuardOnlyPolicy({ ...open, ...settings }) });
    return { ...t, runs };
  }

  it('refuses every tool that changes state, says how to configure a policy, and audits why', async () => {
    const { pipeline, audit, runs } = bare();
    for (const [tool, args] of [
      ['widget_scale', { id: 'a', replicas: 3 }],
      ['widget_delete', { id: 'a' }],
    ] as const) {
      const r = await pipeline.invoke(tool, args, principal);
      expect(r).toMatchObject({ status: 'denied', errorCode: 'forbidden', isError: true });
      expect(r.text).toContain('no policy file is configured');
      expect(r.text).toContain('policy.example.yaml');
      expect(r.text).toContain('policy.file');
      expect(r.text).toContain('Nothing was executed.');
    }
    expect(runs).toEqual({ write: 0, destroy: 0, read: 0 });
    const decisions = audit.records.filter((r) => r.kind === 'decision');
    expect(decisions.map((r) => r.decision)).toEqual([
      expect.objectContaining({ effect: 'deny', rule: 'no-policy-file' }),
      expect.objectContaining({ effect: 'deny', rule: 'no-policy-file' }),
    ]);
    expect((decisions[0]!.decision as { reason: string }).reason).toContain('changes state');
  });

  it('keeps reads open, so a first start is useful, and hides the tools it would refuse', async () => {
    const { pipeline, audit, runs } = bare();
    const r = await pipeline.invoke('widget_get', { id: 'a' }, principal);
    expect(r.status).toBe('success');
    expect(runs.read).toBe(1);
    expect(audit.records[0]!.decision).toEqual({ effect: 'allow', rule: 'no-policy-file:reads-only' });
    expect(pipeline.visibleTools(principal).map((t) => t.name)).toEqual(['widget_get']);
  });

  it('still applies the switches first', async () => {
    const { pipeline } = bare({ denyTools: ['widget_get'] });
    const r = await pipeline.invoke('widget_get', { id: 'a' }, principal);
    expect(r.decision).toMatchObject({ effect: 'deny', rule: 'denyTools:widget_get' });
  });
});

describe('invoke pipeline', () => {
  it('runs an allowed call and audits the decision and the result', async () => {
    const { pipeline, audit, runs } = setup();
    const result = await pipeline.invoke('widget_scale', { id: 'a', replicas: 3 }, principal);
    expect(result.status).toBe('success');
    expect(result.text).toBe('scaled a to 3');
    expect(runs.write).toBe(1);
    expect(audit.records.map((r) => r.kind)).toEqual(['decision', 'result']);
    expect(audit.records[0]!.decision).toEqual({
      effect: 'allow',
      rule: 'bindings[0] role admin',
      person: 'tester',
    });
    expect(audit.records[1]!.outcome).toBe('success');
  });

  it('refuses bad arguments with a clear message and runs nothing', async () => {
    const { pipeline, audit, runs } = setup();
    const result = await pipeline.invoke('widget_scale', { id: 'a', replicas: -1 }, principal);
    expect(result.status).toBe('invalid');
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(
      /^invalid arguments for widget_scale: replicas: .*>=0.*Nothing was executed\.$/,
    );
    expect(runs.write).toBe(0);
    expect(audit.records.at(-1)!.outcome).toBe('invalid');
  });

  it('names an unknown tool and suggests the closest', async () => {
    const { pipeline } = setup();
    const result = await pipeline.invoke('widget_scal', {}, principal);
    expect(result.status).toBe('invalid');
    expect(result.text).toContain("unknown tool 'widget_scal'; did you mean 'widget_scale'?");
  });

  it('read-only mode hides write tools from the principal and refuses them', async () => {
    const { pipeline, runs } = setup({ readOnly: true });
    expect(pipeline.visibleTools(principal).map((t) => t.name)).toEqual(['widget_get']);
    const result = await pipeline.invoke('widget_scale', { id: 'a', replicas: 3 }, principal);
    expect(result.status).toBe('denied');
    expect(result.text).toContain('read-only mode');
    expect(runs.write).toBe(0);
    expect((await pipeline.invoke('widget_get', { id: 'a' }, principal)).status).toBe('success');
  });

  it('disable-destructive mode removes only destructive tools', async () => {
    const { pipeline, runs } = setup({ disableDestructive: true });
    expect(pipeline.visibleTools(principal).map((t) => t.name)).toEqual(['widget_get', 'widget_scale']);
    const result = await pipeline.invoke('widget_delete', { id: 'a' }, principal);
    expect(result.status).toBe('denied');
    expect(result.decision).toMatchObject({ effect: 'deny', rule: 'disableDestructive' });
    expect(runs.destroy).toBe(0);
  });

  it('applies allow and deny lists of tool-name globs, deny winning', async () => {
    const { pipeline } = setup({ allowTools: ['widget_*'], denyTools: ['*_delete'] });
    expect(pipeline.visibleTools(principal).map((t) => t.name)).toEqual(['widget_get', 'widget_scale']);
    const denied = await pipeline.invoke('widget_delete', { id: 'a' }, principal);
    expect(denied.decision).toMatchObject({ effect: 'deny', rule: 'denyTools:*_delete' });
    const onlyGet = setup({ allowTools: ['widget_get'] });
    expect(onlyGet.pipeline.visibleTools(principal).map((t) => t.name)).toEqual(['widget_get']);
    expect(
      (await onlyGet.pipeline.invoke('widget_scale', { id: 'a', replicas: 1 }, principal)).text,
    ).toContain('not on the allow list');
  });

  it('turns a hung handler into a timeout error naming the tool', async () => {
    const slow = defineTool({
      name: 'slow_get',
      title: 'Slow: Get',
      description: 'Never answers.',
      input: z.object({}),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      permission: { toolset: 'test', verb: 'read', namespaced: false },
      handler: () => new Promise(() => {}),
    });
    const { pipeline } = testPipeline({ tools: [slow], policy: new GuardOnlyPolicy(open), timeoutMs: 50 });
    const started = Date.now();
    const result = await pipeline.invoke('slow_get', {}, principal);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ status: 'error', errorCode: 'timeout' });
    expect(result.text).toContain('slow_get did not finish within 50 ms');
  });

  it('records per-tool metrics: calls by status, errors and latency', async () => {
    const { pipeline, metrics } = setup({ readOnly: true });
    await pipeline.invoke('widget_get', { id: 'a' }, principal);
    await pipeline.invoke('widget_get', { id: 'b' }, principal);
    await pipeline.invoke('widget_scale', { id: 'a', replicas: 1 }, principal);
    const text = await metrics.registry.metrics();
    expect(text).toContain('kubemate_tool_calls_total{tool="widget_get",status="success"} 2');
    expect(text).toContain('kubemate_tool_calls_total{tool="widget_scale",status="denied"} 1');
    expect(text).toContain('kubemate_tool_duration_seconds_count{tool="widget_get"} 2');
  });

  it('redacts secrets in outputs and in audited arguments', async () => {
    const leaky = defineTool({
      name: 'leaky_get',
      title: 'Leaky: Get',
      description: 'Returns secret-looking text.',
      input: z.object({ password: z.string() }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      permission: { toolset: 'test', verb: 'read', namespaced: false },
      async handler() {
        return {
          kind: 'doc',
          text: 'DB_PASSWORD=hunter2hunter2 and Authorization: Bearer abcdefghijklmnop',
          structured: { env: { apiKey: 'sk-live-123456', note: 'token: zzzyyyxxx' } },
        };
      },
    });
    const { pipeline, audit } = testPipeline({ tools: [leaky], policy: new GuardOnlyPolicy(open) });
    const result = await pipeline.invoke('leaky_get', { password: 'p@ss-w0rd-secret' }, principal);
    const everything = JSON.stringify({ result, audit: audit.records });
    for (const secret of [
      'hunter2hunter2',
      'abcdefghijklmnop',
      'sk-live-123456',
      'zzzyyyxxx',
      'p@ss-w0rd-secret',
    ]) {
      expect(everything).not.toContain(secret);
    }
    expect(result.text).toContain('DB_PASSWORD=[REDACTED]');
  });
});
