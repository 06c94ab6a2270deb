import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
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
