// A real Jaeger (all-in-one v1, in-memory storage) for the traces tests, built and cached by
// test/env/jaeger.sh, started on free loopback ports, plus helpers to feed it real spans over OTLP.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, type Span, type SpanOptions, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

const here = path.dirname(fileURLToPath(import.meta.url)).replace(/[\\/]dist([\\/]test[\\/]env)$/, '$1');

export interface TestJaeger {
  /** Query service base URL (HTTP API under /api), http://127.0.0.1:PORT */
  queryUrl: string;
  /** OTLP/HTTP receiver base URL; traces go to `${otlpHttpUrl}/v1/traces`. */
  otlpHttpUrl: string;
  /** Stops the process (its in-memory traces are gone). Safe to call twice. */
  stop(): Promise<void>;
}

/** Builds Jaeger if it is not cached yet (minutes, once; CI runs `bash test/env/jaeger.sh build` first). */
export function jaegerBinary(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(here, 'jaeger.sh'), 'build'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const bin = out.trim().split('\n').at(-1);
      if (code === 0 && bin) resolve(bin);
      else reject(new Error(`test/env/jaeger.sh build failed (exit ${code})`));
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ok(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts jaeger-all-in-one with in-memory storage on free loopback ports and waits until it serves. */
export async function startJaeger(opts: { timeoutMs?: number } = {}): Promise<TestJaeger> {
  const bin = await jaegerBinary();
  const [query, queryGrpc, otlpHttp, otlpGrpc, collectorHttp, collectorGrpc, admin] = await Promise.all(
    Array.from({ length: 7 }, freePort),
  );
  const at = (port: number | undefined) => `127.0.0.1:${port}`;
  // v1 flags (viper also reads them as env vars); every listener on loopback, none on the defaults,
  // so parallel runs and a developer's own Jaeger do not collide.
  const args = [
    `--query.http-server.host-port=${at(query)}`,
    `--query.grpc-server.host-port=${at(queryGrpc)}`,
    `--collector.otlp.enabled=true`,
    `--collector.otlp.http.host-port=${at(otlpHttp)}`,
    `--collector.otlp.grpc.host-port=${at(otlpGrpc)}`,
    `--collector.http-server.host-port=${at(collectorHttp)}`,
    `--collector.grpc-server.host-port=${at(collectorGrpc)}`,
    `--admin.http.host-port=${at(admin)}`,
    '--memory.max-traces=100000',
    '--log-level=warn',
  ];
  const child: ChildProcess = spawn(bin, args, {
    env: { ...process.env, SPAN_STORAGE_TYPE: 'memory' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-8000);
  });
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  const kill = () => {
    if (exited === undefined) child.kill('SIGKILL');
  };
  process.once('exit', kill);

  const queryUrl = `http://${at(query)}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  // The admin port answers 200 on / once every component reports ready.
  while (!((await ok(`http://${at(admin)}/`)) && (await ok(`${queryUrl}/api/services`)))) {
    if (exited !== undefined || Date.now() > deadline) {
      kill();
      process.off('exit', kill);
      throw new Error(
        `jaeger-all-in-one ${exited !== undefined ? `exited with ${exited}` : 'did not become ready in time'}:\n${stderr}`,
      );
    }
    await sleep(100);
  }
  let stopped: Promise<void> | undefined;
  return {
    queryUrl,
    otlpHttpUrl: `http://${at(otlpHttp)}`,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        process.off('exit', kill);
        if (exited !== undefined) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(kill, 5000).unref();
      });
      return stopped;
    },
  };
}

/**
 * One OpenTelemetry SDK tracer provider per service, each exporting over OTLP/HTTP (protobuf) to
 * Jaeger, as instrumented services do. `flush()` waits until every span has been delivered.
 */
export class OtlpServices {
  private readonly providers = new Map<string, BasicTracerProvider>();

  constructor(
    private readonly otlpHttpUrl: string,
    private readonly resourceAttributes: (service: string) => Record<string, string> = () => ({}),
  ) {}

  private provider(service: string): BasicTracerProvider {
    let p = this.providers.get(service);
    if (!p) {
      p = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service, ...this.resourceAttributes(service) }),
        spanProcessors: [
          new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${this.otlpHttpUrl}/v1/traces` })),
        ],
      });
      this.providers.set(service, p);
    }
    return p;
  }

  /** Starts a span in `service`, as a child of `parent` when given (a remote parent across services). */
  start(service: string, name: string, options: SpanOptions, parent?: Span): Span {
    const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
    return this.provider(service).getTracer('kubemate-test').startSpan(name, options, ctx);
  }

  async flush(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.forceFlush()));
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.shutdown()));
  }
}

/** Polls Jaeger's query API until every trace is there with at least the given number of spans. */
export async function waitForTraces(
  queryUrl: string,
  expected: Record<string, number>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Map(Object.entries(expected));
  while (pending.size > 0) {
    for (const [id, spans] of pending) {
      try {
        const res = await fetch(`${queryUrl}/api/traces/${id}`, { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as { data?: Array<{ spans: unknown[] }> };
        if (res.ok && (body.data?.[0]?.spans.length ?? 0) >= spans) pending.delete(id);
      } catch {
        // not yet
      }
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`Jaeger did not index traces ${[...pending.keys()].join(', ')} within ${timeoutMs} ms`);
    }
    await sleep(200);
  }
}
