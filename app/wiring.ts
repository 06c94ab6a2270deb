import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type Agent, buildAgent } from '../agent/index.js';
import { TokenAuthenticator } from '../mcp/auth.js';
import { ApprovalStore, type Approvals } from '../policies/approvals.js';
import { PgApprovalStore } from '../policies/approvals-pg.js';
import { AuditLog } from '../policies/audit-log.js';
import { PgAuditLog } from '../policies/audit-log-pg.js';
import { FilePolicyEngine } from '../policies/engine.js';
import { GuardOnlyPolicy } from '../policies/guard.js';
import { type PolicyFile, parsePolicy } from '../policies/policy-file.js';
import type { AuditSink, PolicyEngine, Principal, PrincipalSource } from '../policies/types.js';
import { LazyKnowledgeBase } from '../rag/index.js';
import { type LeaseBackend, PgLeases, SqliteLeases } from '../state/lease.js';
import type { PgState } from '../state/postgres.js';
import { openSqlite } from '../state/sqlite.js';
import { redactUrl } from '../state/url.js';
import { type CanaryNotifier, CanaryProgressRunner } from '../tools/canary/progress-runner.js';
import { HTTP_BACKENDS, OBSERVABILITY_KINDS, type ObservabilityKind } from '../tools/clients/backends.js';
import { type CanaryPlanStore, openCanaryPlanStore } from '../tools/clients/canary-plans.js';
import { BackendSet } from '../tools/clients/http-backend.js';
import { KubeClusters } from '../tools/clients/kube.js';
import { OllamaSet } from '../tools/clients/ollama.js';
import { ToolPipeline } from '../tools/core/invoke.js';
import type { Logger } from '../tools/core/logger.js';
import { ToolMetrics } from '../tools/core/metrics.js';
import { defaultRedactor } from '../tools/core/redact.js';
import type { ToolRegistry } from '../tools/core/registry.js';
import { buildRegistry } from '../tools/index.js';
import { type InspectionStore, openInspectionStore } from '../tools/inspection/store.js';
import { AuditAnchors } from './audit-anchors.js';
import type { Config } from './config.js';
import { inspectionBackend } from './inspections.js';
import { ollamaInstances } from './models-config.js';
import { migratePostgres, openPgState } from './state.js';

export interface App {
  config: Config;
  pipeline: ToolPipeline;
  clusters: KubeClusters;
  metrics: ToolMetrics;
  auth: TokenAuthenticator;
  logger: Logger;
  policy: PolicyEngine;
  audit: AuditSink;
  /**
   * The PostgreSQL state every replica shares (state.url: postgres://…), migrated at start; absent on
   * SQLite. Stores ported to PostgreSQL take their pool from here; closed by `close()`.
   */
  pgState?: PgState;
  /** Where leases for work that must run on one replica at a time are kept (app/leases.ts). */
  leases: LeaseBackend;
  /** Publishes the audit chain's head to the log and /metrics (absent when the audit sink was given). */
  auditAnchors?: AuditAnchors;
  approvals?: Approvals;
  /** The runbook knowledge base, opened (and the shipped runbooks ingested) on first use. */
  runbooks: LazyKnowledgeBase;
  /** Inspection reports, schedule state and missed runs (`<dataDir>/inspections.db`, or PostgreSQL). */
  inspections: InspectionStore;
  /** The ops agent, built on first use (its runs and threads in `<dataDir>/agent.db`, or PostgreSQL). */
  agent(): Agent;
  /** Durable canary_progress plans (`<dataDir>/canary.db`, or PostgreSQL). */
  canaryPlans: CanaryPlanStore;
  /** Runs canary_progress plans; `kubemate serve` starts it. Reports go to the log and to `notifiers`. */
  canaryRunner: CanaryProgressRunner;
  /** Where canary_progress steps are reported besides the log (the chat bots add theirs). */
  canaryNotifiers: CanaryNotifier[];
  /** Stops and closes everything; resolves once the PostgreSQL pool (if any) is closed. */
  close(): Promise<void>;
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

/**
 * The audit log's MAC key from the configuration, or undefined when none is set. A key file's bytes
 * are the key (a trailing newline ignored); too short a key is refused rather than used.
 */
export function auditKey(config: Config, logger?: Logger): Buffer | undefined {
  const { hmacKeyFile, hmacKey } = config.audit;
  let key: Buffer;
  if (hmacKeyFile) {
    try {
      key = readFileSync(hmacKeyFile);
    } catch (e) {
      throw new Error(`cannot read audit.hmacKeyFile ${hmacKeyFile}: ${(e as Error).message}`);
    }
    let end = key.length;
    if (end > 0 && key[end - 1] === 0x0a) end--;
    if (end > 0 && key[end - 1] === 0x0d) end--;
    key = key.subarray(0, end);
    const inside = relative(resolve(config.dataDir), resolve(hmacKeyFile));
    if (!inside.startsWith('..') && !inside.startsWith('/')) {
      logger?.warn(
        { hmacKeyFile },
        'audit.hmacKeyFile is inside the data directory: whoever can rewrite the audit database can then also read the key that guards it; keep the key elsewhere',
      );
    }
  } else if (hmacKey) {
    key = Buffer.from(hmacKey, 'utf8');
  } else {
    return undefined;
  }
  if (key.length < 32) {
    throw new Error(
      `the audit MAC key is ${key.length} bytes; it must be at least 32 (generate one with \`openssl rand -hex 32\`)`,
    );
  }
  return key;
}

/** The audit log in the data directory, writing MACs when a key is configured. */
export function openAuditLog(config: Config, logger?: Logger): AuditLog {
  if (config.state.url.kind === 'postgres') throw new Error(NEEDS_OPEN_APP);
  const hmacKey = auditKey(config, logger);
  return new AuditLog(join(config.dataDir, 'audit.db'), hmacKey ? { hmacKey } : {});
}

export function loadPolicyFile(path: string): PolicyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read policy file ${path}: ${(e as Error).message}`);
  }
  return parsePolicy(text, path, parseYaml);
}

export interface AppOverrides {
  policy?: PolicyEngine;
  audit?: AuditSink;
}

/** What `openApp` prepares on PostgreSQL before the rest of the app is built. */
interface SharedState {
  pg: PgState;
  metrics: ToolMetrics;
  auditLog?: PgAuditLog;
  leases: PgLeases;
}

/**
 * Builds the app on either backend. On PostgreSQL it opens the pool once, applies every store's
 * migrations (refusing a schema newer than this code knows, as `kubemate state migrate` does) and
 * opens the shared stores; on SQLite it is `buildApp`.
 */
export async function openApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  if (config.state.url.kind !== 'postgres') return buildApp(config, logger, overrides);
  const metrics = new ToolMetrics();
  const pg = openPgState(config, metrics.state)!;
  try {
    await migratePostgres(pg);
    const hmacKey = overrides.audit ? undefined : auditKey(config, logger);
    const auditLog = overrides.audit ? undefined : await PgAuditLog.open(pg, hmacKey ? { hmacKey } : {});
    const shared: SharedState = {
      pg,
      metrics,
      leases: await PgLeases.open(pg),
      ...(auditLog ? { auditLog } : {}),
    };
    return buildAppOn(config, logger, overrides, shared);
  } catch (e) {
    await pg.close().catch(() => undefined);
    throw new Error(`cannot open the state database ${redactUrl(pg.url)}: ${(e as Error).message}`);
  }
}

/** Raised by the synchronous entry points when state.url is PostgreSQL. */
export const NEEDS_OPEN_APP =
  'state.url is PostgreSQL: the app must be opened with openApp (it migrates the database and opens the shared stores first)';

/** Builds the app on SQLite (the embedded default). For PostgreSQL use `openApp`. */
export function buildApp(config: Config, logger: Logger, overrides: AppOverrides = {}): App {
  if (config.state.url.kind === 'postgres') throw new Error(NEEDS_OPEN_APP);
  return buildAppOn(config, logger, overrides, undefined);
}

function buildAppOn(
  config: Config,
  logger: Logger,
  overrides: AppOverrides,
  shared: SharedState | undefined,
): App {
  const clusters = new KubeClusters({ ...config.kubernetes, none: !kubeconfigAvailable(config) });
  const registry = buildRegistry();
  const metrics = shared?.metrics ?? new ToolMetrics();
  const obs = config.observability;
  const defaultCluster = () => clusters.defaultCluster;
  const observability = Object.fromEntries(
    OBSERVABILITY_KINDS.map((kind) => [kind, new BackendSet(HTTP_BACKENDS[kind], obs[kind], defaultCluster)]),
  ) as Record<ObservabilityKind, BackendSet>;
  const ollama = new OllamaSet(ollamaInstances(config), defaultCluster);
  let policy: PolicyEngine;
  let approvals: Approvals | undefined;
  if (overrides.policy) {
    policy = overrides.policy;
  } else if (config.policy.file) {
    const file = loadPolicyFile(config.policy.file);
    const engine = new FilePolicyEngine(file, config.policy, () => clusters.defaultCluster);
    if (file.impersonation.enabled) clusters.impersonate((p) => engine.kubeIdentity(p));
    policy = engine;
    const ttlMs = file.approvalTtlMinutes * 60_000;
    // A run never outlasts its timeout (the pipeline's, or a long tool's own); past it, it was lost in a crash.
    const executingLimitMs = executingLimit(config.output.timeoutSeconds * 1000, registry);
    approvals = shared
      ? PgApprovalStore.migrated(shared.pg, ttlMs, Date.now, executingLimitMs)
      : new ApprovalStore(join(config.dataDir, 'approvals.db'), ttlMs, Date.now, executingLimitMs);
  } else {
    policy = new GuardOnlyPolicy(config.policy);
    logger.warn({ policy: 'none' }, NO_POLICY_WARNING);
  }
  const auditLog: AuditLog | PgAuditLog | undefined = overrides.audit
    ? undefined
    : (shared?.auditLog ?? openAuditLog(config, logger));
  const auditAnchors = auditLog
    ? new AuditAnchors(auditLog, logger, metrics.registry, config.audit.anchorIntervalSeconds * 1000)
    : undefined;
  if (auditLog) {
    logger.info(
      auditLog.keyed ? { audit: 'keyed', keyId: auditLog.keyId } : { audit: 'unkeyed' },
      auditLog.keyed
        ? 'audit records carry a MAC; `kubemate audit verify` checks them with the configured key'
        : 'audit records carry no MAC (set audit.hmacKeyFile): a rewrite of the whole chain is caught only against a published head',
    );
    auditAnchors!.start();
  }
  const runbooks = new LazyKnowledgeBase({
    dataDir: config.dataDir,
    runbooks: config.runbooks,
    warn: (message) => logger.warn({ component: 'runbooks' }, message),
  });
  const audit = metrics.service.countAudit(overrides.audit ?? auditLog!);
  if (approvals) {
    const store = approvals;
    metrics.service.watchDepth(
      'approvals',
      async () => (await store.list({ status: 'pending', limit: 1_000_000 })).length,
    );
  }
  const pgState = shared?.pg;
  const canaryPlans = openCanaryPlanStore(pgState, join(config.dataDir, 'canary.db'));
  const inspections = openInspectionStore(pgState, join(config.dataDir, 'inspections.db'), {
    days: config.inspections.retentionDays,
    perKind: config.inspections.keepPerKind,
  });
  const pipeline = new ToolPipeline({
    registry,
    policy,
    backends: {
      kube: clusters,
      ...observability,
      runbooks,
      runbookDocuments: runbooks,
      runbookAdmin: runbooks,
      canaryPlans,
      inspections: inspectionBackend(config, inspections),
      ollama,
    },
    audit,
    metrics,
    logger,
    redact: defaultRedactor,
    maxTokens: config.output.maxTokens,
    timeoutMs: config.output.timeoutSeconds * 1000,
    ...(approvals ? { approvals } : {}),
  });
  let agentHandle: ReturnType<typeof buildAgent> | undefined;
  const canaryNotifiers: CanaryNotifier[] = [];
  const canaryLog = logger.child({ component: 'canary' });
  const canaryRunner = new CanaryProgressRunner({
    store: canaryPlans,
    pipeline,
    ...(approvals ? { tickets: approvals } : {}),
    onError: (e) =>
      canaryLog.error({ error: e.message }, 'canary plans: a pass failed; trying again at the next interval'),
    notifier: {
      async notify(plan, text) {
        canaryLog.info({ plan: plan.id, state: plan.state }, text);
        for (const n of canaryNotifiers) await n.notify(plan, text);
      },
    },
  });
  const leaseDb = shared ? undefined : openSqlite(join(config.dataDir, 'leases.db'));
  const leases = shared?.leases ?? new SqliteLeases(leaseDb!, metrics.state);
  return {
    config,
    ...(shared ? { pgState: shared.pg } : {}),
    leases,
    pipeline,
    clusters,
    metrics,
    auth: new TokenAuthenticator(config.auth.tokens),
    logger,
    policy,
    audit,
    ...(auditAnchors ? { auditAnchors } : {}),
    ...(approvals ? { approvals } : {}),
    runbooks,
    inspections,
    agent: () => {
      agentHandle ??= buildAgent({
        dataDir: config.dataDir,
        llm: config.llm,
        agent: config.agent,
        pipeline,
        runbooks,
        logger: logger.child({ component: 'agent' }),
        ...(pgState ? { pgState } : {}),
      });
      return agentHandle.agent;
    },
    canaryPlans,
    canaryRunner,
    canaryNotifiers,
    async close() {
      await canaryRunner.stop();
      canaryPlans.close();
      agentHandle?.close();
      approvals?.close();
      inspections.close();
      auditAnchors?.stop();
      if (auditLog instanceof AuditLog) auditLog.close();
      for (const set of Object.values(observability)) set.close();
      ollama.close();
      leaseDb?.close();
      await runbooks.close().catch(() => undefined);
      if (auditLog instanceof PgAuditLog) await auditLog.close();
      await shared?.pg.close();
    },
  };
}

/**
 * How long a ticket may stay `executing` before it is taken for lost in a crash (and marked failed,
 * "unknown whether it took effect"): longer than any approved call may run, the pipeline's timeout or
 * a tool's own (a model pull may take hours), plus a minute.
 */
export function executingLimit(pipelineTimeoutMs: number, registry: ToolRegistry): number {
  const longest = Math.max(pipelineTimeoutMs, ...registry.list().map((d) => d.timeoutMs ?? 0));
  return longest + 60_000;
}

/** The person at this terminal: the CLI and MCP over stdio act as them. */
export function localPrincipal(config: Config, source: PrincipalSource): Principal {
  const configured = config.local.principal;
  if (configured) return { id: configured.id, groups: [...configured.groups], source };
  return { id: `local:${userInfo().username}`, groups: ['local'], source };
}
