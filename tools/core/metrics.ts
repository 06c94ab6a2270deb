import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditSink } from '../../policies/types.js';
import type { StateObserver } from '../../state/observe.js';

/** Per-tool Prometheus metrics, recorded by the pipeline and served on /metrics. */
export class ToolMetrics {
  readonly registry = new Registry();
  /** HTTP requests, audit records and queue depths (below). */
  readonly service = new ServiceMetrics(this.registry);
  private readonly calls = new Counter({
    name: 'kubemate_tool_calls_total',
    help: 'Tool calls by tool and result status.',
    labelNames: ['tool', 'status'] as const,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'kubemate_tool_errors_total',
    help: 'Tool calls that ended in an error result.',
    labelNames: ['tool'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'kubemate_tool_duration_seconds',
    help: 'Tool call latency, from validation to shaped output.',
    labelNames: ['tool'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  observe(tool: string, status: string, seconds: number): void {
    this.calls.inc({ tool, status });
    if (status === 'error') this.errors.inc({ tool });
    this.latency.observe({ tool }, seconds);
  }

  private readonly stateLatency = new Histogram({
    name: 'kubemate_state_operation_duration_seconds',
    help: 'State store operations (approvals, audit, lease, chat_seen…) by store and operation, failed ones included.',
    labelNames: ['store', 'op'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly stateErrors = new Counter({
    name: 'kubemate_state_errors_total',
    help: 'State store operations that failed (database unreachable, conflict, refused schema).',
    labelNames: ['store', 'op'] as const,
    registers: [this.registry],
  });
  private readonly leaseHeld = new Gauge({
    name: 'kubemate_lease_held',
    help: '1 on the replica holding the lease (scheduled work runs there), else 0.',
    labelNames: ['lease'] as const,
    registers: [this.registry],
  });

  /** What the state stores report to (state/observe.ts). */
  readonly state: StateObserver = {
    operation: (store, op, seconds, failed) => {
      this.stateLatency.observe({ store, op }, seconds);
      if (failed) this.stateErrors.inc({ store, op });
    },
    lease: (lease, held) => {
      this.leaseHeld.set({ lease }, held ? 1 : 0);
    },
  };
}

/** Queue depths read from the stores when /metrics is scraped, so they are never stale. */
const DEPTHS = {
  outbox: {
    name: 'kubemate_outbox_pending',
    help: 'Chat messages waiting in the durable outbox to be delivered, by platform.',
  },
  triage: { name: 'kubemate_alert_triage_queued', help: 'Alert groups queued for triage, not yet started.' },
  approvals: { name: 'kubemate_approvals_pending', help: 'Approval tickets waiting for a decision.' },
} as const;
export type DepthKind = keyof typeof DEPTHS;

/** Kubemate's own service metrics beside the per-tool ones: HTTP requests, audit records, queue depths. */
export class ServiceMetrics {
  private readonly readers = new Map<DepthKind, Map<string, () => number | Promise<number>>>();
  private readonly requests: Counter<'method' | 'route' | 'code'>;
  private readonly requestLatency: Histogram<'method' | 'route'>;
  private readonly auditRecords: Counter<'kind'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'kubemate_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code.',
      labelNames: ['method', 'route', 'code'] as const,
      registers: [registry],
    });
    this.requestLatency = new Histogram({
      name: 'kubemate_http_request_duration_seconds',
      help: 'HTTP request latency, by method and route template.',
      labelNames: ['method', 'route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers: [registry],
    });
    this.auditRecords = new Counter({
      name: 'kubemate_audit_records_total',
      help: 'Records appended to the audit log, by kind (decision, result, …).',
      labelNames: ['kind'] as const,
      registers: [registry],
    });
    const readers = this.readers;
    for (const [kind, d] of Object.entries(DEPTHS) as Array<[DepthKind, (typeof DEPTHS)[DepthKind]]>) {
      new Gauge({
        name: d.name,
        help: d.help,
        labelNames: kind === 'outbox' ? (['platform'] as const) : [],
        registers: [registry],
        async collect() {
          this.reset();
          for (const [label, read] of readers.get(kind) ?? []) {
            let n: number;
            try {
              n = await read();
            } catch {
              continue; // a store closed at shutdown: leave the series out rather than fail the scrape
            }
            if (kind === 'outbox') this.set({ platform: label }, n);
            else this.set(n);
          }
        },
      });
    }
  }

  /** Reads a depth at scrape time; `label` is the platform for the outbox. Replaces an earlier reader. */
  watchDepth(kind: DepthKind, read: () => number | Promise<number>, label = ''): void {
    const m = this.readers.get(kind) ?? new Map<string, () => number | Promise<number>>();
    m.set(label, read);
    this.readers.set(kind, m);
  }

  observeRequest(method: string, route: string, code: number, seconds: number): void {
    this.requests.inc({ method, route, code: String(code) });
    this.requestLatency.observe({ method, route }, seconds);
  }

  /**
   * Counts each record the audit sink takes. The sink itself is kept (its record method wrapped in
   * place), so whoever holds it still has the audit log with its reads and verification.
   */
  countAudit<T extends AuditSink>(sink: T): T {
    const counter = this.auditRecords;
    const record = sink.record.bind(sink);
    sink.record = (entry) => {
      const written = record(entry);
      if (!(written instanceof Promise)) {
        counter.inc({ kind: entry.kind });
        return written;
      }
      return written.then((v) => {
        counter.inc({ kind: entry.kind });
        return v;
      });
    };
    return sink;
  }
}
