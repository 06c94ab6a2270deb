import { createHash, randomBytes } from 'node:crypto';
import type { PgState } from '../state/postgres.js';
import { num, PgSql, type Sql, type SqlDb, SqliteSql } from '../state/sql.js';
import { openSqlite } from '../state/sqlite.js';
import { ALERTS_MIGRATIONS } from './store-schema.js';
import { ModelBudget, requeueFinished, TriageQueue } from './triage-queue.js';
import { type AlertmanagerWebhook, severityRank } from './webhook.js';

export type { TriageRecord } from './triage-queue.js';

const STORE = 'alerts';

export interface AlertRecord {
  fingerprint: string;
  startsAt: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  endsAt: string;
}

export interface GroupRecord {
  groupKey: string;
  id: string;
  labels: Record<string, string>;
  status: 'firing' | 'resolved';
  severityRank: number;
  channel?: string;
  platform?: string;
  storm: boolean;
  firstAt: number;
  updatedAt: number;
  ackBy?: string;
  /** How many times the group came back after it had resolved: each time is a new thread and triage. */
  episode: number;
}

/** What one delivery changed: new firing alerts, resolutions, and whether the group is new. */
export interface Ingested {
  group: GroupRecord;
  /**
   * This delivery made the group: true for exactly one delivery, on whichever replica stored it
   * first. Only that one begins the group's thread.
   */
  isNew: boolean;
  /** The group had resolved and fires again: a new episode, presented and triaged anew (also once). */
  refired: boolean;
  fired: AlertRecord[];
  resolved: AlertRecord[];
}

/** Where a new group goes: decided by the caller, with the storm count read in the delivery's transaction. */
export type Placement = { channel?: string; platform?: string; storm: boolean };
export type Place = (
  labels: Record<string, string>,
  rank: number,
  newGroupsIn: (platform: string, channel: string, since: number) => Promise<number>,
) => Placement | Promise<Placement>;

/** A storm episode of a channel, and whether this call began it (then it posts the summary). */
export interface StormEpisode {
  key: string;
  since: number;
  began: boolean;
}

/** A short stable id for a group (`ag_…`), from Alertmanager's groupKey. */
export const groupIdOf = (groupKey: string) =>
  `ag_${createHash('sha256').update(groupKey).digest('hex').slice(0, 12)}`;

type GroupRow = {
  group_key: string;
  id: string;
  labels_json: string;
  status: 'firing' | 'resolved';
  severity_rank: number;
  channel: string | null;
  platform: string | null;
  storm: number;
  first_at: number | string;
  updated_at: number | string;
  ack_by: string | null;
  episode: number;
};

const groupOf = (r: GroupRow): GroupRecord => ({
  groupKey: r.group_key,
  id: r.id,
  labels: JSON.parse(r.labels_json),
  status: r.status,
  severityRank: r.severity_rank,
  ...(r.channel ? { channel: r.channel } : {}),
  ...(r.platform ? { platform: r.platform } : {}),
  storm: r.storm === 1,
  firstAt: num(r.first_at),
  updatedAt: num(r.updated_at),
  ...(r.ack_by ? { ackBy: r.ack_by } : {}),
  episode: r.episode,
});

type AlertRow = {
  fingerprint: string;
  starts_at: string;
  status: 'firing' | 'resolved';
  labels_json: string;
  annotations_json: string;
  ends_at: string;
};
const alertOf = (r: AlertRow): AlertRecord => ({
  fingerprint: r.fingerprint,
  startsAt: r.starts_at,
  status: r.status,
  labels: JSON.parse(r.labels_json),
  annotations: JSON.parse(r.annotations_json),
  endsAt: r.ends_at,
});

const FIRING = "SUM(CASE WHEN g.status = 'firing' THEN 1 ELSE 0 END)";
const TRIAGED = "SUM(CASE WHEN t.state IN ('done', 'failed') THEN 1 ELSE 0 END)";
/** Rows per multi-row INSERT of a delivery's alerts (8 parameters each). */
const ALERT_BATCH = 500;

/** A placement as the group row keeps it: channel, platform (Slack unless named), storm flag. */
const placed = (where: Placement) => [
  where.channel ?? null,
  where.channel ? (where.platform ?? 'slack') : null,
  where.storm ? 1 : 0,
];

const selectGroup = (q: Sql, groupKey: string, lock = false) =>
  q.get<GroupRow>(`SELECT * FROM alert_groups WHERE group_key = ?${lock ? q.forUpdate : ''}`, [groupKey]);

async function tallyOf(q: Sql, groupKey: string): Promise<{ firing: number; resolved: number }> {
  const r = await q.get<{ firing: unknown; resolved: unknown }>(
    `SELECT SUM(CASE WHEN status = 'firing' THEN 1 ELSE 0 END) AS firing,
            SUM(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END) AS resolved
       FROM alert_items WHERE group_key = ?`,
    [groupKey],
  );
  return { firing: num(r?.firing), resolved: num(r?.resolved) };
}

/**
 * Alert groups, their alerts and their triage, in SQLite (`<dataDir>/alerts.db`, the default) or in
 * the PostgreSQL database every replica shares: one implementation, the SQL written once
 * (state/sql.ts). A delivery is stored in one transaction before it is acknowledged, so nothing
 * Alertmanager handed over is lost, and each alert is keyed by group, fingerprint and start, so a
 * repeated delivery changes nothing. The same group delivered to two replicas at once is made once:
 * the insert of its row is keyed, the other replica waits on that row and then reads it.
 */
export class AlertStore {
  /** The triage queue and results, in the same database (a refired group is queued again with its delivery). */
  readonly queue: TriageQueue;
  /** The model runs of the last minute, kept across restarts. */
  readonly budget: ModelBudget;

  constructor(private readonly db: SqlDb) {
    this.queue = new TriageQueue(db, (name) => this.count(name));
    this.budget = new ModelBudget(db);
  }

  /** Resolves once the schema is migrated (rejects when the database's is newer than this code). */
  migrated(): Promise<void> {
    return this.db.migrated();
  }

  close(): void {
    this.db.close();
  }

  async count(name: string, by = 1): Promise<void> {
    await this.db.op('count', (q) => bump(q, [[name, by]]));
  }

  async stats(): Promise<Record<string, number>> {
    const rows = await this.db.op('stats', (q) =>
      q.all<{ name: string; value: unknown }>('SELECT name, value FROM alert_stats'),
    );
    return Object.fromEntries(rows.map((r) => [r.name, num(r.value)]));
  }

  /**
   * Stores a delivery; `place` decides, for a group seen for the first time (or back after it
   * resolved), its channel and whether it arrives in a storm (then it gets a line in the storm
   * summary rather than a thread).
   */
  async ingest(payload: AlertmanagerWebhook, place: Place): Promise<Ingested> {
    const ingested = await this.db.tx('ingest', async (q): Promise<Ingested> => {
      const now = Date.now();
      const labels = { ...payload.groupLabels, ...payload.commonLabels };
      const rank = Math.min(...payload.alerts.map((a) => severityRank(a.labels.severity)));
      const status = payload.alerts.some((a) => a.status === 'firing') ? 'firing' : payload.status;
      const newGroupsIn = async (platform: string, channel: string, since: number) =>
        num(
          (
            await q.get<{ n: unknown }>(
              'SELECT COUNT(*) AS n FROM alert_groups WHERE channel = ? AND platform = ? AND first_at >= ?',
              [channel, platform, since],
            )
          )?.n,
        );
      let existing = await selectGroup(q, payload.groupKey, true);
      let isNew = false;
      if (!existing) {
        const where = await place(labels, rank, newGroupsIn);
        // Keyed: of two replicas storing the same new group, one inserts; the other waits for its
        // commit, inserts nothing, and reads the row as an existing group.
        isNew =
          (await q.run(
            `INSERT INTO alert_groups (group_key, id, labels_json, status, severity_rank, channel, platform, storm, first_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
            [
              payload.groupKey,
              groupIdOf(payload.groupKey),
              JSON.stringify(labels),
              status,
              rank,
              ...placed(where),
              now,
              now,
            ],
          )) === 1;
        if (!isNew) existing = await selectGroup(q, payload.groupKey, true);
      }
      const refired = !!existing && existing.status === 'resolved' && status === 'firing';
      if (existing && refired) {
        // Back after it resolved: a new episode, placed again (a storm may be over, or have begun).
        const where = await place(labels, rank, newGroupsIn);
        await q.run(
          `UPDATE alert_groups SET status = ?, severity_rank = ?, channel = ?, platform = ?, storm = ?, first_at = ?,
             updated_at = ?, ack_by = NULL, ack_at = NULL, episode = episode + 1 WHERE group_key = ?`,
          [status, rank, ...placed(where), now, now, payload.groupKey],
        );
        await requeueFinished(q, payload.groupKey, now);
      } else if (existing) {
        await q.run(
          'UPDATE alert_groups SET status = ?, severity_rank = ?, updated_at = ? WHERE group_key = ?',
          [status, Math.min(existing.severity_rank, rank), now, payload.groupKey],
        );
      }
      const before = new Map(
        (
          await q.all<{ fingerprint: string; starts_at: string; status: string }>(
            'SELECT fingerprint, starts_at, status FROM alert_items WHERE group_key = ?',
            [payload.groupKey],
          )
        ).map((r) => [`${r.fingerprint} ${r.starts_at}`, r.status]),
      );
      // The last of a key in one delivery is the one kept (a statement may not change a row twice).
      const latest = new Map(payload.alerts.map((a) => [`${a.fingerprint} ${a.startsAt}`, a]));
      const fired: AlertRecord[] = [];
      const resolved: AlertRecord[] = [];
      for (const [key, a] of latest) {
        const was = before.get(key);
        const record: AlertRecord = {
          fingerprint: a.fingerprint,
          startsAt: a.startsAt,
          status: a.status,
          labels: a.labels,
          annotations: a.annotations,
          endsAt: a.endsAt,
        };
        if (a.status === 'firing' && !was) fired.push(record);
        if (a.status === 'resolved' && was !== 'resolved') resolved.push(record);
      }
      const rows = [...latest.values()];
      for (let i = 0; i < rows.length; i += ALERT_BATCH) {
        const batch = rows.slice(i, i + ALERT_BATCH);
        await q.run(
          `INSERT INTO alert_items (group_key, fingerprint, starts_at, status, labels_json, annotations_json, ends_at, updated_at)
           VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
           ON CONFLICT (group_key, fingerprint, starts_at) DO UPDATE SET
             status = excluded.status, annotations_json = excluded.annotations_json,
             ends_at = excluded.ends_at, updated_at = excluded.updated_at`,
          batch.flatMap((a) => [
            payload.groupKey,
            a.fingerprint,
            a.startsAt,
            a.status,
            JSON.stringify(a.labels),
            JSON.stringify(a.annotations),
            a.endsAt,
            now,
          ]),
        );
      }
      // The group fires while any of its alerts does, whatever this delivery's own status says.
      const left = await tallyOf(q, payload.groupKey);
      await q.run('UPDATE alert_groups SET status = ? WHERE group_key = ?', [
        left.firing > 0 ? 'firing' : 'resolved',
        payload.groupKey,
      ]);
      const group = groupOf((await selectGroup(q, payload.groupKey))!);
      return { group, isNew, refired, fired, resolved };
    });
    // Counters outside the delivery's transaction: replicas storing different groups do not queue on them.
    await this.db.op('count', (q) =>
      bump(q, [
        ['deliveries', 1],
        ['alerts', payload.alerts.length],
        ...(payload.truncatedAlerts ? [['truncated', payload.truncatedAlerts] as [string, number]] : []),
      ]),
    );
    return ingested;
  }

  async group(groupKey: string): Promise<GroupRecord | undefined> {
    const r = await this.db.op('group', (q) => selectGroup(q, groupKey));
    return r ? groupOf(r) : undefined;
  }

  async groupById(id: string): Promise<GroupRecord | undefined> {
    const r = await this.db.op('group', (q) =>
      q.get<GroupRow>('SELECT * FROM alert_groups WHERE id = ?', [id]),
    );
    return r ? groupOf(r) : undefined;
  }

  /** The group and the latest alert with this fingerprint (an alert that fired several times: its last episode). */
  async alertByFingerprint(
    fingerprint: string,
  ): Promise<{ group: GroupRecord; alert: AlertRecord } | undefined> {
    return this.db.op('alert', async (q) => {
      const r = await q.get<AlertRow & { group_key: string }>(
        'SELECT * FROM alert_items WHERE fingerprint = ? ORDER BY updated_at DESC, starts_at DESC LIMIT 1',
        [fingerprint],
      );
      const group = r ? await selectGroup(q, r.group_key) : undefined;
      return r && group ? { group: groupOf(group), alert: alertOf(r) } : undefined;
    });
  }

  async groups(filter: { status?: string; limit?: number } = {}): Promise<GroupRecord[]> {
    const rows = await this.db.op('groups', (q) =>
      q.all<GroupRow>(
        `SELECT * FROM alert_groups ${filter.status ? 'WHERE status = ?' : ''} ORDER BY updated_at DESC LIMIT ?`,
        [...(filter.status ? [filter.status] : []), filter.limit ?? 100],
      ),
    );
    return rows.map(groupOf);
  }

  /** The first `n` alerts of a group (by start): those that get a line of their own in the thread. */
  async firstAlerts(groupKey: string, n: number): Promise<Set<string>> {
    const rows = await this.db.op('alerts', (q) =>
      q.all<{ fingerprint: string; starts_at: string }>(
        'SELECT fingerprint, starts_at FROM alert_items WHERE group_key = ? ORDER BY starts_at, fingerprint LIMIT ?',
        [groupKey, n],
      ),
    );
    return new Set(rows.map((r) => `${r.fingerprint} ${r.starts_at}`));
  }

  /** Groups changed since `since` (ms), newest first. */
  async recentGroups(since: number, limit: number): Promise<GroupRecord[]> {
    const rows = await this.db.op('groups', (q) =>
      q.all<GroupRow>('SELECT * FROM alert_groups WHERE updated_at >= ? ORDER BY updated_at DESC LIMIT ?', [
        since,
        limit,
      ]),
    );
    return rows.map(groupOf);
  }

  async alerts(groupKey: string): Promise<AlertRecord[]> {
    const rows = await this.db.op('alerts', (q) =>
      q.all<AlertRow>('SELECT * FROM alert_items WHERE group_key = ? ORDER BY starts_at, fingerprint', [
        groupKey,
      ]),
    );
    return rows.map(alertOf);
  }

  /** Firing and resolved alerts of a group (the latest state of each). */
  tally(groupKey: string): Promise<{ firing: number; resolved: number }> {
    return this.db.op('tally', (q) => tallyOf(q, groupKey));
  }

  /** New groups placed in a platform's channel since `since` (ms), storm or not: the storm detector's count. */
  async newGroupsIn(platform: string, channel: string, since: number): Promise<number> {
    const r = await this.db.op('storm', (q) =>
      q.get<{ n: unknown }>(
        'SELECT COUNT(*) AS n FROM alert_groups WHERE channel = ? AND platform = ? AND first_at >= ?',
        [channel, platform, since],
      ),
    );
    return num(r?.n);
  }

  /** The storm groups of a platform's channel since `since`, by alertname and namespace, with counts. */
  async stormTally(
    platform: string,
    channel: string,
    since: number,
  ): Promise<
    Array<{ alertname: string; namespace: string; groups: number; firing: number; triaged: number }>
  > {
    const rows = await this.db.op('storm', (q) =>
      q.all<{ alertname: string; namespace: string; groups: unknown; firing: unknown; triaged: unknown }>(
        `SELECT COALESCE(${q.jsonText('g.labels_json', 'alertname')}, '?') AS alertname,
                COALESCE(${q.jsonText('g.labels_json', 'namespace')}, '-') AS namespace,
                COUNT(*) AS groups, ${FIRING} AS firing, ${TRIAGED} AS triaged
           FROM alert_groups g LEFT JOIN alert_triage t ON t.group_key = g.group_key
          WHERE g.channel = ? AND g.platform = ? AND g.storm = 1 AND g.first_at >= ?
          GROUP BY 1, 2 ORDER BY groups DESC, alertname LIMIT 15`,
        [channel, platform, since],
      ),
    );
    return rows.map((r) => ({
      alertname: r.alertname,
      namespace: r.namespace,
      groups: num(r.groups),
      firing: num(r.firing),
      triaged: num(r.triaged),
    }));
  }

  /**
   * The storm episode of a channel: the one summary message that storm groups of the channel are
   * listed in. A new episode begins when the last storm group came more than `quietMs` ago. One
   * statement decides, so of replicas asking at once exactly one begins an episode (`began`).
   */
  async stormEpisode(platform: string, channel: string, now: number, quietMs: number): Promise<StormEpisode> {
    const key = `st_${createHash('sha256')
      .update(`${platform}:${channel}:${now}:${randomBytes(8).toString('hex')}`)
      .digest('hex')
      .slice(0, 16)}`;
    const r = await this.db.op('storm', (q) =>
      q.get<{ key: string; started_at: unknown }>(
        `INSERT INTO alert_storms AS s (platform, channel, key, started_at, last_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (platform, channel) DO UPDATE SET
           key = CASE WHEN s.last_at >= ? THEN s.key ELSE excluded.key END,
           started_at = CASE WHEN s.last_at >= ? THEN s.started_at ELSE excluded.started_at END,
           last_at = CASE WHEN s.last_at > excluded.last_at THEN s.last_at ELSE excluded.last_at END
         RETURNING key, started_at`,
        [platform, channel, key, now, now, now - quietMs, now - quietMs],
      ),
    );
    return { key: r!.key, since: num(r!.started_at), began: r!.key === key };
  }

  /** The current storm episode of a channel, if any (no new one is begun). */
  async currentStorm(platform: string, channel: string): Promise<{ key: string; since: number } | undefined> {
    const r = await this.db.op('storm', (q) =>
      q.get<{ key: string; started_at: unknown }>(
        'SELECT key, started_at FROM alert_storms WHERE platform = ? AND channel = ?',
        [platform, channel],
      ),
    );
    return r ? { key: r.key, since: num(r.started_at) } : undefined;
  }

  /** Firing groups that have no triage yet (a stop between storing and queueing): queued again at start. */
  async untriaged(): Promise<GroupRecord[]> {
    const rows = await this.db.op('groups', (q) =>
      q.all<GroupRow>(
        `SELECT g.* FROM alert_groups g LEFT JOIN alert_triage t ON t.group_key = g.group_key
          WHERE t.group_key IS NULL AND g.status = 'firing'`,
      ),
    );
    return rows.map(groupOf);
  }

  /** All storm groups of a platform's channel since `since`: how many, firing, triaged. */
  async stormTotals(
    platform: string,
    channel: string,
    since: number,
  ): Promise<{ groups: number; firing: number; triaged: number }> {
    const r = await this.db.op('storm', (q) =>
      q.get<{ groups: unknown; firing: unknown; triaged: unknown }>(
        `SELECT COUNT(*) AS groups, ${FIRING} AS firing, ${TRIAGED} AS triaged
           FROM alert_groups g LEFT JOIN alert_triage t ON t.group_key = g.group_key
          WHERE g.channel = ? AND g.platform = ? AND g.storm = 1 AND g.first_at >= ?`,
        [channel, platform, since],
      ),
    );
    return { groups: num(r?.groups), firing: num(r?.firing), triaged: num(r?.triaged) };
  }

  async acknowledge(groupKey: string, by: string): Promise<void> {
    await this.db.op('acknowledge', (q) =>
      q.run('UPDATE alert_groups SET ack_by = ?, ack_at = ? WHERE group_key = ?', [by, Date.now(), groupKey]),
    );
  }

  async totals(): Promise<{ groups: number; alerts: number }> {
    return this.db.op('totals', async (q) => {
      const g = await q.get<{ n: unknown }>('SELECT COUNT(*) AS n FROM alert_groups');
      const a = await q.get<{ n: unknown }>('SELECT COUNT(*) AS n FROM alert_items');
      return { groups: num(g?.n), alerts: num(a?.n) };
    });
  }
}

/** Adds to named counters in one statement. */
async function bump(q: Sql, counts: Array<[string, number]>): Promise<void> {
  if (!counts.length) return;
  await q.run(
    `INSERT INTO alert_stats (name, value) VALUES ${counts.map(() => '(?, ?)').join(', ')}
     ON CONFLICT (name) DO UPDATE SET value = alert_stats.value + excluded.value`,
    counts.flat(),
  );
}

/**
 * The alert store on the app's state: the PostgreSQL database the replicas share when `state`
 * is given, else the SQLite file at `path` (the embedded default).
 */
export function openAlertStore(state: PgState | undefined, path: string): AlertStore {
  if (state) return new AlertStore(new PgSql(state, STORE, ALERTS_MIGRATIONS));
  return new AlertStore(new SqliteSql(openSqlite(path), STORE, ALERTS_MIGRATIONS));
}
