// Database inspections against a real PostgreSQL 15 and the real postgres_exporter (Debian), scraped
// by a real Prometheus, with a planted problem: connections close to max_connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import { silentLogger } from '../../tools/core/logger.js';
import type { Report } from '../../tools/inspection/model.js';
import { findingId } from '../../tools/inspection/runner.js';
import { type PostgresStack, startPostgres } from '../env/postgres.js';
import { type PrometheusStack, startPrometheusStack } from '../env/prometheus.js';
import { kubemateConfig, waitFor } from '../support/kube.js';

const principal = { id: 'alice', groups: ['ops'], source: 'cli' as const };
const CHECKS = [
  'database.postgres.up',
  'database.postgres.connections',
  'database.postgres.long-transactions',
  'database.postgres.deadlocks',
];
let pg: PostgresStack;
let stack: PrometheusStack;
let app: App;

beforeAll(async () => {
  pg = await startPostgres({ maxConnections: 20 });
  stack = await startPrometheusStack({ extraTargets: { 'postgres-exporter': pg.exporterTarget } });
  app = buildApp(
    kubemateConfig({
      KUBEMATE_OBSERVABILITY__PROMETHEUS: [{ url: stack.prometheusUrl, retries: 0 }],
      KUBEMATE_INSPECTIONS__SUMMARY: 'template',
    }),
    silentLogger,
  );
}, 120_000);

afterAll(async () => {
  app?.close();
  await stack?.stop();
  await pg?.stop();
});

async function promValue(query: string): Promise<number | undefined> {
  const r = await fetch(`${stack.prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await r.json()) as { data: { result: Array<{ value: [number, string] }> } };
  const v = body.data.result[0]?.value[1];
  return v === undefined ? undefined : Number(v);
}

async function inspectDatabase(): Promise<Report> {
  const r = await app.pipeline.invoke('inspection_run', { checks: CHECKS }, principal);
  expect(r.isError, r.text).toBe(false);
  return JSON.parse((await app.inspections.get(String(r.structured!.id)))!.body) as Report;
}

describe('PostgreSQL inspection', () => {
  it('passes a healthy server, then finds connections close to max_connections', async () => {
    await waitFor('pg_settings_max_connections in Prometheus', () =>
      promValue('pg_settings_max_connections'),
    );
    const healthy = await inspectDatabase();
    expect(healthy.scopes).toEqual(['database']);
    const status = Object.fromEntries(healthy.checks.map((c) => [c.id, c.status]));
    expect(status).toMatchObject({
      'database.postgres.up': 'passed',
      'database.postgres.connections': 'passed',
      'database.postgres.long-transactions': 'passed',
    });
    expect(healthy.findings).toEqual([]);
    expect(healthy.scores.byScope.database).toMatchObject({ score: 100, grade: 'A' });

    await pg.holdConnections(17);
    const query =
      'sum by (instance) (pg_stat_activity_count) / on (instance) max by (instance) (pg_settings_max_connections)';
    await waitFor('Prometheus to see the held connections', async () =>
      ((await promValue(query)) ?? 0) >= 0.85 ? true : undefined,
    );
    const busy = await inspectDatabase();
    const f = busy.findings.find((x) => x.checkId === 'database.postgres.connections')!;
    expect(f.subject).toBe(pg.exporterTarget);
    expect(f.id).toBe(findingId('database.postgres.connections', pg.exporterTarget));
    expect(f.value).toBeGreaterThanOrEqual(0.85);
    expect(f.value).toBeLessThanOrEqual(1);
    expect(f.severity).toBe(f.value > 0.9 ? 'critical' : 'warning');
    expect(f.message).toMatch(
      new RegExp(
        `^PostgreSQL at ${pg.exporterTarget.replace(/\./g, '\\.')} uses \\d+(\\.\\d)?% of max_connections$`,
      ),
    );
    expect(f.evidence.query).toContain('pg_settings_max_connections');
    expect(busy.diff).toMatchObject({ previousId: healthy.id, new: [f.id], resolved: [], trend: 'worse' });
    expect(busy.scores.byScope.database!.score).toBeLessThan(100);
    expect(busy.summary.text).toContain(`[${f.id}]`);
  });
});
