import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp, NO_POLICY_WARNING } from '../../app/wiring.js';
import type { AuditLog } from '../../policies/audit-log.js';
import type { Logger } from '../../tools/core/logger.js';

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Kubemate as `npm start` composes it, on a cluster that is never contacted (nothing here reaches it). */
function config(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kubemate-wiring-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: test, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: test, context: { cluster: test, user: u } }]
current-context: test
`,
  );
  return {
    dir,
    config: loadConfig({
      env: { KUBEMATE_DATA_DIR: join(dir, 'data'), KUBEMATE_KUBERNETES__KUBECONFIG: kubeconfig, ...env },
    }),
  };
}

const apps: App[] = [];
afterEach(() => {
  for (const a of apps.splice(0)) a.close();
});

const me = { id: 'local:someone', groups: ['local'], source: 'cli' as const };

describe('composition without a policy file (fail closed)', () => {
  it('warns at start, refuses changes with how to configure a policy, and audits why', async () => {
    const { logger, lines } = capturingLogger();
    const app = buildApp(config().config, logger);
    apps.push(app);
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: NO_POLICY_WARNING }));
    expect(NO_POLICY_WARNING).toContain('policy.example.yaml');

    const calls: Array<[string, Record<string, unknown>]> = [
      ['pods_delete', { namespace: 'payments', name: 'api-0' }],
      [
        'resources_apply',
        { namespace: 'kube-system', yaml: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n' },
      ],
    ];
    for (const [tool, args] of calls) {
      const r = await app.pipeline.invoke(tool, args, me);
      expect(r.status, tool).toBe('denied');
      expect(r.text).toContain('no policy file is configured');
      expect(r.text).toContain('policy.example.yaml');
    }
    const names = app.pipeline.visibleTools(me).map((t) => t.name);
    expect(names).toContain('pods_list');
    expect(names).not.toContain('pods_delete');
    expect(names).not.toContain('resources_apply');
    expect(names).not.toContain('nodes_drain');

    const decisions = (app.audit as AuditLog).search({ kind: 'decision' });
    expect(decisions.map((d) => [d.tool, d.decision?.effect, d.decision?.rule])).toEqual([
      ['pods_delete', 'deny', 'no-policy-file'],
      ['resources_apply', 'deny', 'no-policy-file'],
    ]);
  });

  it('says nothing of the kind when a policy file is configured', () => {
    const { dir, config: base } = config();
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, 'version: 1\n');
    const { logger, lines } = capturingLogger();
    apps.push(buildApp({ ...base, policy: { ...base.policy, file } }, logger));
    expect(lines.filter((l) => l.msg === NO_POLICY_WARNING)).toEqual([]);
  });
});

describe('the audit chain head is published automatically', () => {
  it('at start and whenever it moved: to the log and to /metrics, where an anchor can be read back', async () => {
    const { logger, lines } = capturingLogger();
    const app = buildApp(config().config, logger);
    apps.push(app);
    const heads = () => lines.filter((l) => l.msg === 'audit chain head');
    expect(heads()).toEqual([expect.objectContaining({ auditHead: { seq: 0, hash: '0'.repeat(64) } })]);
    await app.pipeline.invoke('pods_delete', { namespace: 'payments', name: 'api-0' }, me);
    const published = app.auditAnchors!.publish()!;
    const head = (app.audit as AuditLog).head()!;
    expect(published).toMatchObject({ seq: 2, hash: head.hash });
    expect(heads().at(-1)).toMatchObject({
      auditHead: { seq: 2, hash: head.hash, anchor: `2:${head.hash}` },
    });
    // Published again with nothing new: /metrics is refreshed, the log is not repeated.
    app.auditAnchors!.publish();
    expect(heads()).toHaveLength(2);

    const server = await buildHttpServer(app);
    try {
      const res = await server.inject({ url: '/metrics', headers: { host: 'localhost' } });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('\nkubemate_audit_head_seq 2\n');
      expect(res.body).toContain(`\nkubemate_audit_head_info{seq="2",hash="${head.hash}"} 1\n`);
      expect(res.body).toMatch(/\nkubemate_audit_head_published_timestamp_seconds \d+(\.\d+)?\n/);
      // The published anchor verifies the log, and catches records cut off after it.
      expect((app.audit as AuditLog).verify({ anchors: [{ seq: 2, hash: head.hash }] }).ok).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('the audit MAC key', () => {
  it('from a key file outside the data directory: every record carries a MAC that verify checks', async () => {
    const { dir, config: base } = config();
    const keyFile = join(dir, 'audit.key');
    writeFileSync(keyFile, `${'a1'.repeat(32)}\n`);
    const { logger, lines } = capturingLogger();
    const app = buildApp({ ...base, audit: { ...base.audit, hmacKeyFile: keyFile } }, logger);
    apps.push(app);
    await app.pipeline.invoke('pods_delete', { namespace: 'payments', name: 'api-0' }, me);
    const log = app.audit as AuditLog;
    expect(log.tail(5).every((e) => /^[0-9a-f]{12}:[0-9a-f]{64}$/.test(e.mac ?? ''))).toBe(true);
    expect(log.verify()).toMatchObject({ ok: true, mac: { checked: 2 } });
    expect(lines).toContainEqual(expect.objectContaining({ audit: 'keyed', keyId: log.keyId }));
    expect(lines.filter((l) => String(l.msg).includes('inside the data directory'))).toEqual([]);
  });

  it('from the environment, refused when too short, and warned about inside the data directory', () => {
    const short = config({ KUBEMATE_AUDIT__HMAC_KEY: 'x'.repeat(40) });
    expect(short.config.audit.hmacKey).toBe('x'.repeat(40));
    expect(() => config({ KUBEMATE_AUDIT__HMAC_KEY: 'too-short' })).toThrow(
      /audit\.hmacKey: must be at least 32 characters/,
    );
    const { dir, config: base } = config();
    const inside = join(base.dataDir, 'audit.key');
    mkdirSync(base.dataDir, { recursive: true });
    writeFileSync(inside, 'k'.repeat(20));
    expect(() =>
      buildApp({ ...base, audit: { ...base.audit, hmacKeyFile: inside } }, capturingLogger().logger),
    ).toThrow('the audit MAC key is 20 bytes; it must be at least 32');
    writeFileSync(inside, 'k'.repeat(32));
    const { logger, lines } = capturingLogger();
    apps.push(buildApp({ ...base, audit: { ...base.audit, hmacKeyFile: inside } }, logger));
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: expect.stringContaining('audit.hmacKeyFile is inside the data directory'),
      }),
    );
    expect(dir).toBeTruthy();
  });
});
