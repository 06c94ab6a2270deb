import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StateObserver } from '../../state/observe.js';

/** Per-tool Prometheus metrics, recorded by the pipeline and served on /metrics. */
export class ToolMetrics {
  readonly registry = new Registry();
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
