// The agent store's contract on a SQLite file and a real PostgreSQL 15: a thread and its runs written
// by one replica are read by another, turns recorded at once on two replicas are numbered in turn,
// and a paused run is resumed by one replica only. A file from before versioned schemas keeps its rows.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunState } from '../../../agent/state.js';
import { AgentStore } from '../../../agent/store.js';
import { openSqlite } from '../../../state/sqlite.js';
import { stopStatePostgres } from '../../support/pg-state.js';
import { BACKENDS, type BackendKind, closeAll, freshPlace, type Place, pgState, track } from './backends.js';

const open = (place: Place) =>
  track(
    place.kind === 'sqlite' ? new AgentStore(place.where) : new AgentStore('unused', pgState(place.where)),
  );

const state = (runId: string, threadId: string) =>
  ({ runId, threadId, principal: { id: 'slack:UALICE', groups: [], source: 'chat' } }) as unknown as RunState;

afterEach(closeAll);
afterAll(stopStatePostgres);

describe.each(BACKENDS)('agent store on %s', (kind: BackendKind) => {
  it('a thread and its runs continue on another replica; a paused run resumes once', async () => {
    const place = await freshPlace(kind, 'agent.db');
    const [a, b] = [open(place), open(place)];
    const th = await a.createThread('slack:UALICE');
    expect(await b.thread(th, 'slack:UALICE')).toEqual({ id: th, context: {} });
    await expect(b.thread(th, 'slack:UBOB')).rejects.toMatchObject({ code: 'not_found' });
    await b.setContext(th, { namespace: 'payments', name: 'api' });
    expect((await a.thread(th, 'slack:UALICE')).context).toEqual({ namespace: 'payments', name: 'api' });

    await a.saveRun({ id: 'run_1', status: 'paused', state: state('run_1', th), ticketId: 'apr_1' });
    expect(await b.runForTicket('apr_1')).toBe('run_1');
    expect(await b.getRun('run_1')).toMatchObject({
      id: 'run_1',
      threadId: th,
      status: 'paused',
      ticketId: 'apr_1',
    });
    await expect(b.getRun('run_9')).rejects.toMatchObject({ code: 'not_found' });
    const claims = await Promise.all([
      a.claimPaused('run_1'),
      b.claimPaused('run_1'),
      a.claimPaused('run_1'),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await b.runForTicket('apr_1')).toBeUndefined();
  });

  it('numbers turns recorded at once on two replicas in turn, and a resumed run updates its own', async () => {
    const place = await freshPlace(kind, 'agent.db');
    const [a, b] = [open(place), open(place)];
    const th = await a.createThread('slack:UALICE');
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).recordTurn(th, `run_${i}`, `q${i}`, `a${i}`)),
    );
    const turns = await b.turns(th, 20);
    expect(turns.map((t) => t.runId).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `run_${i}`).sort());
    await a.recordTurn(th, 'run_3', 'q3', 'a3 after the resume');
    const last = await b.turns(th, 20);
    expect(last).toHaveLength(10);
    expect(last.find((t) => t.runId === 'run_3')?.answer).toBe('a3 after the resume');
    expect((await b.turns(th, 2)).map((t) => t.runId)).toEqual(turns.slice(-2).map((t) => t.runId));
  });
});

describe('agent store on a SQLite file from before versioned schemas', () => {
  it('keeps its threads, turns and runs', async () => {
    const place = await freshPlace('sqlite', 'agent.db');
    const db = openSqlite(place.where);
    db.exec(`
      CREATE TABLE threads (id TEXT PRIMARY KEY, principal_id TEXT NOT NULL, context_json TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE turns (thread_id TEXT NOT NULL REFERENCES threads(id), seq INTEGER NOT NULL, run_id TEXT NOT NULL,
        question TEXT NOT NULL, answer TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (thread_id, seq));
      CREATE TABLE runs (id TEXT PRIMARY KEY, thread_id TEXT NOT NULL REFERENCES threads(id), principal_id TEXT NOT NULL,
        status TEXT NOT NULL, ticket_id TEXT, state_json TEXT NOT NULL, answer_json TEXT, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL);
      CREATE INDEX runs_ticket ON runs(ticket_id);
      INSERT INTO threads VALUES ('th_old', 'slack:UALICE', '{"namespace":"payments"}', 'x', 'x');
      INSERT INTO turns VALUES ('th_old', 1, 'run_old', 'how is api?', 'fine', 'x');
      INSERT INTO runs VALUES ('run_old', 'th_old', 'slack:UALICE', 'paused', 'apr_old', '{}', NULL, 'x', 'x');`);
    db.close();
    const store = open(place);
    expect((await store.thread('th_old', 'slack:UALICE')).context).toEqual({ namespace: 'payments' });
    expect((await store.turns('th_old', 5)).map((t) => t.answer)).toEqual(['fine']);
    expect(await store.runForTicket('apr_old')).toBe('run_old');
    await store.recordTurn('th_old', 'run_new', 'and now?', 'still fine');
    expect((await store.turns('th_old', 5)).map((t) => t.runId)).toEqual(['run_old', 'run_new']);
  });
});
