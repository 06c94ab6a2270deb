import { userInfo } from 'node:os';
import { TokenAuthenticator } from '../mcp/auth.js';
import { GuardOnlyPolicy } from '../policies/guard.js';
import type { AuditSink, PolicyEngine, Principal, PrincipalSource } from '../policies/types.js';
import { KubeClusters } from '../tools/clients/kube.js';
import { ToolPipeline } from '../tools/core/invoke.js';
import type { Logger } from '../tools/core/logger.js';
import { ToolMetrics } from '../tools/core/metrics.js';
import { defaultRedactor } from '../tools/core/redact.js';
import { buildRegistry } from '../tools/index.js';
import type { Config } from './config.js';

export interface App {
  config: Config;
  pipeline: ToolPipeline;
  clusters: KubeClusters;
  metrics: ToolMetrics;
  auth: TokenAuthenticator;
  logger: Logger;
}

/** Until the tamper-evident audit store is configured, audit records go to the structured log. */
class LogAuditSink implements AuditSink {
  constructor(private readonly logger: Logger) {}
  record(entry: Parameters<AuditSink['record']>[0]): void {
    this.logger.info({ audit: entry }, 'audit');
  }
}

export function buildApp(
  config: Config,
  logger: Logger,
  overrides: { policy?: PolicyEngine; audit?: AuditSink } = {},
): App {
  const clusters = new KubeClusters(config.kubernetes);
  const metrics = new ToolMetrics();
  const pipeline = new ToolPipeline({
    registry: buildRegistry(),
    policy: overrides.policy ?? new GuardOnlyPolicy(config.policy),
    backends: { kube: clusters },
    audit: overrides.audit ?? new LogAuditSink(logger),
    metrics,
    logger,
    redact: defaultRedactor,
    maxTokens: config.output.maxTokens,
    timeoutMs: config.output.timeoutSeconds * 1000,
  });
  return { config, pipeline, clusters, metrics, auth: new TokenAuthenticator(config.auth.tokens), logger };
}

/** The person at this terminal: the CLI and MCP over stdio act as them. */
export function localPrincipal(config: Config, source: PrincipalSource): Principal {
  const configured = config.local.principal;
  if (configured) return { id: configured.id, groups: [...configured.groups], source };
  return { id: `local:${userInfo().username}`, groups: ['local'], source };
}
