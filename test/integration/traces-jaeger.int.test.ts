// The traces toolset against a real Jaeger all-in-one, fed real spans over OTLP by the
// OpenTelemetry SDK, the way instrumented services send them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { type Attributes, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardOnlyPolicy } from '../../policies/guard.js';
import type { Backends } from '../../tools/clients/backends.js';
import { BackendSet } from '../../tools/clients/http-backend.js';
import { ToolRegistry } from '../../tools/core/registry.js';
import { traceTools } from '../../tools/traces/index.js';
import { OtlpServices, startJaeger, type TestJaeger, waitForTraces } from '../env/jaeger.js';
import { testPipeline } from '../support/pipeline.js';
import { noSwitches } from '../support/policy.js';

const me = { id: 'local:test', groups: ['local'], source: 'cli' as const };
const u = Math.random().toString(36).slice(2, 8);
// Secrets that instrumentation leaks into span tags and exception messages.
const seeds = { bearer: `Tk${u}Q7vLm2Xp`, dbPassword: `Pw${u}Z4ncK8`, urlPassword: `Up${u}R5wd2J` };

interface SpanSpec {
  id: string;
  parent?: string;
  service: string;
  op: string;
  start: number;
  end: number;
  kind?: SpanKind;
  attrs?: Attributes;
  fail?: { status: string; type: string; message: string };
}

/** frontend → checkout → payments → db; payments fails (status and exception event). */
const failedCheckout: SpanSpec[] = [
  { id: 'fe', service: 'frontend', op: 'GET /checkout', start: 0, end: 1000, kind: SpanKind.SERVER },
  {
    id: 'co',
    parent: 'fe',
    service: 'checkout',
    op: 'POST /place-order',
    start: 20,
    end: 950,
    kind: SpanKind.SERVER,
    attrs: {
      'http.request.method': 'POST',
      'http.route': '/place-order',
      'http.request.header.authorization': `Bearer ${seeds.bearer}`,
    },
  },
  { id: 'auth', parent: 'co', service: 'checkout', op: 'auth.verify', start: 25, end: 60 },
  {
    id: 'pay',
    parent: 'co',
    service: 'payments',
    op: 'charge',
    start: 70,
    end: 800,
    kind: SpanKind.SERVER,
    attrs: { 'payment.outcome': 'declined', 'http.response.status_code': 402 },
    fail: {
      status: 'card declined',
      type: 'PaymentDeclinedError',
      message: `issuer refused: ledger at postgres://payments:${seeds.urlPassword}@db:5432/ledger said insufficient funds`,
    },
  },
  {
    id: 'db1',
    parent: 'pay',
    service: 'db',
    op: 'SELECT account',
    start: 100,
    end: 300,
    kind: SpanKind.SERVER,
    attrs: { 'db.system': 'postgresql', 'db.statement': 'SELECT balance FROM accounts WHERE id = $1' },
  },
  {
    id: 'db2',
    parent: 'pay',
    service: 'db',
    op: 'UPDATE ledger',
    start: 310,
    end: 700,
    kind: SpanKind.SERVER,
    attrs: {
      'db.system': 'postgresql',
      'db.statement': `UPDATE ledger SET hold = true WHERE account = 42; -- conn user='payments' password='${seeds.dbPassword}'`,
    },
  },
  { id: 'fraud', parent: 'pay', service: 'payments', op: 'fraud-check', start: 320, end: 500 },
  { id: 'inv', parent: 'co', service: 'checkout', op: 'inventory.reserve', start: 810, end: 900 },
  { id: 'render', parent: 'fe', service: 'frontend', op: 'render', start: 955, end: 990 },
];

/** A successful checkout whose database query is slow. */
const slowCheckout: SpanSpec[] = [
  { id: 'fe', service: 'frontend', op: 'GET /checkout', start: 0, end: 3000, kind: SpanKind.SERVER },
  { id: 'co', parent: 'fe', service: 'checkout', op: 'POST /place-order', start: 10, end: 2950 },
  { id: 'pay', parent: 'co', service: 'payments', op: 'charge', start: 20, end: 2900 },
  {
    id: 'db',
    parent: 'pay',
    service: 'db',
    op: 'SELECT orders',
    start: 100,
    end: 2800,
    attrs: { 'db.system': 'postgresql' },
  },
];

const fastCheckout = (ms: number): SpanSpec[] => [
  { id: 'fe', service: 'frontend', op: 'GET /checkout', start: 0, end: ms, kind: SpanKind.SERVER },
  { id: 'co', parent: 'fe', service: 'checkout', op: 'POST /place-order', start: 5, end: ms - 5 },
  { id: 'pay', parent: 'co', service: 'payments', op: 'charge', start: 10, end: ms - 10 },
];

const health: SpanSpec[] = [
  { id: 'h', service: 'frontend', op: 'GET /healthz', start: 0, end: 2, kind: SpanKind.SERVER },
];

/** Emits one trace through per-service OpenTelemetry SDK providers; returns its trace ID. */
function emit(otlp: OtlpServices, specs: SpanSpec[], base: number): string {
  const spans = new Map<string, Span>();
  for (const s of specs) {
    const span = otlp.start(
      s.service,
      s.op,
      { startTime: base + s.start, kind: s.kind ?? SpanKind.INTERNAL, attributes: s.attrs ?? {} },
      s.parent ? spans.get(s.parent) : undefined,
    );
    if (s.fail) {
      span.recordException({ name: s.fail.type, message: s.fail.message }, base + s.start + 5);
      span.setStatus({ code: SpanStatusCode.ERROR, message: s.fail.status });
    }
    spans.set(s.id, span);
  }
  for (const s of specs) spans.get(s.id)!.end(base + s.end);
  return spans.get(specs[0]!.id)!.spanContext().traceId;
}

let jaeger: TestJaeger;
let otlp: OtlpServices;
const ids: Record<string, string> = {};
const fed: Array<{ id: string; specs: SpanSpec[] }> = [];
let pipeline: ReturnType<typeof testPipeline>['pipeline'];

function backends(instances: ConstructorParameters<typeof BackendSet>[1]): Backends {
  return { kube: { as: () => ({}) }, jaeger: new BackendSet('Jaeger', instances) } as unknown as Backends;
}

const registry = new ToolRegistry([traceTools]);
const validator = new AjvJsonSchemaValidator();

/** Calls through the pipeline; structured content must satisfy the tool's outputSchema, as MCP clients check. */
async function call(tool: string, args: Record<string, unknown>, p = pipeline) {
  const res = await p.invoke(tool, args, me);
  if (res.structured) {
    const check = validator.getValidator(registry.jsonSchemas(tool).output!)(res.structured);
    expect(check.valid, `${tool}: structuredContent does not match outputSchema: ${check.errorMessage}`).toBe(
      true,
    );
  }
  return res;
}

beforeAll(async () => {
  jaeger = await startJaeger();
  otlp = new OtlpServices(jaeger.otlpHttpUrl, (service) => ({ 'k8s.pod.name': `${service}-7d9f-x2k4q` }));
  const base = Date.now() - 10 * 60_000;
  const feed = (name: string, specs: SpanSpec[], offset: number) => {
    ids[name] = emit(otlp, specs, base + offset);
    fed.push({ id: ids[name]!, specs });
  };
  feed('failed', failedCheckout, 0);
  feed('slow', slowCheckout, 5_000);
  feed('fast1', fastCheckout(180), 10_000);
  feed('fast2', fastCheckout(220), 15_000);
  feed('health', health, 20_000);
  await otlp.flush();
  await waitForTraces(jaeger.queryUrl, Object.fromEntries(fed.map((f) => [f.id, f.specs.length])));
  pipeline = testPipeline({
    tools: traceTools,
    policy: new GuardOnlyPolicy(noSwitches),
    backends: backends([{ name: 'test', url: jaeger.queryUrl, timeoutSeconds: 5, retries: 1 }]),
  }).pipeline;
});

afterAll(async () => {
  await otlp?.shutdown();
  await jaeger?.stop();
});

describe('traces tools against Jaeger', () => {
  it('services_list and operations_list name what was fed', async () => {
    const services = await call('services_list', {});
    expect(services.status).toBe('success');
    const fedServices = [...new Set(fed.flatMap((f) => f.specs.map((s) => s.service)))].sort();
    expect((services.structured!.items as Array<{ service: string }>).map((i) => i.service)).toEqual(
      expect.arrayContaining(fedServices),
    );

    const ops = await call('operations_list', { service: 'frontend', spanKind: 'server' });
    const fedOps = [
      ...new Set(
        fed.flatMap((f) =>
          f.specs.filter((s) => s.service === 'frontend' && s.kind === SpanKind.SERVER).map((s) => s.op),
        ),
      ),
    ].sort();
    expect((ops.structured!.items as Array<{ name: string }>).map((o) => o.name).sort()).toEqual(fedOps);

    const typo = await call('operations_list', { service: 'frontent' });
    expect(typo.status).toBe('no_data');
    expect(typo.text).toContain("did you mean 'frontend'?");
  });

  it('traces_search: one row per trace, failed then slowest first, exact totals', async () => {
    const res = await call('traces_search', { service: 'frontend', operation: 'GET /checkout' });
    expect(res.status).toBe('success');
    const items = res.structured!.items as Array<{
      traceId: string;
      durationMs: number;
      spans: number;
      errors: number;
      services: string[];
      firstError?: string;
    }>;
    const checkouts = fed.filter((f) => f.specs[0]!.op === 'GET /checkout');
    expect(res.structured!.total).toBe(checkouts.length);
    expect(res.structured!.withErrors).toBe(1);
    expect(items[0]!.traceId).toBe(ids.failed);
    expect(items[0]!.errors).toBe(1);
    expect(items[0]!.firstError).toBe(
      'payments: card declined (PaymentDeclinedError: issuer refused: ledger at…',
    );
    expect(items[1]!.traceId).toBe(ids.slow);
    const rest = items.slice(1).map((i) => i.durationMs);
    expect(rest).toEqual([...rest].sort((a, b) => b - a));
    for (const item of items) {
      const specs = fed.find((f) => f.id === item.traceId)!.specs;
      expect(item.spans).toBe(specs.length);
      expect(item.durationMs).toBe(specs[0]!.end - specs[0]!.start);
      expect(item.services.sort()).toEqual([...new Set(specs.map((s) => s.service))].sort());
    }
    expect(res.text).toMatch(/4 traces of service 'frontend' with operation 'GET \/checkout'/);
  });

  it('traces_search filters by tags, errors and minimum duration', async () => {
    const tagged = await call('traces_search', {
      service: 'payments',
      tags: { 'payment.outcome': 'declined' },
    });
    expect((tagged.structured!.items as Array<{ traceId: string }>).map((i) => i.traceId)).toEqual([
      ids.failed,
    ]);
    // Jaeger matches tags on spans of the service searched: the failed span is in payments.
    const errors = await call('traces_search', { service: 'payments', errorsOnly: true });
    expect((errors.structured!.items as Array<{ traceId: string }>).map((i) => i.traceId)).toEqual([
      ids.failed,
    ]);
    const noFrontendErrors = await call('traces_search', { service: 'frontend', errorsOnly: true });
    expect(noFrontendErrors.status).toBe('no_data');
    const slow = await call('traces_search', { service: 'frontend', minDuration: '2s' });
    expect((slow.structured!.items as Array<{ traceId: string }>).map((i) => i.traceId)).toEqual([ids.slow]);
    const limited = await call('traces_search', { service: 'frontend', limit: 2 });
    expect(limited.structured!.limitReached).toBe(true);
    expect(limited.text).toContain('the limit of 2: there may be more');
  });

  it('trace_get: critical path as worked out by hand, errors with messages, services', async () => {
    const res = await call('trace_get', { traceId: ids.failed });
    expect(res.status).toBe('success');
    const s = res.structured as {
      durationMs: number;
      spans: number;
      criticalPath: Array<{ operation: string; criticalMs: number }>;
      errors: Array<{ service: string; message: string; type?: string }>;
      services: Array<{ service: string; spans: number; errors: number }>;
      slowestBySelfTime: Array<{ operation: string; selfMs: number }>;
    };
    expect(s.durationMs).toBe(1000);
    expect(s.spans).toBe(failedCheckout.length);
    // Walking back from 1000 ms: render, inventory.reserve, charge (whose last child is UPDATE
    // ledger, before that SELECT account; fraud-check overlaps UPDATE ledger and is off the path),
    // auth.verify, with the parents' own time in between.
    expect(s.criticalPath.map((c) => [c.operation, c.criticalMs])).toEqual([
      ['GET /checkout', 20 + 5 + 10],
      ['POST /place-order', 5 + 10 + 10 + 50],
      ['auth.verify', 35],
      ['charge', 30 + 10 + 100],
      ['SELECT account', 200],
      ['UPDATE ledger', 390],
      ['inventory.reserve', 90],
      ['render', 35],
    ]);
    expect(s.criticalPath.reduce((n, c) => n + c.criticalMs, 0)).toBe(1000);
    expect(s.slowestBySelfTime[0]).toMatchObject({ operation: 'UPDATE ledger', selfMs: 390 });
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatchObject({ service: 'payments', type: 'PaymentDeclinedError' });
    expect(s.errors[0]!.message).toMatch(/^card declined \(PaymentDeclinedError: issuer refused/);
    const expectedServices = new Map<string, number>();
    for (const sp of failedCheckout)
      expectedServices.set(sp.service, (expectedServices.get(sp.service) ?? 0) + 1);
    expect(Object.fromEntries(s.services.map((x) => [x.service, x.spans]))).toEqual(
      Object.fromEntries(expectedServices),
    );
    expect(s.services.find((x) => x.service === 'payments')!.errors).toBe(1);
    expect(res.text).toContain('payments (2 spans, 1 error; payments-7d9f-x2k4q)');
    expect(res.text).toMatch(/\*! +\+70ms {5}payments: charge 730ms \(self 140ms\) ERROR: card declined/);
  });

  it('never shows secrets from span tags or exception messages', async () => {
    const res = await call('trace_get', { traceId: ids.failed, maxTreeLines: 300 });
    const all = `${res.text}\n${JSON.stringify(res.structured)}`;
    for (const seed of Object.values(seeds)) expect(all).not.toContain(seed);
    // The tags are shown (so the redactor, not their absence, is what keeps the values out).
    expect(res.text).toContain(
      "db.statement=UPDATE ledger SET hold = true WHERE account = 42; -- conn user='payments' password='[REDACTED]'",
    );
    expect(res.text).toContain('postgres://payments:[REDACTED]@db:5432/ledger');
    const search = await call('traces_search', { service: 'checkout' });
    expect(`${search.text}${JSON.stringify(search.structured)}`).not.toContain(seeds.urlPassword);
  });

  it('trace_get of an unknown trace is a clear not-found from Jaeger', async () => {
    const res = await call('trace_get', { traceId: 'deadbeefdeadbeefdeadbeefdeadbeef' });
    expect(res.status).toBe('error');
    expect(res.errorCode).toBe('not_found');
    expect(res.text).toMatch(/^Jaeger 'test' at http:\/\/127\.0\.0\.1:\d+: trace not found$/);
    const bad = await call('trace_get', { traceId: 'not-a-trace' });
    expect(bad.status).toBe('invalid');
    expect(bad.text).toContain('traceId: must be a trace ID of up to 32 hexadecimal digits');
  });

  it('service_dependencies: edges and call counts as Jaeger derives them from the stored spans', async () => {
    const res = await call('service_dependencies', {});
    const expected = new Map<string, number>();
    for (const { specs } of fed) {
      for (const s of specs) {
        const parent = specs.find((p) => p.id === s.parent);
        if (parent && parent.service !== s.service) {
          const key = `${parent.service}->${s.service}`;
          expected.set(key, (expected.get(key) ?? 0) + 1);
        }
      }
    }
    const got = res.structured!.items as Array<{ parent: string; child: string; callCount: number }>;
    expect(Object.fromEntries(got.map((e) => [`${e.parent}->${e.child}`, e.callCount]))).toEqual(
      Object.fromEntries(expected),
    );
    expect(res.structured!.calls).toBe([...expected.values()].reduce((a, b) => a + b, 0));
    const focus = await call('service_dependencies', { service: 'payments' });
    expect(focus.text).toContain(
      `'payments' is called by checkout (${expected.get('checkout->payments')}) and calls db (${expected.get('payments->db')})`,
    );
  });
});

describe('an unavailable Jaeger', () => {
  let hung: Server;
  let hungUrl: string;
  beforeAll(async () => {
    hung = createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    hungUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    hung.closeAllConnections();
    hung.close();
  });

  it('a stopped Jaeger gives an error naming it, well within the timeout', async () => {
    const stopped = await startJaeger();
    await stopped.stop();
    const p = testPipeline({
      tools: traceTools,
      policy: new GuardOnlyPolicy(noSwitches),
      backends: backends([{ name: 'east', url: stopped.queryUrl, timeoutSeconds: 2, retries: 2 }]),
    }).pipeline;
    const t0 = Date.now();
    const res = await call('services_list', {}, p);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(res.status).toBe('error');
    expect(res.errorCode).toBe('backend_unavailable');
    expect(res.text).toContain(`Jaeger 'east' at ${stopped.queryUrl} is unreachable: ECONNREFUSED`);
  });

  it('a Jaeger that does not answer times out at its timeoutSeconds, naming it', async () => {
    const p = testPipeline({
      tools: traceTools,
      policy: new GuardOnlyPolicy(noSwitches),
      backends: backends([{ name: 'slow', url: hungUrl, timeoutSeconds: 1, retries: 2 }]),
    }).pipeline;
    const t0 = Date.now();
    const res = await call('traces_search', { service: 'frontend' }, p);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(2000);
    expect(res.errorCode).toBe('timeout');
    expect(res.text).toContain(`Jaeger 'slow' at ${hungUrl} did not answer within 1 s`);
  });
});
