import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type Agent, buildAgent } from '../agent/index.js';
import { TokenAuthenticator } from '../mcp/auth.js';
import { ApprovalStore } from '../policies/approvals.js';
import { AuditLog } from '../policies/audit-log.js';
import { FilePolicyEngine } from '../policies/engine.js';
import { GuardOnlyPolicy } from '../policies/guard.js';
import { type PolicyFile, parsePolicy } from '../policies/policy-file.js';
import type { AuditSink, PolicyEngine, Principal, PrincipalSource } from '../policies/types.js';
import { LazyKnowledgeBase } from '../rag/index.js';
import { HTTP_BACKENDS, OBSERVABILITY_KINDS, type ObservabilityKind } from '../tools/clients/backends.js';
import { BackendSet } from '../tools/clients/http-backend.js';
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
  policy: PolicyEngine;
  audit: AuditSink;
  approvals?: ApprovalStore;
  /** The runbook knowledge base, opened (and the shipped runbooks ingested) on first use. */
  runbooks: LazyKnowledgeBase;
  /** The ops agent, built on first use (it opens `<dataDir>/agent.db`). */
  agent(): Agent;
  close(): void;
}

/** Whether any Kubernetes credentials can be found: a configured or default kubeconfig, or in-cluster. */
function kubeconfigAvailable(config: Config): boolean {
  if (config.kubernetes.kubeconfig || process.env.KUBECONFIG || process.env.KUBERNETES_SERVICE_HOST)
    return true;
  return existsSync(join(homedir(), '.kube', 'config'));
}

/** Logged at start when no policy file is configured: what that means, and how to change it. */
export const NO_POLICY_WARNING =
  'no policy file is configured (policy.file): every tool that changes state is refused, every ' +
  "principal that reaches Kubemate may use the read tools, and calls run as Kubemate's own " +
  'Kubernetes identity (no impersonation). Write a policy file in the format of policy.example.yaml ' +
  'and set policy.file (or KUBEMATE_POLICY__FILE) to grant changes per person.';

export function loadPolicyFile(path: string): PolicyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read policy file ${path}: ${(e as Error).message}`);
  }
  return parsePolicy(text, path, parseYaml);
}

export function buildApp(
  config: Config,
  logger: Logger,
  overrides: { policy?: PolicyEngine; audit?: AuditSink } = {},
): App {
  const clusters = new KubeClusters({ ...config.kubernetes, none: !kubeconfigAvailable(config) });
  const metrics = new ToolMetrics();
  const obs = config.observability;
  const defaultCluster = () => clusters.defaultCluster;
  const observability = Object.fromEntries(
    OBSERVABILITY_KINDS.map((kind) => [kind, new BackendSet(HTTP_BACKENDS[kind], obs[kind], defaultCluster)]),
  ) as Record<ObservabilityKind, BackendSet>;
  let policy: PolicyEngine;
  let approvals: ApprovalStore | undefined;
  if (overrides.policy) {
    policy = overrides.policy;
  } else if (config.policy.file) {
    const file = loadPolicyFile(config.policy.file);
    const engine = new FilePolicyEngine(file, config.policy, () => clusters.defaultCluster);
    if (file.impersonation.enabled) clusters.impersonate((p) => engine.kubeIdentity(p));
    policy = engine;
    approvals = new ApprovalStore(join(config.dataDir, 'approvals.db'), file.approvalTtlMinutes * 60_000);
  } else {
    policy = new GuardOnlyPolicy(config.policy);
    logger.warn({ policy: 'none' }, NO_POLICY_WARNING);
  }
  const auditLog = overrides.audit ? undefined : new AuditLog(join(config.dataDir, 'audit.db'));
  const runbooks = new LazyKnowledgeBase({
    dataDir: config.dataDir,
    runbooks: config.runbooks,
    warn: (message) => logger.warn({ component: 'runbooks' }, message),
  });
  const audit = overrides.audit ?? auditLog!;
  const pipeline = new ToolPipeline({
    registry: buildRegistry(),
    policy,
    backends: { kube: clusters, ...observability, runbooks, runbookDocuments: runbooks },
    audit,
    metrics,
    logger,
    redact: defaultRedactor,
    maxTokens: config.output.maxTokens,
    timeoutMs: config.output.timeoutSeconds * 1000,
    ...(approvals ? { approvals } : {}),
  });
  let agentHandle: ReturnType<typeof buildAgent> | undefined;
  return {
    config,
    pipeline,
    clusters,
    metrics,
    auth: new TokenAuthenticator(config.auth.tokens),
    logger,
    policy,
    audit,
    ...(approvals ? { approvals } : {}),
    runbooks,
    agent: () => {
      agentHandle ??= buildAgent({
        dataDir: config.dataDir,
        llm: config.llm,
        agent: config.agent,
        pipeline,
        runbooks,
        logger: logger.child({ component: 'agent' }),
      });
      return agentHandle.agent;
    },
    close() {
      agentHandle?.close();
      approvals?.close();
      auditLog?.close();
      for (const set of Object.values(observability)) set.close();
      void runbooks.close();
    },
  };
}

/** The person at this terminal: the CLI and MCP over stdio act as them. */
export function localPrincipal(config: Config, source: PrincipalSource): Principal {
  const configured = config.local.principal;
  if (configured) return { id: configured.id, groups: [...configured.groups], source };
  return { id: `local:${userInfo().username}`, groups: ['local'], source };
}
