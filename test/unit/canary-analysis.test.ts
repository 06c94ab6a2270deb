import { describe, expect, it } from 'vitest';
import { type Check, judge, linkerdQueries, overall, renderTemplate } from '../../tools/canary/analysis.js';
import { matchDiscovery } from '../../tools/canary/discovery.js';
import { readSplit, splitWeights, weightPatch } from '../../tools/canary/splits.js';

describe('canary analysis', () => {
  it('fills the template placeholders and refuses unknown ones', () => {
    expect(
      renderTemplate('sum(rate(errors{namespace="{{namespace}}",deployment="{{ target }}"}[{{interval}}]))', {
        namespace: 'payments',
        target: 'api-canary',
        interval: '2m',
      }),
    ).toBe('sum(rate(errors{namespace="payments",deployment="api-canary"}[2m]))');
    expect(() => renderTemplate('x{pod="{{pod}}"}', { namespace: 'a', target: 'b', interval: '1m' })).toThrow(
      'metric template uses {{pod}}; only {{namespace}}, {{target}} and {{interval}} are filled in',
    );
  });

  it('queries the Linkerd proxy metrics of the Deployment', () => {
    const q = linkerdQueries('payments', 'api-canary', '5m');
    expect(q.successRate).toBe(
      'sum(rate(response_total{namespace="payments",deployment="api-canary",direction="inbound",classification!="failure"}[5m])) / sum(rate(response_total{namespace="payments",deployment="api-canary",direction="inbound"}[5m])) * 100',
    );
    expect(q.latencyP99Ms).toContain(
      'histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{',
    );
  });

  it('judges: too little traffic is inconclusive, a failed check fails, else pass', () => {
    const ok: Check = { name: 'success rate %', query: 'q', value: 99.9, min: 99, result: judge(99.9, 99) };
    const bad: Check = { name: 'success rate %', query: 'q', value: 80, min: 99, result: judge(80, 99) };
    expect(overall(1000, 50, [ok]).verdict).toBe('pass');
    expect(overall(1000, 50, [bad])).toEqual({
      verdict: 'fail',
      reason: 'failed: success rate % 80 [min 99] fail',
    });
    expect(overall(10, 50, [bad]).verdict).toBe('inconclusive');
    expect(overall(undefined, 50, [ok]).verdict).toBe('inconclusive');
    expect(judge(undefined, 1)).toBe('inconclusive');
    expect(judge(600, undefined, 500)).toBe('fail');
  });
});

describe('canary discovery and splits', () => {
  it('a missing CRD is an answer saying so, not an error', () => {
    const d = matchDiscovery(
      {
        groups: [
          { name: 'gateway.networking.k8s.io', versions: [{ version: 'v1' }] },
          { name: 'policy.linkerd.io', versions: [{ version: 'v1beta3' }] },
        ],
      },
      (g) => (g === 'gateway.networking.k8s.io' ? ['httproutes', 'httproutes/status'] : ['servers']),
    );
    expect(Object.keys(d.found)).toEqual(['httproute']);
    expect(d.missing).toContainEqual({
      kind: 'trafficsplit',
      label: 'SMI TrafficSplit',
      why: 'not installed (no API group split.smi-spec.io)',
    });
    expect(d.missing.find((m) => m.kind === 'linkerd-httproute')?.why).toContain(
      'serves v1beta3 without httproutes',
    );
  });

  it('reads route weights per rule (default 1) and patches them after testing the resourceVersion', () => {
    const s = readSplit('httproute', {
      metadata: { name: 'api', namespace: 'pay', resourceVersion: '42' },
      spec: {
        rules: [
          {
            backendRefs: [
              { name: 'api-stable', port: 80 },
              { name: 'api-canary', port: 80, weight: 0 },
            ],
          },
          { backendRefs: [{ name: 'static', port: 80 }] },
        ],
      },
    });
    expect(s.weighted).toHaveLength(1);
    expect(s.otherRules).toBe(1);
    expect(splitWeights(s)).toEqual({ 'api-stable': 100, 'api-canary': 0 });
    expect(weightPatch(s, { 'api-stable': 90, 'api-canary': 10 })).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'add', path: '/spec/rules/0/backendRefs/0/weight', value: 90 },
      { op: 'add', path: '/spec/rules/0/backendRefs/1/weight', value: 10 },
    ]);
  });

  it('a route with no weighted backends says so', () => {
    const s = readSplit('httproute', {
      metadata: { name: 'one', namespace: 'pay' },
      spec: { rules: [{ backendRefs: [{ name: 'x' }] }] },
    });
    expect(() => splitWeights(s)).toThrow('HTTPRoute pay/one has no weighted backends');
  });

  it('reads SMI v1alpha1 quantity weights', () => {
    const s = readSplit('trafficsplit', {
      metadata: { name: 'ts', namespace: 'pay' },
      spec: {
        service: 'api',
        backends: [
          { service: 'a', weight: '900m' },
          { service: 'b', weight: '100m' },
        ],
      },
    });
    expect(splitWeights(s)).toEqual({ a: 90, b: 10 });
  });
});
