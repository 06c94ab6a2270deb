// One Kubemate replica's state work, as its own process, over the real PostgreSQL stores: used by
// the multi-process tests and `npm run bench -- ha`. Prints one JSON line when done (and, in lease
// mode, one line per piece of work it does).
//   approve <url> <replica> <startAtMs> <ticketId,…>   approve, claim and run each ticket if it can
//   audit <url> <replica> <startAtMs> <count> <concurrency>
//   lease <url> <replica> <ttlMs> <renewMs> <slotMs>   do one piece of work per slot while holding it
import { ApprovalError } from '../../policies/approvals.js';
import { PgApprovalStore } from '../../policies/approvals-pg.js';
import { PgAuditLog } from '../../policies/audit-log-pg.js';
import { Leader, PgLeases } from '../../state/lease.js';
import { PgState } from '../../state/postgres.js';

const [mode, url, replica, ...rest] = process.argv.slice(2);
if (!mode || !url || !replica) throw new Error('usage: state-replica <mode> <url> <replica> …');
const me: string = replica;
const state = new PgState(url, { maxConnections: 24, applicationName: `kubemate-${me}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitUntil = async (at: number) => {
  while (Date.now() < at) await sleep(Math.min(5, at - Date.now()));
};

async function approve(startAt: number, ids: string[]) {
  const store = await PgApprovalStore.open(state, 3600_000);
  await state.pool.query('CREATE TABLE IF NOT EXISTS side_effects (ticket TEXT, replica TEXT)');
  await waitUntil(startAt);
  const t0 = performance.now();
  let approved = 0;
  let ran = 0;
  for (const id of ids) {
    try {
      await store.approve(id, { person: `approver-${me}`, principalId: `slack:${me}` });
      approved++;
    } catch (e) {
      if (!(e instanceof ApprovalError)) throw e;
    }
    const ticket = await store.get(id);
    if (ticket.status === 'approved' && (await store.claim(id, ticket.argsHash))) {
      await state.pool.query('INSERT INTO side_effects (ticket, replica) VALUES ($1, $2)', [id, me]);
      await store.complete(id, { status: 'success', text: `ran on ${me}` });
      ran++;
    }
  }
  return { approved, ran, seconds: (performance.now() - t0) / 1000 };
}

async function audit(startAt: number, count: number, concurrency: number) {
  const log = await PgAuditLog.open(state);
  await waitUntil(startAt);
  const t0 = performance.now();
  let next = 0;
  const seqs: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        seqs.push(
          await log.record({
            at: new Date().toISOString(),
            kind: 'result',
            principal: { id: `token:${me}`, groups: ['sre'], source: 'mcp-http' },
            tool: 'pods_list',
            args: { namespace: `payments-${i % 12}`, i },
            outcome: 'success',
          }),
        );
      }
    }),
  );
  return { appended: seqs.length, seconds: (performance.now() - t0) / 1000 };
}

async function lease(ttlMs: number, renewMs: number, slotMs: number) {
  const leader = new Leader(await PgLeases.open(state), {
    name: 'scheduled-work',
    holder: me,
    ttlMs,
    renewMs,
  });
  await state.pool.query('CREATE TABLE IF NOT EXISTS work_log (slot BIGINT, replica TEXT, token BIGINT)');
  leader.start();
  let last = 0;
  for (;;) {
    const slot = Math.floor(Date.now() / slotMs);
    // Start a piece of work only with time left on the grant to finish it.
    if (slot > last && leader.holds(slotMs)) {
      last = slot;
      await state.pool.query('INSERT INTO work_log (slot, replica, token) VALUES ($1, $2, $3)', [
        slot,
        me,
        leader.token,
      ]);
      process.stdout.write(`${JSON.stringify({ work: slot, at: Date.now() })}\n`);
    }
    await sleep(Math.max(5, slotMs / 4));
  }
}

const args = rest;
let result: unknown;
if (mode === 'approve') result = await approve(Number(args[0]), (args[1] ?? '').split(','));
else if (mode === 'audit') result = await audit(Number(args[0]), Number(args[1]), Number(args[2]));
else if (mode === 'lease') result = await lease(Number(args[0]), Number(args[1]), Number(args[2]));
else throw new Error(`unknown mode ${mode}`);
process.stdout.write(`${JSON.stringify(result)}\n`);
await state.close();
