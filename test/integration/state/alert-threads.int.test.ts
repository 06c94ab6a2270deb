// Two replicas of the alert service, each with its own store handle (PostgreSQL: its own pool) and its
// own chat outbox, receive the same Alertmanager deliveries at the same moment: each group gets one
// thread root, each storm one summary, however the deliveries race.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { alertsConfigSchema } from '../../../alerts/config.js';
import { type AlertChat, AlertService } from '../../../alerts/service.js';
import { openAlertStore } from '../../../alerts/store.js';
import type { ToolPipeline } from '../../../tools/core/invoke.js';
import { silentLogger } from '../../../tools/core/logger.js';
import { alertPayload } from '../../support/alert-payload.js';
import { stopStatePostgres } from '../../support/pg-state.js';
import { BACKENDS, type BackendKind, closeAll, freshPlace, type Place, pgState, track } from './backends.js';

const delivery = (groupKey: string, alertname: string, fingerprints: string[]) =>
  alertPayload(
    groupKey,
    fingerprints.map((fingerprint) => ({ fingerprint })),
    { alertname, namespace: 'race' },
  );

/** A replica's chat outbox as alert triage sees it: every post it was asked to make. */
function recordingChat() {
  const posts: Array<{ key: string; channel: string; threadOf?: string }> = [];
  const chat: AlertChat = {
    postOnce: (key, channel, _message, threadOf) => {
      if (posts.some((p) => p.key === key)) return false;
      posts.push({ key, channel, ...(threadOf ? { threadOf } : {}) });
      return true;
    },
    edit: () => undefined,
    threads: true,
  };
  return { chat, posts };
}

async function replica(place: Place, sharedRequeueAfterMs?: number) {
  const store = track(
    openAlertStore(place.kind === 'postgres' ? pgState(place.where) : undefined, place.where),
  );
  await store.migrated();
  const { chat, posts } = recordingChat();
  const config = alertsConfigSchema.parse({
    enabled: true,
    token: 'race-token-0123456789',
    routes: [
      { matchers: ['alertname="Storm"'], channel: 'CSTORM', triage: false },
      { channel: 'CTHREADS', triage: false },
    ],
    storm: { newGroupsPerMinute: 3 },
  });
  const service = new AlertService({
    config,
    store,
    pipeline: {} as ToolPipeline, // triage is off on these routes: nothing is read
    chats: { slack: chat },
    logger: silentLogger,
    editDelayMs: 5,
    ...(sharedRequeueAfterMs !== undefined ? { sharedRequeueAfterMs } : {}),
  });
  return { service, posts, store };
}

afterEach(closeAll);
afterAll(stopStatePostgres);

describe.each(BACKENDS)('alert threads with two replicas on %s', (kind: BackendKind) => {
  it('the same group delivered to both at once gets one thread root; a storm one summary', async () => {
    const place = await freshPlace(kind, 'alerts.db');
    const [a, b] = [await replica(place), await replica(place)];
    const groups = Array.from({ length: 3 }, (_, i) => `{}:{alertname="Race${i}"}`);
    for (const key of groups) {
      const payload = delivery(key, 'Race', ['aa', 'bb']);
      await Promise.all([a.service.receive(payload), b.service.receive(payload), a.service.receive(payload)]);
    }
    // The first three groups of the storm channel have threads; the next three are lines in one summary.
    for (let i = 0; i < 6; i++) {
      const payload = delivery(`{}:{alertname="Storm${i}"}`, 'Storm', ['cc']);
      await Promise.all([a.service.receive(payload), b.service.receive(payload)]);
    }
    await Promise.all([a.service.settled(), b.service.settled()]);
    const all = [...a.posts, ...b.posts];
    const roots = all.filter((p) => !p.threadOf && p.channel === 'CTHREADS');
    expect(roots).toHaveLength(groups.length);
    expect(new Set(roots.map((p) => p.key)).size).toBe(groups.length);
    // Each alert's line once, in its group's thread.
    const lines = all.filter((p) => p.threadOf && p.channel === 'CTHREADS');
    expect(lines).toHaveLength(groups.length * 2);
    expect(new Set(lines.map((p) => p.key)).size).toBe(groups.length * 2);
    const storm = all.filter((p) => p.channel === 'CSTORM' && !p.threadOf);
    expect(storm.filter((p) => p.key.startsWith('st_'))).toHaveLength(1);
    expect(storm.filter((p) => p.key.startsWith('al_'))).toHaveLength(3);
  });

  it('a replica starting on a shared triage queue leaves the triage another replica is running alone', async () => {
    const place = await freshPlace(kind, 'alerts.db');
    const a = await replica(place);
    // Replica A took a group's triage and is running it.
    expect(await a.store.queue.enqueue('{}:{alertname="Busy"}', 1, 100)).toBe(true);
    expect((await a.store.queue.next())?.groupKey).toBe('{}:{alertname="Busy"}');
    // Replica B starts (sharing the queue): the running triage is not queued again for it to repeat.
    const b = await replica(place, 60_000);
    await b.service.start();
    await b.service.stop();
    expect(await b.store.queue.counts()).toEqual({ running: 1 });
    expect((await b.store.queue.get('{}:{alertname="Busy"}'))?.state).toBe('running');
  });
});
