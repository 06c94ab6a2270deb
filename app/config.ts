import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { agentConfigSchema, llmConfigSchema } from '../agent/config.js';
import { alertsConfigSchema } from '../alerts/config.js';
import { type ChatPlatform, PLATFORM_TRAITS, parseChatTarget } from '../bots/core/platforms.js';
import { runbooksConfigSchema } from '../rag/config.js';
import { redactUrlsDeep, stateUrlSchema } from '../state/url.js';
import { OBSERVABILITY_KINDS, type ObservabilityKind } from '../tools/clients/backends.js';
import { botsConfigSchema } from './bots-config.js';
import { inspectionsConfigSchema } from './inspections-config.js';

/** `~/x` means a path in the home directory, as in a shell. */
const pathSchema = z
  .string()
  .min(1)
  .transform((p) => (p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p));

const principalSchema = z.strictObject({
  id: z.string().min(1),
  groups: z.array(z.string().min(1)).default([]),
});

const tokenSchema = z.strictObject({
  name: z.string().min(1),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be the 64-hex-digit SHA-256 of the token (kubemate token hash)'),
  principal: principalSchema,
});

/** One observability backend instance; several are allowed (one per cluster). */
const httpBackendSchema = z
  .strictObject({
    name: z.string().min(1).default('default'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://prometheus:9090' }),
    /** The cluster (kubeconfig context) this instance watches; tools choose the instance by cluster. */
    cluster: z.string().min(1).optional(),
    bearerToken: z.string().min(1).optional(),
    bearerTokenFile: pathSchema.optional(),
    basicAuth: z
      .strictObject({
        username: z.string().min(1),
        password: z.string().optional(),
        passwordFile: pathSchema.optional(),
      })
      .optional(),
    tls: z
      .strictObject({
        caFile: pathSchema.optional(),
        certFile: pathSchema.optional(),
        keyFile: pathSchema.optional(),
        insecureSkipVerify: z.boolean().default(false),
      })
      .refine((t) => !t.certFile === !t.keyFile, 'give both certFile and keyFile for mTLS, or neither')
      .optional(),
    /** X-Scope-OrgID for multi-tenant Loki, Mimir or Cortex. */
    tenant: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    timeoutSeconds: z.number().positive().max(300).default(10),
    retries: z.number().int().min(0).max(5).default(2),
    /** Largest answer read from this instance; a larger one fails with a message to narrow the query. */
    maxResponseMiB: z.number().positive().max(1024).default(32),
  })
  .refine((b) => !(b.bearerToken || b.bearerTokenFile) || !b.basicAuth, 'use bearer or basic auth, not both');

const backendListSchema = z
  .array(httpBackendSchema)
  .default([])
  .refine(
    (list) => new Set(list.map((b) => b.name)).size === list.length,
    'instance names must be unique (set name: on each)',
  );

/** One Ollama server for the models toolset; several are allowed (one per cluster). */
const ollamaInstanceSchema = z.strictObject({
  name: z.string().min(1).default('default'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://127.0.0.1:11434' }),
  /** The cluster (kubeconfig context) this server belongs to; tools choose the server by cluster. */
  cluster: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  timeoutSeconds: z.number().positive().max(600).default(30),
  /** Upper bound for one model_pull or model_create. */
  pullTimeoutSeconds: z
    .number()
    .positive()
    .max(6 * 3600)
    .default(3600),
  /** Registries model_pull may reach, as host[:port] (e.g. registry.internal:5000); empty: no pulls. */
  allowedRegistries: z
    .array(
      z
        .string()
        .regex(
          /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$/,
          'must be a registry host[:port] such as registry.internal:5000, without scheme or path',
        ),
    )
    .default([]),
  /** Let the server reach the allowed registries over plain HTTP (Ollama's insecure pull). */
  insecureRegistries: z.boolean().default(false),
  /** The server's models folder, when Kubemate runs on the same host or sees it mounted: pulls check its free disk. */
  modelsDir: pathSchema.optional(),
  /** Folder of GGUF files model_create may import (Kubemate reads them and uploads them to the server). */
  importDir: pathSchema.optional(),
  /** More models model_delete refuses without force (the agent's and the embeddings' are protected already). */
  protect: z.array(z.string().min(1)).default([]),
});

/** One surface's per-principal limits (see tools/core/limits.ts), with its defaults. */
function limitSchema(d: { concurrent: number; perMinute: number; burst: number }) {
  return z.strictObject({
    concurrent: z.number().int().min(0).max(10_000).default(d.concurrent),
    perMinute: z.number().int().min(0).max(1_000_000).default(d.perMinute),
    burst: z.number().int().min(1).max(1_000_000).default(d.burst),
  });
}

const configShape = z.strictObject({
  dataDir: pathSchema.default(join(homedir(), '.kubemate')),
  log: z
    .strictObject({
      /** Unset: `serve` and `mcp` log at info, the other CLI commands only warnings and errors. */
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).optional(),
    })
    .default({}),
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      allowedHosts: z.array(z.string().min(1)).default(['localhost', '127.0.0.1', '[::1]']),
      allowedOrigins: z.array(z.url()).default([]),
    })
    .default({
      host: '127.0.0.1',
      port: 8080,
      allowedHosts: ['localhost', '127.0.0.1', '[::1]'],
      allowedOrigins: [],
    }),
  auth: z.strictObject({ tokens: z.array(tokenSchema).default([]) }).default({ tokens: [] }),
  local: z
    .strictObject({
      /** The principal for the CLI and MCP over stdio (the person at this terminal). */
      principal: principalSchema.optional(),
    })
    .default({}),
  kubernetes: z
    .strictObject({
      kubeconfig: pathSchema.optional(),
      contexts: z.array(z.string().min(1)).min(1).optional(),
      defaultCluster: z.string().min(1).optional(),
      /** Largest API server answer read (after decompression); default 64. Lists are read in pages. */
      maxResponseMiB: z.number().positive().max(4096).optional(),
    })
    .default({}),
  policy: z
    .strictObject({
      /** Per-person policy file (roles, bindings, denials, approvals). Without it, only the switches below apply. */
      file: pathSchema.optional(),
      readOnly: z.boolean().default(false),
      disableDestructive: z.boolean().default(false),
      allowTools: z.array(z.string().min(1)).default([]),
      denyTools: z.array(z.string().min(1)).default([]),
    })
    .default({ readOnly: false, disableDestructive: false, allowTools: [], denyTools: [] }),
  /** One list of instances per HTTP observability backend kind (tools/clients/backends.ts). */
  observability: z
    .strictObject(
      Object.fromEntries(OBSERVABILITY_KINDS.map((kind) => [kind, backendListSchema])) as Record<
        ObservabilityKind,
        typeof backendListSchema
      >,
    )
    .default(
      Object.fromEntries(OBSERVABILITY_KINDS.map((kind) => [kind, []])) as unknown as Record<
        ObservabilityKind,
        z.infer<typeof backendListSchema>
      >,
    ),
  /** Model management (the models toolset): the Ollama servers it manages; see docs/models.md. */
  models: z
    .strictObject({
      ollama: z
        .array(ollamaInstanceSchema)
        .default([])
        .refine(
          (list) => new Set(list.map((b) => b.name)).size === list.length,
          'Ollama server names must be unique (set name: on each)',
        ),
    })
    .prefault({}),
  /** The audit log (`<dataDir>/audit.db`): its MAC key, and how often its head is published. */
  audit: z
    .strictObject({
      /**
       * File holding the MAC key (its bytes, a trailing newline ignored; at least 32, e.g. from
       * `openssl rand -hex 32`). Keep it where whoever can write the data directory cannot read it.
       */
      hmacKeyFile: pathSchema.optional(),
      /** The MAC key itself, meant for the environment (KUBEMATE_AUDIT__HMAC_KEY); prefer hmacKeyFile. */
      hmacKey: z
        .string()
        .min(32, 'must be at least 32 characters; generate one with `openssl rand -hex 32`')
        .optional(),
      /** Seconds between publications of the chain head to the log and /metrics (also once at start). */
      anchorIntervalSeconds: z.number().int().min(10).max(86_400).default(300),
    })
    .refine((a) => !(a.hmacKeyFile && a.hmacKey), 'give audit.hmacKeyFile or audit.hmacKey, not both')
    .default({ anchorIntervalSeconds: 300 }),
  output: z
    .strictObject({
      maxTokens: z.number().int().min(200).max(200_000).default(6000),
      timeoutSeconds: z.number().positive().max(600).default(30),
    })
    .default({ maxTokens: 6000, timeoutSeconds: 30 }),
  /**
   * Per-principal limits on the HTTP surfaces: requests in flight at once, requests per minute
   * (bursts allowed), and JSON-RPC messages in one /mcp batch. 0 turns a limit off. Past a limit
   * the answer is 429 with Retry-After.
   */
  limits: z
    .strictObject({
      ask: limitSchema({ concurrent: 2, perMinute: 30, burst: 10 }).prefault({}),
      mcp: limitSchema({ concurrent: 16, perMinute: 600, burst: 120 })
        .extend({ maxBatch: z.number().int().min(1).max(1000).default(20) })
        .prefault({}),
    })
    .prefault({}),
  /** The model behind the agent (`kubemate ask`, /api/ask, the bots); see agent/config.ts. */
  llm: llmConfigSchema.prefault({}),
  agent: agentConfigSchema.prefault({}),
  /** Runbook knowledge base: folders, store (embedded SQLite or Milvus), embeddings; see rag/config.ts. */
  runbooks: runbooksConfigSchema.prefault({}),
  /** Chat bots (Slack); see app/bots-config.ts and docs/chat.md. */
  bots: botsConfigSchema.prefault({}),
  /** Alertmanager's webhook, alert threads in chat and triage; see alerts/config.ts and docs/alerts.md. */
  alerts: alertsConfigSchema.prefault({}),
  /** Inspections: users' checks, report retention and scheduled plans; see docs/inspections.md. */
  inspections: inspectionsConfigSchema.prefault({}),
  /**
   * Where state lives: `sqlite:` (default: SQLite files in dataDir) or `postgres://…` (a database
   * several replicas share); see docs/ha.md.
   */
  state: z
    .strictObject({
      url: stateUrlSchema.default({ kind: 'sqlite' }),
      /**
       * How long the scheduler lease lasts without renewal: when its holder dies, another replica
       * starts the scheduled work after at most this long. Renewed every third of it.
       */
      leaseSeconds: z.number().int().min(3).max(600).default(15),
    })
    .prefault({}),
});

export const configSchema = configShape.superRefine((c, ctx) => {
  // A route or a plan posts through its platform's bot: naming one that does not run would lose every post.
  const notConfigured = (platform: ChatPlatform) =>
    `no ${platform} bot is configured: add a bots.${platform} block with enabled: true (${PLATFORM_TRAITS[platform].docs})`;
  c.inspections.plans.forEach((plan, i) => {
    plan.channels.forEach((channel, j) => {
      const target = parseChatTarget(channel);
      if ('error' in target || c.bots[target.platform].enabled) return;
      ctx.addIssue({
        code: 'custom',
        path: ['inspections', 'plans', i, 'channels', j],
        message: `plan '${plan.name}' posts to ${channel}, but ${notConfigured(target.platform)}, or remove that channel from the plan`,
      });
    });
  });
  if (!c.alerts.enabled) return;
  c.alerts.routes.forEach((r, i) => {
    if (!r.channel || c.bots[r.platform].enabled) return;
    ctx.addIssue({
      code: 'custom',
      path: ['alerts', 'routes', i, 'platform'],
      message: `the route posts to ${r.platform} channel '${r.channel}', but ${notConfigured(r.platform)}, or route to a configured platform`,
    });
  });
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ENV_PREFIX = 'KUBEMATE_';
/** Variables Kubernetes injects for a Service named kubemate (KUBEMATE_PORT, KUBEMATE_SERVICE_HOST, …). */
const SERVICE_LINK = /^KUBEMATE_(PORT|SERVICE_HOST|SERVICE_PORT)(_|$)/;
/** The test environment's own variables (KUBEMATE_TEST_KUBECONFIG, KUBEMATE_TESTENV_CACHE, …). */
const TEST_ENV = /^KUBEMATE_TEST(ENV)?_/;

function lookup(obj: unknown, path: PropertyKey[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Env values are YAML scalars or flow collections: `8080`, `true`, `[a, b]`, `plain text`. */
function parseEnvValue(raw: string): unknown {
  try {
    return parseYaml(raw);
  } catch {
    return raw;
  }
}

/**
 * Environment overrides: KUBEMATE_SERVER__PORT=9000 sets server.port. A double underscore separates
 * levels; single underscores inside a level become camelCase (KUBEMATE_POLICY__READ_ONLY → policy.readOnly).
 */
export function envOverrides(env: NodeJS.ProcessEnv): {
  values: Record<string, unknown>;
  sources: Map<string, string>;
} {
  const values: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    if (name === 'KUBEMATE_CONFIG' || SERVICE_LINK.test(name) || TEST_ENV.test(name)) continue;
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    if (path.some((p) => p === '')) continue;
    let cur = values;
    for (const key of path.slice(0, -1)) {
      if (typeof cur[key] !== 'object' || cur[key] === null) cur[key] = {};
      cur = cur[key] as Record<string, unknown>;
    }
    const value = parseEnvValue(raw);
    // An empty variable must not quietly remove a setting from the file (say, the policy file).
    if (value === null || value === '') {
      throw new ConfigError(
        `${name} is set but empty; unset it to keep the configured value, or give a value (for ${path.join('.')})`,
      );
    }
    cur[path.at(-1)!] = value;
    sources.set(path.join('.'), name);
  }
  return { values, sources };
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === null || typeof over !== 'object' || Array.isArray(over)) return over;
  if (base === null || typeof base !== 'object' || Array.isArray(base)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v);
  return out;
}

/** A key written with no value (`local:` followed only by comments) means "unset", as YAML users expect. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, dropNulls(v)]),
    );
  }
  return value;
}

function describeGiven(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Keys whose values are secrets (tokens, keys, passwords) or may hold one (state.url). */
const SECRET_KEY = /(secret|token|password|key)$/i;

/** One line per problem: the key, what was given (and where from), and the expected form. */
export function formatConfigIssues(
  error: z.ZodError,
  input: unknown,
  origin: string,
  sources: Map<string, string>,
): string {
  const lines = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const parent = issue.path.join('.');
      const known = Object.keys(lookupShape(issue.path) ?? {});
      return `${issue.keys.map((k) => (parent ? `${parent}.${k}` : k)).join(', ')}: unknown key${issue.keys.length > 1 ? 's' : ''}${known.length ? ` (known keys here: ${known.join(', ')})` : ''}`;
    }
    const key = issue.path.join('.') || '(top level)';
    const from = sources.get(key) ? ` (from ${sources.get(key)})` : '';
    const given = lookup(input, issue.path);
    // A secret is never echoed, only its length; a database URL may carry a password wherever it
    // was put, so URLs are redacted too.
    const secret = SECRET_KEY.test(String(issue.path.at(-1) ?? '')) || key === 'state.url';
    const shown = !secret
      ? describeGiven(redactUrlsDeep(given))
      : typeof given === 'string'
        ? `(hidden, ${given.length} characters)`
        : '(hidden)';
    return `${key}: ${issue.message}; given ${shown}${from}`;
  });
  return `invalid configuration in ${origin}:\n${lines.map((l) => `  - ${l}`).join('\n')}`;
}

function lookupShape(path: PropertyKey[]): Record<string, unknown> | undefined {
  // biome-ignore lint/suspicious/noExplicitAny: walking zod internals for the list of known keys
  let schema: any = configSchema;
  for (const key of path) {
    while (schema?.def?.innerType) schema = schema.def.innerType;
    if (typeof key === 'number') schema = schema?.def?.element;
    else schema = schema?.shape?.[key];
  }
  while (schema?.def?.innerType) schema = schema.def.innerType;
  return schema?.shape;
}

/** Loads, merges and validates configuration. Throws ConfigError with every problem listed. */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = options.env ?? process.env;
  let fromFile: unknown = {};
  const origin = options.file ?? 'defaults';
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${options.file}: ${(e as Error).message}`);
    }
    try {
      fromFile = parseYaml(text) ?? {};
    } catch (e) {
      throw new ConfigError(`config file ${options.file} is not valid YAML: ${(e as Error).message}`);
    }
    if (typeof fromFile !== 'object' || Array.isArray(fromFile)) {
      throw new ConfigError(`config file ${options.file} must hold a YAML mapping at the top level`);
    }
  }
  const { values, sources } = envOverrides(env);
  const merged = deepMerge(dropNulls(fromFile), values);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      formatConfigIssues(parsed.error, merged, `${origin}${sources.size ? ' and environment' : ''}`, sources),
    );
  }
  const state = parsed.data.state.url;
  if (state.kind === 'sqlite' && state.dir) {
    // `sqlite:<folder>` names the folder of Kubemate's SQLite files: it is the data folder.
    if (fromFileHas(fromFile, 'dataDir') && resolvePath(state.dir) !== resolvePath(parsed.data.dataDir)) {
      throw new ConfigError(
        `invalid configuration in ${origin}:\n  - state.url: 'sqlite:${state.dir}' names another folder than dataDir (${parsed.data.dataDir}); give one of them`,
      );
    }
    return { ...parsed.data, dataDir: resolvePath(state.dir) };
  }
  return parsed.data;
}

function fromFileHas(fromFile: unknown, key: string): boolean {
  return typeof fromFile === 'object' && fromFile !== null && key in fromFile;
}
