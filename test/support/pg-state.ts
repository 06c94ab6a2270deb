// A real PostgreSQL for the state stores' tests: one server per test file (Debian's postgresql-15,
// test/env/postgres.ts), and a fresh database per test so tests own their data and pass in any order.
import { randomBytes } from 'node:crypto';
import { type PostgresStack, startPostgres } from '../env/postgres.js';

let stack: PostgresStack | undefined;

export async function startStatePostgres(): Promise<PostgresStack> {
  stack ??= await startPostgres({ exporter: false, maxConnections: 100 });
  return stack;
}

export async function stopStatePostgres(): Promise<void> {
  await stack?.stop();
  stack = undefined;
}

/** Creates an empty database on the running server and returns its URL. */
export function freshDatabase(pg: PostgresStack): string {
  const name = `km_${randomBytes(6).toString('hex')}`;
  pg.sql(`CREATE DATABASE ${name}`);
  return pg.url(name);
}
