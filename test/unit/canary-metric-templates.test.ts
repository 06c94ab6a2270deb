// Custom metric templates run the caller's PromQL. Canary read or write must not be a way around
// the metrics permission: a call with templates also needs promql_query, allowed outright.
import { describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../policies/approvals.js';
import type { PolicyEngine } from '../../policies/types.js';
import { canaryTools } from '../../tools/canary/index.js';
import { metricsTools } from '../../tools/metrics/index.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom, who } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  cara: [slack:UCARA]
  mo: [slack:UMO]
  wes: [slack:UWES]
roles:
  canary-only:
    - toolsets: [canary, approvals]
      verbs: [read, write]
  canary-and-metrics:
    - toolsets: [canary, metrics]
      verbs: [read, write]
  canary-metrics-gated:
    - toolsets: [canary, metrics]
      verbs: [read, write]
bindings:
  - subjects: [cara]
    roles: [canary-only]
  - subjects: [mo]
    roles: [canary-and-metrics]
  - subjects: [wes]
    roles: [canary-metrics-gated]
approvals:
  - tools: [promql_query]
    subjects: [wes]
  - verbs: [write, admin]
`;

const templates = [{ name: 'errors', query: 'sum(rate(http_errors_total[{{interval}}]))', max: 1 }];
const target = { namespace: 'shop', name: 'web' };

function setup() {
  return testPipeline({ tools: [...canaryTools, ...metricsTools], policy: engineFrom(POLICY) });
}

describe('canary metric templates need the PromQL permission', () => {
  it('denies canary_analyze with templates to a caller without metrics read, runs nothing, audits why', async () => {
    const { pipeline, audit } = setup();
    const r = await pipeline.invoke('canary_analyze', { ...target, metrics: templates }, who('slack:UCARA'));
    expect(r.status).toBe('denied');
    expect(r.text).toContain('custom metric templates run PromQL');
    expect(r.text).toContain('promql_query');
    const decisions = audit.records.filter((a) => a.kind === 'decision');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]!.decision).toMatchObject({ effect: 'deny' });
    expect(audit.records.some((a) => a.kind === 'result' && a.outcome === 'success')).toBe(false);
  });

  it('lets the same caller analyse without templates (the policy allows it; the handler then runs)', async () => {
    const { pipeline, audit } = setup();
    const r = await pipeline.invoke('canary_analyze', target, who('slack:UCARA'));
    expect(r.status).not.toBe('denied');
    expect(audit.records.find((a) => a.kind === 'decision')!.decision).toMatchObject({ effect: 'allow' });
  });

  it('lets a caller who may run PromQL use templates', async () => {
    const { pipeline, audit } = setup();
    const r = await pipeline.invoke('canary_analyze', { ...target, metrics: templates }, who('slack:UMO'));
    expect(r.status).not.toBe('denied');
    expect(audit.records.find((a) => a.kind === 'decision')!.decision).toMatchObject({ effect: 'allow' });
  });

  it('does not let an approval stand in for the PromQL permission', async () => {
    const { pipeline } = setup();
    const r = await pipeline.invoke('canary_analyze', { ...target, metrics: templates }, who('slack:UWES'));
    expect(r.status).toBe('denied');
    expect(r.text).toContain('promql_query would need an approval');
  });

  it('denies a write with templates before any ticket is opened', async () => {
    const { pipeline } = setup();
    for (const [tool, args] of [
      ['canary_shift', { ...target, step: 10, metrics: templates }],
      ['canary_promote', { ...target, metrics: templates }],
      ['canary_progress', { ...target, steps: [10, 50], intervalSeconds: 60, metrics: templates }],
    ] as const) {
      const r = await pipeline.invoke(tool, args, who('slack:UCARA'));
      expect(r.status, tool).toBe('denied');
      expect(r.text, tool).toContain('promql_query');
      expect(r.ticket, tool).toBeUndefined();
    }
  });
});

describe('a ticket with templates, when the PromQL permission goes before it is approved', () => {
  it('is refused at approval, not run', async () => {
    // Between request and approval, the requester (mo) loses metrics: their role becomes canary-only.
    const after = engineFrom(POLICY.replace('roles: [canary-and-metrics]', 'roles: [canary-only]'));
    let current: PolicyEngine = engineFrom(POLICY);
    const policy = new Proxy({} as PolicyEngine, {
      get: (_t, key) => {
        const v = (current as unknown as Record<string | symbol, unknown>)[key];
        return typeof v === 'function' ? v.bind(current) : v;
      },
    });
    const approvals = new ApprovalStore(':memory:', 60_000);
    const { pipeline } = testPipeline({ tools: [...canaryTools, ...metricsTools], policy, approvals });
    const asked = await pipeline.invoke(
      'canary_shift',
      { ...target, step: 10, metrics: templates },
      who('slack:UMO'),
    );
    expect(asked.status, asked.text).toBe('approval_required');
    current = after;
    const r = await pipeline.approve(asked.ticket!.id, who('slack:UCARA'));
    expect(r.status, r.text).toBe('denied');
    expect(r.text).toContain('no longer allowed');
    expect(r.text).toContain('promql_query');
    expect(approvals.get(asked.ticket!.id).status).toBe('rejected');
  });
});
