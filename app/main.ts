#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { hashToken } from '../mcp/auth.js';
import { serveStdio } from '../mcp/stdio.js';
import { PgAuditLog } from '../policies/audit-log-pg.js';
import { redactUrl } from '../state/url.js';
import { createLogger } from '../tools/core/logger.js';
import { ToolRegistry } from '../tools/core/registry.js';
import type { OutputImage } from '../tools/core/types.js';
import { buildRegistry } from '../tools/index.js';
import { registerApprovalCommands } from './commands/approvals.js';
import { registerAskCommands } from './commands/ask.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerBotCommands } from './commands/bots.js';
import { registerInspectCommands } from './commands/inspect.js';
import { registerPolicyCommands } from './commands/policy.js';
import { progressBar, progressUnit } from './commands/progress-bar.js';
import { registerRunbookCommands } from './commands/runbooks.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { checkReferencedFiles } from './config-files.js';
import { replaceToolsTable, TOOLS_BEGIN, TOOLS_END, toolsMarkdown } from './docs.js';
import { buildScheduler } from './inspection-serve.js';
import { mayStartUnder, schedulerLeader, WECOM_ROBOT_LEASE, whileHolding } from './leases.js';
import { modelChecks } from './model-check.js';
import { migratePostgres, openPgState } from './state.js';
import { auditKey, localPrincipal, openApp, openAuditLog } from './wiring.js';

/** The version in package.json, read beside dist/ (and from the source tree when run with tsx). */
function packageVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'kubemate' && pkg.version) return pkg.version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}

const program = new Command();
program
  .name('kubemate')
  .description(
    'ChatOps assistant for Kubernetes operations: permission-checked tools over MCP, CLI and chat.',
  )
  .version(packageVersion(), '-V, --version', 'print the version of Kubemate')
  .option(
    '-c, --config <file>',
    'YAML configuration file (default: $KUBEMATE_CONFIG, else ./kubemate.yaml if present)',
  )
  .showHelpAfterError();

function configFile(): string | undefined {
  const given = program.opts<{ config?: string }>().config ?? process.env.KUBEMATE_CONFIG;
  if (given) return given;
  return existsSync('kubemate.yaml') ? 'kubemate.yaml' : undefined;
}

/** --port: a whole number 0-65535, checked as the config's own server.port is. */
function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new InvalidArgumentError(`'${value}' is not a port; give a number from 0 to 65535.`);
  }
  return Number(value);
}

function fail(message: string, code = 2): never {
  process.stderr.write(`kubemate: ${message}\n`);
  process.exit(code);
}

function config(): Config {
  try {
    return loadConfig({ file: configFile() });
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
}

/** Interactive commands keep stderr quiet unless a log level was asked for (config or environment). */
async function app(cfg = config(), quiet = false) {
  const level = cfg.log.level ?? (quiet ? 'warn' : 'info');
  try {
    return await openApp(cfg, createLogger(level));
  } catch (e) {
    fail((e as Error).message);
  }
}

program
  .command('serve')
  .description('Serve MCP over Streamable HTTP at /mcp, with /healthz, /readyz and /metrics')
  .option('--host <host>', 'address to listen on (default from config: 127.0.0.1)')
  .option('--port <port>', 'port to listen on, 0-65535 (default from config: 8080)', parsePort)
  .action(async (opts: { host?: string; port?: number }) => {
    const a = await app();
    // Loaded here, not at start: the chat SDKs and the HTTP server are about 40 MB that `mcp`, the
    // CLI commands and a scheduled inspection's process never use.
    const [{ buildBots }, { buildAlerts }, { buildHttpServer }, { chatCanaryNotifier }] = await Promise.all([
      import('./bots.js'),
      import('./alerts.js'),
      import('./http.js'),
      import('../bots/core/canary-notifier.js'),
    ]);
    const bots = buildBots(a);
    let alerts: ReturnType<typeof buildAlerts>;
    try {
      alerts = buildAlerts(a, bots);
    } catch (e) {
      await a.close();
      fail((e as Error).message);
    }
    const server = await buildHttpServer(a, bots, alerts);
    const host = opts.host ?? a.config.server.host;
    const port = opts.port ?? a.config.server.port;
    try {
      await server.listen({ host, port });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why: Record<string, string> = {
        EADDRINUSE: `port ${port} on ${host} is already in use; stop what holds it or choose another with --port`,
        EACCES: `not allowed to listen on ${host}:${port}; ports below 1024 need privileges, choose another with --port`,
        EADDRNOTAVAIL: `${host} is not an address of this machine; choose another with --host`,
        ENOTFOUND: `cannot resolve the host name ${host}; choose another with --host`,
      };
      await a.close();
      fail(why[err.code ?? ''] ?? `cannot listen on ${host}:${port}: ${err.message}`, 1);
    }
    const clusters = a.clusters.names();
    a.logger.info(
      { url: `http://${host}:${port}/mcp`, clusters, tokens: a.config.auth.tokens.length },
      clusters.length
        ? 'kubemate serving'
        : 'kubemate serving without any Kubernetes cluster (no kubeconfig found)',
    );
    if (!a.auth.configured) a.logger.warn('no auth.tokens configured: every /mcp request will be refused');
    if (bots.slack) {
      await bots.slack.start();
      a.logger.info({ mode: a.config.bots.slack.mode }, 'slack bot started');
    }
    if (alerts) {
      await alerts.service.start();
      a.logger.info({ routes: a.config.alerts.routes.length }, 'alertmanager webhook at /api/alerts');
    }
    a.canaryNotifiers.push(
      chatCanaryNotifier(
        Object.fromEntries(Object.entries(bots).map(([platform, bot]) => [platform, bot.core.ctx])),
      ),
    );
    // Timer-driven work that must run once across replicas starts only where the scheduler lease is.
    const leader = schedulerLeader(a);
    leader.start();
    a.canaryRunner.start(mayStartUnder(leader));
    const scheduler = buildScheduler(a, bots, leader);
    if (scheduler) {
      scheduler.start();
      a.logger.info({ plans: a.config.inspections.plans.map((p) => p.name) }, 'inspection schedules started');
    }
    if (bots.feishu) {
      await bots.feishu.start();
      a.logger.info(
        { domain: a.config.bots.feishu.domain, mode: a.config.bots.feishu.mode },
        a.config.bots.feishu.mode === 'webhook'
          ? 'feishu bot started (webhook at /feishu/events)'
          : 'feishu bot started (long connection, outbound only)',
      );
    }
    let wecomRobot: ReturnType<typeof whileHolding> | undefined;
    if (bots.wecom?.mode === 'long-connection') {
      // WeCom keeps one connection per robot, and replies go back over it: one replica holds it.
      wecomRobot = whileHolding(a, WECOM_ROBOT_LEASE, 'the WeCom robot connection runs', bots.wecom, (e) => {
        // Shut down as on SIGTERM (the handler below), with a failing exit code.
        process.stderr.write(`kubemate serve: ${e.message}\n`);
        process.exitCode = 1;
        process.kill(process.pid, 'SIGTERM');
      });
      a.logger.info(
        'wecom bot started (intelligent robot, long connection, outbound only; connected on the replica holding the wecom-robot lease)',
      );
    } else if (bots.wecom) {
      await bots.wecom.start();
      a.logger.info('wecom bot started (callback at /wecom/callback)');
    }
    if (bots.dingtalk) {
      await bots.dingtalk.start();
      a.logger.info(
        { mode: bots.dingtalk.mode },
        bots.dingtalk.mode === 'stream'
          ? 'dingtalk bot started (Stream mode, outbound connection)'
          : 'dingtalk bot started (robot callback at /dingtalk/callback)',
      );
    }
    const stop = async () => {
      await scheduler?.stop();
      await a.canaryRunner.stop();
      // Given up at once, so another replica need not wait for the lease to run out.
      await leader.stop();
      await alerts?.close();
      await bots.slack?.stop();
      await bots.feishu?.stop();
      if (wecomRobot) await wecomRobot.stop();
      else await bots.wecom?.stop();
      await bots.dingtalk?.stop();
      await server.close();
      await a
        .close()
        .catch((e) => a.logger.warn({ error: (e as Error).message }, 'closing the state stores failed'));
      process.exit(); // 0, or the code a fatal error set
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('mcp')
  .description('Serve MCP over stdio, acting as the local principal')
  .action(async () => {
    const a = await app();
    await serveStdio(a.pipeline, localPrincipal(a.config, 'mcp-stdio'));
  });

const tools = program.command('tools').description('List and call tools through the guarded pipeline');
tools
  .command('list')
  .description('List the tools the local principal may call')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const a = await app(config(), true);
    const visible = a.pipeline.visibleTools(localPrincipal(a.config, 'cli'));
    if (opts.json) {
      const out = visible.map((t) => ({
        ...ToolRegistry.facts(t),
        title: t.title,
        description: t.description,
      }));
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      await a.close();
      return;
    }
    for (const t of visible) {
      process.stdout.write(`${t.name.padEnd(24)} ${t.permission.verb.padEnd(6)} ${t.title}\n`);
    }
    await a.close();
  });
tools
  .command('call <name>')
  .description('Call one tool as the local principal')
  .option('--args <json>', 'arguments as a JSON object', '{}')
  .option('--json', 'print the structured result as JSON')
  .option('--images <dir>', 'save images the tool returns (charts) into this folder as PNG files')
  .action(async (name: string, opts: { args: string; json?: boolean; images?: string }) => {
    let args: unknown;
    try {
      args = JSON.parse(opts.args);
    } catch (e) {
      fail(`--args is not valid JSON: ${(e as Error).message}. Example: --args '{"namespace":"default"}'`);
    }
    const a = await app(config(), true);
    // Long calls (a model pull, an inspection) report progress: a bar on stderr, stdout stays the result.
    const bar = progressBar({ label: name, unit: progressUnit(name) });
    const result = await a.pipeline
      .invoke(name, args, localPrincipal(a.config, 'cli'), { onProgress: (p) => bar.update(p) })
      .finally(() => bar.done());
    const images = saveImages(name, result.images ?? [], opts.images);
    if (opts.json) {
      const out = { status: result.status, text: result.text, structured: result.structured, images };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      (result.isError ? process.stderr : process.stdout).write(`${result.text}\n`);
      for (const i of images) {
        process.stdout.write(
          i.file
            ? `image saved: ${i.file}\n`
            : `image (${i.mimeType}, ${i.bytes} bytes) not shown: add --images DIR to save it\n`,
        );
      }
    }
    process.exitCode = result.isError ? (result.status === 'invalid' ? 2 : 1) : 0;
    // The stores close (a PostgreSQL pool would otherwise keep the process alive for its idle time).
    await a.close();
  });

/** Writes a tool's images into `dir` (created if missing) under names that never overwrite a file. */
function saveImages(
  tool: string,
  images: OutputImage[],
  dir: string | undefined,
): { mimeType: string; bytes: number; file?: string }[] {
  if (images.length > 0 && dir) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      fail(`cannot save images into ${dir}: ${(e as Error).message}`, 1);
    }
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return images.map((image, n) => {
    const bytes = Buffer.from(image.data, 'base64');
    if (!dir) return { mimeType: image.mimeType, bytes: bytes.length };
    for (let k = 0; ; k++) {
      const file = join(dir, `${tool}-${stamp}-${n + 1}${k ? `-${k}` : ''}.png`);
      try {
        writeFileSync(file, bytes, { flag: 'wx' });
        return { mimeType: image.mimeType, bytes: bytes.length, file };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
          fail(`cannot save image: ${(e as Error).message}`, 1);
      }
    }
  });
}

program
  .command('config')
  .description('Configuration')
  .command('check <file>')
  .description('Validate a configuration file (with environment overrides applied)')
  .action((file: string) => {
    let cfg: Config;
    try {
      cfg = loadConfig({ file });
    } catch (e) {
      if (e instanceof ConfigError) fail(e.message, 1);
      throw e;
    }
    const problems = checkReferencedFiles(cfg);
    if (problems.length > 0) {
      fail(
        `${file}: the configuration is valid, but files it refers to are not:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
        1,
      );
    }
    process.stdout.write(
      `${file}: valid. Serving on ${cfg.server.host}:${cfg.server.port}, ${cfg.auth.tokens.length} token(s), ` +
        `${cfg.policy.file ? `policy ${cfg.policy.file}` : 'no policy file (changes refused)'}, read-only ${cfg.policy.readOnly}.\n`,
    );
  });

const token = program.command('token').description('Bearer tokens for MCP over HTTP');
token
  .command('create <name>')
  .description('Generate a token and print it with the config entry that stores only its hash')
  .requiredOption('--id <principal>', 'principal id the token stands for, e.g. ci-bot or alice')
  .option('--group <group...>', 'groups of that principal', [])
  .action((name: string, opts: { id: string; group: string[] }) => {
    const secret = `kmt_${randomBytes(24).toString('base64url')}`;
    process.stdout.write(
      `token (shown once, give it to the client): ${secret}\n\nadd under auth.tokens in your config:\n  - name: ${name}\n    sha256: ${hashToken(secret)}\n    principal: { id: ${opts.id}, groups: [${opts.group.join(', ')}] }\n`,
    );
  });
token
  .command('hash')
  .description('Print the SHA-256 of a token read from stdin')
  .action(() => {
    const secret = readFileSync(0, 'utf8').trim();
    if (!secret) fail('no token on stdin');
    process.stdout.write(`${hashToken(secret)}\n`);
  });

program
  .command('docs')
  .description('Generated documentation')
  .command('tools')
  .description('Print the tool table (docs/tools.md) from the registry, or rewrite it in place with --write')
  .option('--write <file>', 'replace the table between the tools markers in this Markdown file')
  .action((opts: { write?: string }) => {
    const table = toolsMarkdown(buildRegistry());
    if (!opts.write) {
      process.stdout.write(`${table}\n`);
      return;
    }
    let text: string;
    try {
      text = readFileSync(opts.write, 'utf8');
    } catch (e) {
      fail(`cannot read ${opts.write}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!text.includes(TOOLS_BEGIN) || !text.includes(TOOLS_END)) {
      fail(
        `${opts.write} has no tool table markers; add these two lines where the table goes:\n${TOOLS_BEGIN}\n${TOOLS_END}`,
      );
    }
    writeFileSync(opts.write, replaceToolsTable(text, table));
    process.stdout.write(`updated the tool table in ${opts.write}\n`);
  });

program
  .command('state')
  .description("Kubemate's state database (state.url)")
  .command('migrate')
  .description(
    "Apply the schema migrations to the PostgreSQL database in state.url, and print each store's version",
  )
  .action(async () => {
    const cfg = config();
    const state = openPgState(cfg);
    if (!state) fail('state.url is SQLite: its files are migrated when Kubemate opens them; nothing to do');
    try {
      for (const { store, version } of await migratePostgres(state))
        process.stdout.write(`${store}: version ${version}\n`);
    } catch (e) {
      fail(`cannot migrate ${redactUrl(state.url)}: ${(e as Error).message}`);
    } finally {
      await state.close();
    }
  });

registerPolicyCommands(program, config);
registerBotCommands(program, config);
registerAskCommands(
  program,
  config,
  async () => {
    const a = await app(config(), true);
    return { agent: a.agent(), principal: localPrincipal(a.config, 'cli'), close: () => a.close() };
  },
  async () => {
    const c = config();
    if (!c.models.ollama.length) return [];
    const a = await app(c, true);
    try {
      return await modelChecks(a.pipeline, localPrincipal(a.config, 'cli'), a.config);
    } finally {
      await a.close();
    }
  },
);
registerApprovalCommands(program, async () => {
  const a = await app(config(), true);
  return { pipeline: a.pipeline, principal: localPrincipal(a.config, 'cli'), close: () => a.close() };
});
registerAuditCommands(program, async () => {
  const cfg = config();
  const state = openPgState(cfg);
  try {
    if (!state) return openAuditLog(cfg);
    await migratePostgres(state);
    const hmacKey = auditKey(cfg);
    const pg = await PgAuditLog.open(state, hmacKey ? { hmacKey } : {});
    return { pg, close: () => state.close() };
  } catch (e) {
    await state?.close().catch(() => undefined);
    fail(
      state
        ? `cannot open the audit log in ${redactUrl(state.url)}: ${(e as Error).message}`
        : (e as Error).message,
    );
  }
});
registerInspectCommands(program, async () => {
  const a = await app(config(), true);
  return {
    pipeline: a.pipeline,
    principal: localPrincipal(a.config, 'cli'),
    store: a.inspections,
    close: () => a.close(),
  };
});
registerRunbookCommands(program, {
  knowledgeBase: () => {
    const cfg = config();
    return { dataDir: cfg.dataDir, runbooks: cfg.runbooks };
  },
  open: async () => {
    const a = await app(config(), true);
    return { pipeline: a.pipeline, principal: localPrincipal(a.config, 'cli'), close: () => a.close() };
  },
});

await program.parseAsync(process.argv);
