/**
 * A real PostgreSQL 15 (Debian's postgresql-15) and the real postgres_exporter (Debian's
 * prometheus-postgres-exporter), on free loopback ports, in a temporary folder. PostgreSQL refuses
 * to run as root: as root, its processes run as the `postgres` user the package creates.
 * Installed by `bash test/env/observability.sh install`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './prometheus.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const EXPORTER = 'prometheus-postgres-exporter';

export interface PostgresStack {
  port: number;
  exporterTarget: string;
  maxConnections: number;
  /** Opens `n` connections that stay open (each a psql session sleeping) until the stack stops. */
  holdConnections(n: number): Promise<void>;
  /** A connection URL for `database` (default `postgres`). */
  url(database?: string): string;
  /** Runs one SQL statement with psql and returns its unaligned output. */
  sql(statement: string): string;
  stop(): Promise<void>;
}

function owner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000, log = '') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${log ? `\n${log}` : ''}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startPostgres(
  opts: {
    maxConnections?: number /** Also start postgres_exporter (default true). */;
    exporter?: boolean;
  } = {},
): Promise<PostgresStack> {
  const maxConnections = opts.maxConnections ?? 20;
  const dir = mkdtempSync(path.join(tmpdir(), 'kubemate-pg-'));
  const data = path.join(dir, 'data');
  const as = owner();
  if (as) {
    chownSync(dir, as.uid, as.gid);
    chmodSync(dir, 0o700);
  }
  const ids = as ? { uid: as.uid, gid: as.gid } : {};
  execFileSync(
    `${PG_BIN}/initdb`,
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
    {
      ...ids,
      stdio: 'ignore',
    },
  );
  const port = await freePort();
  const log = openSync(path.join(dir, 'postgres.log'), 'a');
  if (as) chownSync(path.join(dir, 'postgres.log'), as.uid, as.gid);
  const server = spawn(
    `${PG_BIN}/postgres`,
    [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      `max_connections=${maxConnections}`,
      '-c',
      'superuser_reserved_connections=1',
      '-c',
      'fsync=off',
    ],
    { ...ids, stdio: ['ignore', log, log] },
  );
  const psqlArgs = [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'postgres',
    '-d',
    'postgres',
    '-X',
    '-A',
    '-t',
  ];
  const sql = (statement: string) =>
    execFileSync(`${PG_BIN}/psql`, [...psqlArgs, '-c', statement], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  const logText = () => {
    try {
      return readFileSync(path.join(dir, 'postgres.log'), 'utf8').slice(-2000);
    } catch {
      return '';
    }
  };
  await until('PostgreSQL to accept connections', () => sql('SELECT 1') === '1', 30_000, logText());

  const exporterPort = opts.exporter === false ? 0 : await freePort();
  const exporter = opts.exporter === false ? undefined : startExporter(dir, port, exporterPort);
  if (exporter) {
    await until('postgres_exporter to report pg_up 1', async () => {
      const text = await (await fetch(`http://127.0.0.1:${exporterPort}/metrics`)).text();
      return /^pg_up 1$/m.test(text);
    });
  }

  const held: ChildProcess[] = [];
  return {
    port,
    url: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    exporterTarget: `127.0.0.1:${exporterPort}`,
    maxConnections,
    sql,
    async holdConnections(n: number) {
      const before = Number(
        sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"),
      );
      for (let i = 0; i < n; i++) {
        const child = spawn(`${PG_BIN}/psql`, [...psqlArgs, '-c', 'SELECT pg_sleep(3600)'], {
          stdio: 'ignore',
        });
        child.on('error', () => undefined);
        held.push(child);
      }
      // psql's own query counts too: `before` includes it, the held ones join it.
      await until(`${n} more connections`, () => {
        const now = Number(
          sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"),
        );
        return now >= before + n;
      });
    },
    async stop() {
      await Promise.all(held.map(stopChild));
      if (exporter) await stopChild(exporter);
      await stopChild(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function startExporter(dir: string, port: number, exporterPort: number): ChildProcess {
  const exporterLog = openSync(path.join(dir, 'exporter.log'), 'a');
  const exporter = spawn(EXPORTER, [`--web.listen-address=127.0.0.1:${exporterPort}`, '--log.level=warn'], {
    stdio: ['ignore', exporterLog, exporterLog],
    env: {
      PATH: process.env.PATH ?? '',
      DATA_SOURCE_NAME: `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    },
  });
  exporter.on('error', () => undefined);
  return exporter;
}
