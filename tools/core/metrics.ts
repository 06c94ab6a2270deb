import { Counter, Histogram, Registry } from 'prom-client';

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
}
