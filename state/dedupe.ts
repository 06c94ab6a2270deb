// "Handle this event once": chat platforms retry deliveries, and with several replicas behind one
// address a retry may reach another replica. The first replica to record an event id handles it.
import type { Migration } from './migrations.js';
import type { PgState } from './postgres.js';

export const DEDUPE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'seen chat events',
    postgres: `CREATE TABLE chat_seen (event_id TEXT PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE INDEX chat_seen_at ON chat_seen (at);`,
  },
];

export interface EventDedupe {
  /** True exactly once per event id, across every replica (ids are remembered for a day). */
  firstSight(eventId: string): boolean | Promise<boolean>;
}

export class PgEventDedupe implements EventDedupe {
  private lastPrune = 0;

  private constructor(private readonly state: PgState) {}

  static async open(state: PgState): Promise<PgEventDedupe> {
    await state.migrate('chat_seen', DEDUPE_MIGRATIONS);
    return new PgEventDedupe(state);
  }

  async firstSight(eventId: string): Promise<boolean> {
    if (Date.now() - this.lastPrune > 60_000) {
      this.lastPrune = Date.now();
      await this.state.query(
        'chat_seen',
        'prune',
        "DELETE FROM chat_seen WHERE at < now() - interval '1 day'",
      );
    }
    const res = await this.state.query(
      'chat_seen',
      'first_sight',
      'INSERT INTO chat_seen (event_id) VALUES ($1) ON CONFLICT DO NOTHING',
      [eventId],
    );
    return res.rowCount === 1;
  }
}
