import type { AlertTriageAccess, StoredAlertGroup } from '../tools/clients/alerts.js';
import { severityName } from './render.js';
import type { AlertService } from './service.js';
import type { AlertStore, GroupRecord } from './store.js';

/** A stored group and its triage, as the alerts tool and the MCP resources show it. */
async function stored(store: AlertStore, g: GroupRecord): Promise<StoredAlertGroup> {
  const tally = await store.tally(g.groupKey);
  const t = await store.queue.get(g.groupKey);
  return {
    groupId: g.id,
    groupKey: g.groupKey,
    alertname: g.labels.alertname ?? '',
    ...(g.labels.namespace ? { namespace: g.labels.namespace } : {}),
    status: g.status,
    severity: severityName(g).toLowerCase(),
    firing: tally.firing,
    resolved: tally.resolved,
    updatedAt: new Date(g.updatedAt).toISOString(),
    ...(g.ackBy ? { acknowledgedBy: g.ackBy } : {}),
    triage: t?.state ?? 'not triaged',
    ...(t?.enrichment ? { enrichment: t.enrichment } : {}),
    ...(t?.diagnosis ? { diagnosis: t.diagnosis } : {}),
    ...(t?.error ? { error: t.error } : {}),
  };
}

/** What the alerts toolset and the MCP resources reach of the alert service and its store. */
export function alertTriageAccess(service: AlertService, store: AlertStore): AlertTriageAccess {
  return {
    triage: (ref, principal, options) => service.triageFor(ref, principal, options),
    groups: async (limit) => Promise.all((await store.groups({ limit })).map((g) => stored(store, g))),
    group: async (id) => {
      const g = await store.groupById(id);
      return g ? stored(store, g) : undefined;
    },
    watch: (changed) => service.watch(changed),
  };
}
