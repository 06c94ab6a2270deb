// Kubemate's state on PostgreSQL (state.url: postgres://…): the stores ported so far and their
// schema migrations, applied at start and by `kubemate state migrate`. See docs/ha.md.

import { AGENT_MIGRATIONS } from '../agent/store-schema.js';
import { ALERTS_MIGRATIONS } from '../alerts/store-schema.js';
import { CHAT_MIGRATIONS } from '../bots/core/store-schema.js';
import { APPROVALS_MIGRATIONS } from '../policies/approvals-schema.js';
import { AUDIT_MIGRATIONS } from '../policies/audit-schema.js';
import { DEDUPE_MIGRATIONS } from '../state/dedupe.js';
import { LEASE_MIGRATIONS } from '../state/lease.js';
import type { Migration } from '../state/migrations.js';
import type { StateObserver } from '../state/observe.js';
import { PgState } from '../state/postgres.js';
import { CANARY_MIGRATIONS } from '../tools/clients/canary-plans-schema.js';
import { INSPECTIONS_MIGRATIONS } from '../tools/inspection/store-schema.js';
import type { Config } from './config.js';

/** Every store with a PostgreSQL schema, by the name its version is kept under. */
export const PG_STORES: ReadonlyArray<[string, readonly Migration[]]> = [
  ['approvals', APPROVALS_MIGRATIONS],
  ['audit', AUDIT_MIGRATIONS],
  ['lease', LEASE_MIGRATIONS],
  ['chat', CHAT_MIGRATIONS],
  ['canary', CANARY_MIGRATIONS],
  ['agent', AGENT_MIGRATIONS],
  ['chat_seen', DEDUPE_MIGRATIONS],
  ['alerts', ALERTS_MIGRATIONS],
  ['inspections', INSPECTIONS_MIGRATIONS],
];

/** Applies every store's missing migrations; refuses a schema newer than this code knows. */
export async function migratePostgres(state: PgState): Promise<Array<{ store: string; version: number }>> {
  const out: Array<{ store: string; version: number }> = [];
  for (const [store, migrations] of PG_STORES)
    out.push({ store, version: await state.migrate(store, migrations) });
  return out;
}

export function openPgState(config: Config, observer?: StateObserver): PgState | undefined {
  const url = config.state.url;
  if (url.kind !== 'postgres') return undefined;
  return new PgState(url.url, observer ? { observer } : {});
}
