import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { openSqlite } from '../state/sqlite.js';
import { ModelBudget, TRIAGE_SCHEMA, TriageQueue } from './triage-queue.js';
import { type AlertmanagerWebhook, severityRank } from './webhook.js';

export type { TriageRecord } from './triage-queue.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS groups (
  group_key TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  labels_json TEXT NOT NULL,
  status TEXT NOT NULL,
  severity_rank INTEGER NOT NULL,
  channel TEXT,
  platform TEXT,
  storm INTEGER NOT NULL DEFAULT 0,
  first_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ack_by TEXT,
  ack_at INTEGER,
  episode INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS groups_channel ON groups(channel, first_at);
CREATE TABLE IF NOT EXISTS alerts (
  group_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  status TEXT NOT NULL,
  labels_json TEXT NOT NULL,
  annotations_json TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (group_key, fingerprint, starts_at));
CREATE TABLE IF NOT EXISTS stats (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS storms (
  platform TEXT NOT NULL, channel TEXT NOT NULL, key TEXT NOT NULL, started_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL, PRIMARY KEY (platform, channel));`;

/**
 * Stores written before routes could name a platform keyed storms by channel alone (every channel
 * was Slack's): the table is rebuilt keyed by platform and channel, its rows kept as Slack's.
 */
function migrateStorms(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(storms)').all() as Array<{ name: string }>;
  if (columns.length === 0 || columns.some((c) => c.name === 'platform')) return;
  db.transaction(() => {
    db.exec('ALTER TABLE storms RENAME TO storms_by_channel');
    db.exec(`CREATE TABLE storms (
      platform TEXT NOT NULL, channel TEXT NOT NULL, key TEXT NOT NULL, started_at INTEGER NOT NULL,
      last_at INTEGER NOT NULL, PRIMARY KEY (platform, channel))`);
    db.exec(`INSERT INTO storms (platform, channel, key, started_at, last_at)
      SELECT 'slack', channel, key, started_at, last_at FROM storms_by_channel`);
    db.exec('DROP TABLE storms_by_channel');
  })();
}

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
  isNew: boolean;
  /** The group had resolved and fires again: a new episode, presented and triaged anew. */
  refired: boolean;
  fired: AlertRecord[];
  resolved: AlertRecord[];
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
  first_at: number;
  updated_at: number;
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
  firstAt: r.first_at,
  updatedAt: r.updated_at,
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

/**
 * Alert groups, their alerts and their triage, in SQLite (`<dataDir>/alerts.db`). A delivery is
 * stored in one transaction before it is acknowledged, so nothing Alertmanager handed over is lost,
 * and each alert is keyed by group, fingerprint and start, so a repeated delivery changes nothing.
 */
export class AlertStore {
  private readonly db: Database.Database;
  /** The triage queue and results, in the same database (a refired group is queued again with its delivery). */
  readonly queue: TriageQueue;
  /** The model runs of the last minute, kept across restarts. */
  readonly budget: ModelBudget;

  constructor(path: string) {
    this.db = openSqlite(path);
    migrateStorms(this.db);
    this.db.exec(SCHEMA);
    this.db.exec(TRIAGE_SCHEMA);
    this.queue = new TriageQueue(this.db, (name) => this.count(name));
    this.budget = new ModelBudget(this.db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  count(name: string, by = 1): void {
    this.db
      .prepare(
        'INSERT INTO stats (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?',
      )
      .run(name, by, by);
  }

  stats(): Record<string, number> {
    const rows = this.db.prepare('SELECT name, value FROM stats').all() as Array<{
      name: string;
      value: number;
    }>;
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  /**
   * Stores a delivery; `place` decides, for a group seen for the first time, its channel and whether
   * it arrives in a storm (then it gets a line in the storm summary rather than a thread).
   */
  ingest(
    payload: AlertmanagerWebhook,
    place: (
      labels: Record<string, string>,
      rank: number,
    ) => { channel?: string; platform?: string; storm: boolean },
  ): Ingested {
    return this.db.transaction((): Ingested => {
      const now = Date.now();
      const labels = { ...payload.groupLabels, ...payload.commonLabels };
      const rank = Math.min(...payload.alerts.map((a) => severityRank(a.labels.severity)));
      const existing = this.db.prepare('SELECT * FROM groups WHERE group_key = ?').get(payload.groupKey) as
        | GroupRow
        | undefined;
      const status = payload.alerts.some((a) => a.status === 'firing') ? 'firing' : payload.status;
      if (!existing) {
        const where = place(labels, rank);
        this.db
          .prepare(
            `INSERT INTO groups (group_key, id, labels_json, status, severity_rank, channel, platform, storm, first_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            payload.groupKey,
            groupIdOf(payload.groupKey),
            JSON.stringify(labels),
            status,
            rank,
            where.channel ?? null,
            where.channel ? (where.platform ?? 'slack') : null,
            where.storm ? 1 : 0,
            now,
            now,
          );
      } else if (existing.status === 'resolved' && status === 'firing') {
        // Back after it resolved: a new episode, placed again (a storm may be over, or have begun).
        const where = place(labels, rank);
        this.db
          .prepare(
            `UPDATE groups SET status = ?, severity_rank = ?, channel = ?, platform = ?, storm = ?, first_at = ?,
               updated_at = ?, ack_by = NULL, ack_at = NULL, episode = episode + 1 WHERE group_key = ?`,
          )
          .run(
            status,
            rank,
            where.channel ?? null,
            where.channel ? (where.platform ?? 'slack') : null,
            where.storm ? 1 : 0,
            now,
            now,
            payload.groupKey,
          );
        this.queue.requeueFinished(payload.groupKey, now);
      } else {
        this.db
          .prepare(
            'UPDATE groups SET status = ?, severity_rank = MIN(severity_rank, ?), updated_at = ? WHERE group_key = ?',
          )
          .run(status, rank, now, payload.groupKey);
      }
      const refired = !!existing && existing.status === 'resolved' && status === 'firing';
      const get = this.db.prepare(
        'SELECT status FROM alerts WHERE group_key = ? AND fingerprint = ? AND starts_at = ?',
      );
      const put = this.db.prepare(
        `INSERT INTO alerts (group_key, fingerprint, starts_at, status, labels_json, annotations_json, ends_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(group_key, fingerprint, starts_at) DO UPDATE SET
           status = excluded.status, annotations_json = excluded.annotations_json,
           ends_at = excluded.ends_at, updated_at = excluded.updated_at`,
      );
      const fired: AlertRecord[] = [];
      const resolved: AlertRecord[] = [];
      for (const a of payload.alerts) {
        const before = get.get(payload.groupKey, a.fingerprint, a.startsAt) as { status: string } | undefined;
        put.run(
          payload.groupKey,
          a.fingerprint,
          a.startsAt,
          a.status,
          JSON.stringify(a.labels),
          JSON.stringify(a.annotations),
          a.endsAt,
          now,
        );
        const record: AlertRecord = {
          fingerprint: a.fingerprint,
          startsAt: a.startsAt,
          status: a.status,
          labels: a.labels,
          annotations: a.annotations,
          endsAt: a.endsAt,
        };
        if (a.status === 'firing' && !before) fired.push(record);
        if (a.status === 'resolved' && before?.status !== 'resolved') resolved.push(record);
      }
      // The group fires while any of its alerts does, whatever this delivery's own status says.
      const left = this.tally(payload.groupKey);
      this.db
        .prepare('UPDATE groups SET status = ? WHERE group_key = ?')
        .run(left.firing > 0 ? 'firing' : 'resolved', payload.groupKey);
      this.count('deliveries');
      this.count('alerts', payload.alerts.length);
      if (payload.truncatedAlerts) this.count('truncated', payload.truncatedAlerts);
      const group = groupOf(
        this.db.prepare('SELECT * FROM groups WHERE group_key = ?').get(payload.groupKey) as GroupRow,
      );
      return { group, isNew: !existing, refired, fired, resolved };
    })();
  }

  group(groupKey: string): GroupRecord | undefined {
    const r = this.db.prepare('SELECT * FROM groups WHERE group_key = ?').get(groupKey) as
      | GroupRow
      | undefined;
    return r ? groupOf(r) : undefined;
  }

  groupById(id: string): GroupRecord | undefined {
    const r = this.db.prepare('SELECT * FROM groups WHERE id = ?').get(id) as GroupRow | undefined;
    return r ? groupOf(r) : undefined;
  }

  /** The group and the latest alert with this fingerprint (an alert that fired several times: its last episode). */
  alertByFingerprint(fingerprint: string): { group: GroupRecord; alert: AlertRecord } | undefined {
    const r = this.db
      .prepare('SELECT * FROM alerts WHERE fingerprint = ? ORDER BY updated_at DESC, starts_at DESC LIMIT 1')
      .get(fingerprint) as (AlertRow & { group_key: string }) | undefined;
    const group = r ? this.group(r.group_key) : undefined;
    return r && group ? { group, alert: alertOf(r) } : undefined;
  }

  groups(filter: { status?: string; limit?: number } = {}): GroupRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM groups ${filter.status ? 'WHERE status = ?' : ''} ORDER BY updated_at DESC LIMIT ?`,
      )
      .all(...(filter.status ? [filter.status] : []), filter.limit ?? 100) as GroupRow[];
    return rows.map(groupOf);
  }

  /** The first `n` alerts of a group (by start): those that get a line of their own in the thread. */
  firstAlerts(groupKey: string, n: number): Set<string> {
    const rows = this.db
      .prepare(
        'SELECT fingerprint, starts_at FROM alerts WHERE group_key = ? ORDER BY starts_at, fingerprint LIMIT ?',
      )
      .all(groupKey, n) as Array<{ fingerprint: string; starts_at: string }>;
    return new Set(rows.map((r) => `${r.fingerprint} ${r.starts_at}`));
  }

  /** Groups changed since `since` (ms), newest first. */
  recentGroups(since: number, limit: number): GroupRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM groups WHERE updated_at >= ? ORDER BY updated_at DESC LIMIT ?')
        .all(since, limit) as GroupRow[]
    ).map(groupOf);
  }

  alerts(groupKey: string): AlertRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM alerts WHERE group_key = ? ORDER BY starts_at, fingerprint')
        .all(groupKey) as AlertRow[]
    ).map(alertOf);
  }

  /** Firing and resolved alerts of a group (the latest state of each). */
  tally(groupKey: string): { firing: number; resolved: number } {
    const r = this.db
      .prepare(
        `SELECT SUM(status = 'firing') AS firing, SUM(status = 'resolved') AS resolved FROM alerts WHERE group_key = ?`,
      )
      .get(groupKey) as { firing: number | null; resolved: number | null };
    return { firing: r.firing ?? 0, resolved: r.resolved ?? 0 };
  }

  /** New groups placed in a platform's channel since `since` (ms), storm or not: the storm detector's count. */
  newGroupsIn(platform: string, channel: string, since: number): number {
    return (
      this.db
        .prepare('SELECT COUNT(*) AS n FROM groups WHERE channel = ? AND platform = ? AND first_at >= ?')
        .get(channel, platform, since) as {
        n: number;
      }
    ).n;
  }

  /** The storm groups of a platform's channel since `since`, by alertname and namespace, with counts. */
  stormTally(
    platform: string,
    channel: string,
    since: number,
  ): Array<{ alertname: string; namespace: string; groups: number; firing: number; triaged: number }> {
    return this.db
      .prepare(
        `SELECT COALESCE(json_extract(g.labels_json, '$.alertname'), '?') AS alertname,
                COALESCE(json_extract(g.labels_json, '$.namespace'), '-') AS namespace,
                COUNT(*) AS groups,
                SUM(g.status = 'firing') AS firing,
                SUM(t.state IN ('done', 'failed')) AS triaged
           FROM groups g LEFT JOIN triage t ON t.group_key = g.group_key
          WHERE g.channel = ? AND g.platform = ? AND g.storm = 1 AND g.first_at >= ?
          GROUP BY 1, 2 ORDER BY groups DESC, alertname LIMIT 15`,
      )
      .all(channel, platform, since) as Array<{
      alertname: string;
      namespace: string;
      groups: number;
      firing: number;
      triaged: number;
    }>;
  }

  /**
   * The storm episode of a channel: the one summary message that storm groups of the channel are
   * listed in. A new episode begins when the last storm group came more than `quietMs` ago.
   */
  stormEpisode(
    platform: string,
    channel: string,
    now: number,
    quietMs: number,
  ): { key: string; since: number } {
    return this.db.transaction(() => {
      const r = this.db
        .prepare('SELECT key, started_at, last_at FROM storms WHERE platform = ? AND channel = ?')
        .get(platform, channel) as { key: string; started_at: number; last_at: number } | undefined;
      if (r && r.last_at >= now - quietMs) {
        this.db
          .prepare('UPDATE storms SET last_at = ? WHERE platform = ? AND channel = ?')
          .run(now, platform, channel);
        return { key: r.key, since: r.started_at };
      }
      const key = `st_${createHash('sha256').update(`${platform}:${channel}:${now}`).digest('hex').slice(0, 16)}`;
      this.db
        .prepare(
          'INSERT OR REPLACE INTO storms (platform, channel, key, started_at, last_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(platform, channel, key, now, now);
      return { key, since: now };
    })();
  }

  /** The current storm episode of a channel, if any (no new one is begun). */
  currentStorm(platform: string, channel: string): { key: string; since: number } | undefined {
    const r = this.db
      .prepare('SELECT key, started_at FROM storms WHERE platform = ? AND channel = ?')
      .get(platform, channel) as { key: string; started_at: number } | undefined;
    return r ? { key: r.key, since: r.started_at } : undefined;
  }

  /** Firing groups that have no triage yet (a stop between storing and queueing): queued again at start. */
  untriaged(): GroupRecord[] {
    return (
      this.db
        .prepare(
          `SELECT g.* FROM groups g LEFT JOIN triage t ON t.group_key = g.group_key
            WHERE t.group_key IS NULL AND g.status = 'firing'`,
        )
        .all() as GroupRow[]
    ).map(groupOf);
  }

  /** All storm groups of a platform's channel since `since`: how many, firing, triaged. */
  stormTotals(
    platform: string,
    channel: string,
    since: number,
  ): { groups: number; firing: number; triaged: number } {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS groups, SUM(g.status = 'firing') AS firing, SUM(t.state IN ('done', 'failed')) AS triaged
           FROM groups g LEFT JOIN triage t ON t.group_key = g.group_key
          WHERE g.channel = ? AND g.platform = ? AND g.storm = 1 AND g.first_at >= ?`,
      )
      .get(channel, platform, since) as { groups: number; firing: number | null; triaged: number | null };
    return { groups: r.groups, firing: r.firing ?? 0, triaged: r.triaged ?? 0 };
  }

  acknowledge(groupKey: string, by: string): void {
    this.db
      .prepare('UPDATE groups SET ack_by = ?, ack_at = ? WHERE group_key = ?')
      .run(by, Date.now(), groupKey);
  }

  totals(): { groups: number; alerts: number } {
    const g = this.db.prepare('SELECT COUNT(*) AS n FROM groups').get() as { n: number };
    const a = this.db.prepare('SELECT COUNT(*) AS n FROM alerts').get() as { n: number };
    return { groups: g.n, alerts: a.n };
  }
}
