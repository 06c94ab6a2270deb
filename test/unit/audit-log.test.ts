import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Command } from 'commander';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerAuditCommands } from '../../app/commands/audit.js';
import { canonicalJson, chainHash } from '../../policies/audit-chain.js';
import { AuditLog } from '../../policies/audit-log.js';
import type { AuditRecord, Principal } from '../../policies/types.js';

const alice: Principal = { id: 'local:alice', groups: ['sre'], source: 'cli' };
const bot: Principal = { id: 'token:ci-bot', groups: ['ci'], source: 'mcp-http' };
const slack: Principal = { id: 'slack:U123', groups: ['oncall'], source: 'chat' };

function entry(i: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    at: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
    kind: 'result',
    principal: alice,
    tool: 'deployment_scale',
    args: { namespace: 'payments', name: `api-${i}`, replicas: i },
    decision: { effect: 'allow', rule: 'rbac:sre' },
    outcome: 'success',
    durationMs: 12.5,
    ...over,
  };
}

let dir: string;
let path: string;
const open: AuditLog[] = [];
function openLog(): AuditLog {
  const log = new AuditLog(path);
  open.push(log);
  return log;
}
function logWith(n: number): AuditLog {
  const log = openLog();
  for (let i = 1; i <= n; i++) log.record(entry(i));
  return log;
}

/** What someone with write access to the file does: drop the guards, then change rows directly. */
function tamper(sql: string | ((db: Database.Database) => void)): void {
  const db = new Database(path);
  db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;');
  if (typeof sql === 'string') db.exec(sql);
  else sql(db);
  db.close();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubemate-audit-test-'));
  path = join(dir, 'nested', 'audit.db');
});
afterEach(() => {
  for (const log of open.splice(0)) log.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('AuditLog', () => {
  it('appends with increasing seqs, reads back exactly and links each hash to the previous one', () => {
    const log = openLog();
    expect(log.record(entry(1))).toBe(1);
    expect(log.record(entry(2, { kind: 'decision', outcome: undefined }))).toBe(2);
    expect(log.record(entry(3, { principal: bot }))).toBe(3);
    const [a, b, c] = log.tail(3);
    expect(a).toMatchObject({ ...entry(1), seq: 1, prevHash: '0'.repeat(64) });
    expect(b).toEqual({
      ...entry(2, { kind: 'decision', outcome: undefined }),
      seq: 2,
      hash: b!.hash,
      prevHash: a!.hash,
    });
    expect(b).not.toHaveProperty('outcome');
    expect(c).toMatchObject({ principal: bot, seq: 3, prevHash: b!.hash });
    const { seq, hash, prevHash, ...record } = c!;
    expect(hash).toBe(chainHash(prevHash, canonicalJson(record), seq));
    expect(log.tail(1).map((e) => e.seq)).toEqual([3]);
  });

  it('keeps records across reopening and continues the chain', () => {
    logWith(3).close();
    const log = openLog();
    expect(log.record(entry(4))).toBe(4);
    expect(log.verify()).toEqual({ ok: true, count: 4, problems: [] });
    expect(log.head()).toEqual({ seq: 4, hash: log.tail(1)[0]!.hash });
  });

  it('chains correctly when two connections append to the same file in turn', () => {
    const first = logWith(2);
    const second = openLog();
    expect(second.record(entry(3))).toBe(3);
    expect(first.record(entry(4))).toBe(4);
    expect(second.record(entry(5))).toBe(5);
    expect(first.verify()).toMatchObject({ ok: true, count: 5 });
  });

  it('refuses updates and deletes through SQLite while its triggers are in place', () => {
    logWith(2);
    const db = new Database(path);
    expect(() => db.prepare("UPDATE audit SET tool = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit WHERE seq = 2').run()).toThrow(/append-only/);
    db.close();
    expect(openLog().verify().ok).toBe(true);
  });

  it('hashes the same record identically whatever order its keys were built in', () => {
    const json = fc.jsonValue();
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(JSON.parse(canonicalJson(obj))).toEqual(JSON.parse(JSON.stringify(obj)));
      }),
    );
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"z":1}]},"b":1}',
    );
  });
});

describe('AuditLog.verify', () => {
  it('names a record whose content was edited', () => {
    const log = logWith(6);
    tamper(`UPDATE audit SET record = replace(record, '"replicas":4', '"replicas":40') WHERE seq = 4`);
    expect(log.search({ text: '"replicas":40' }).map((e) => e.seq)).toEqual([4]);
    const report = log.verify();
    expect(report.ok).toBe(false);
    expect(report.count).toBe(6);
    expect(report.problems).toEqual([
      { seq: 4, problem: 'record 4 does not match its hash: it was edited after it was written' },
    ]);
  });

  it('names the break when the editor also recomputed that record’s hash', () => {
    const log = logWith(6);
    tamper((db) => {
      const row = db.prepare('SELECT record, prev_hash FROM audit WHERE seq = 3').get() as {
        record: string;
        prev_hash: string;
      };
      const forged = row.record.replace('local:alice', 'local:mallory');
      db.prepare('UPDATE audit SET record = ?, principal = ?, hash = ? WHERE seq = 3').run(
        forged,
        'local:mallory',
        chainHash(row.prev_hash, forged, 3),
      );
    });
    const { problems } = log.verify();
    expect(problems).toHaveLength(1);
    expect(problems[0]!.seq).toBe(4);
    expect(problems[0]!.problem).toMatch(/^chain broken between seq 3 and seq 4: .*record 3 was rewritten/);
  });

  it('names a row whose indexed column was edited without touching the record', () => {
    const log = logWith(4);
    tamper(`UPDATE audit SET principal = 'local:someone-else' WHERE seq = 2`);
    expect(log.verify().problems).toEqual([
      {
        seq: 2,
        problem:
          'record 2: column principal reads "local:someone-else" but the record says "local:alice": the row was edited outside the audit log',
      },
    ]);
  });

  it('names deleted records, in the middle and at the start', () => {
    const log = logWith(8);
    tamper('DELETE FROM audit WHERE seq IN (1, 5, 6)');
    const report = log.verify();
    expect(report.count).toBe(5);
    expect(report.problems).toEqual([
      { seq: 1, problem: 'record 1 is missing (deleted): the log starts at seq 2' },
      { seq: 5, problem: 'records 5 to 6 are missing (deleted): seq 4 is followed by seq 7' },
    ]);
  });

  it('names both records of a swapped pair', () => {
    const log = logWith(6);
    tamper(
      'UPDATE audit SET seq = -3 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = -3;',
    );
    expect(log.tail(6).map((e) => e.args.name)).toEqual([
      'api-1',
      'api-2',
      'api-4',
      'api-3',
      'api-5',
      'api-6',
    ]);
    expect(log.verify().problems).toEqual([
      { seq: 3, problem: 'seq 3 holds the record written as seq 4: records were reordered' },
      { seq: 4, problem: 'seq 4 holds the record written as seq 3: records were reordered' },
    ]);
  });

  it('names records renumbered to hide a deletion', () => {
    const log = logWith(6);
    tamper('DELETE FROM audit WHERE seq = 4; UPDATE audit SET seq = seq - 1 WHERE seq > 4;');
    expect(log.verify()).toEqual({
      ok: false,
      count: 5,
      problems: [
        {
          seq: 4,
          problem:
            'seq 4 holds the record written as seq 5, and the record written before it is gone: records were deleted and the rest renumbered',
        },
        { seq: 5, problem: 'seq 5 holds the record written as seq 6: records were reordered' },
      ],
    });
  });

  it('finds any single deleted or edited record among many', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 39 }), fc.boolean(), (seq, remove) => {
        rmSync(path, { force: true });
        rmSync(`${path}-wal`, { force: true });
        rmSync(`${path}-shm`, { force: true });
        const log = new AuditLog(path);
        for (let i = 1; i <= 40; i++) log.record(entry(i));
        log.close();
        tamper(
          remove
            ? `DELETE FROM audit WHERE seq = ${seq}`
            : `UPDATE audit SET record = replace(record, 'api-', 'API-') WHERE seq = ${seq}`,
        );
        const check = new AuditLog(path);
        const { problems } = check.verify();
        check.close();
        expect(problems.map((p) => p.seq)).toEqual([seq]);
        expect(problems[0]!.problem).toMatch(remove ? /missing \(deleted\)/ : /edited/);
      }),
      { numRuns: 25 },
    );
  });

  it('needs an anchor to catch a truncated tail or a fully rewritten chain, and then names it', () => {
    const log = logWith(10);
    const anchor = log.head()!;
    tamper('DELETE FROM audit WHERE seq > 7');
    // A hash chain alone cannot tell a truncated log from a shorter one: that is what anchors are for.
    expect(log.verify().ok).toBe(true);
    expect(log.verify({ anchors: [anchor] }).problems).toEqual([
      { seq: 10, problem: 'anchored record 10 is missing: the log was truncated or the record deleted' },
    ]);

    const early = { seq: 5, hash: log.tail(3)[0]!.hash };
    tamper((db) => {
      // Edit record 2, then recompute every hash after it: consistent, so only an anchor can tell.
      const rows = db.prepare('SELECT seq, record FROM audit ORDER BY seq').all() as Array<{
        seq: number;
        record: string;
      }>;
      const update = db.prepare('UPDATE audit SET record = ?, prev_hash = ?, hash = ? WHERE seq = ?');
      let prev = '0'.repeat(64);
      for (const row of rows) {
        const record = row.record.replace('"replicas":2', '"replicas":99');
        const hash = chainHash(prev, record, row.seq);
        update.run(record, prev, hash, row.seq);
        prev = hash;
      }
    });
    expect(log.search({ text: '"replicas":99' }).map((e) => e.seq)).toEqual([2]);
    expect(log.verify().ok).toBe(true);
    const { problems } = log.verify({ anchors: [early] });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      seq: 5,
      problem: expect.stringMatching(/the log was rewritten up to here/),
    });
  });
});

describe('AuditLog search and export', () => {
  function mixedLog(): AuditLog {
    const log = openLog();
    log.record(entry(1));
    log.record(entry(2, { principal: bot, tool: 'pods_list', args: { namespace: 'kube-system' } }));
    log.record(
      entry(3, {
        principal: slack,
        kind: 'decision',
        outcome: undefined,
        decision: { effect: 'deny', reason: 'viewer', rule: 'rbac:viewer' },
      }),
    );
    log.record(
      entry(4, { principal: slack, outcome: 'denied', error: 'denied: role "viewer" may not scale' }),
    );
    log.record(entry(5, { principal: bot, tool: 'pods_list', args: { namespace: 'payments' } }));
    log.record(entry(6, { outcome: 'error', error: 'cannot scale 50%_of api' }));
    log.record(entry(7, { principal: slack, person: 'alice', kind: 'approval', ticketId: 'T-42' }));
    return log;
  }
  const seqs = (entries: Array<{ seq: number }>) => entries.map((e) => e.seq);

  it('filters by principal, source, tool, outcome or decision effect, time and text', () => {
    const log = mixedLog();
    expect(seqs(log.search({ principal: 'token:ci-bot' }))).toEqual([2, 5]);
    expect(seqs(log.search({ source: 'chat' }))).toEqual([3, 4, 7]);
    expect(seqs(log.search({ person: 'alice' }))).toEqual([7]);
    expect(seqs(log.search({ ticketId: 'T-42' }))).toEqual([7]);
    expect(seqs(log.search({ kind: 'approval' }))).toEqual([7]);
    expect(seqs(log.search({ tool: 'pods_list' }))).toEqual([2, 5]);
    expect(seqs(log.search({ outcome: 'denied' }))).toEqual([4]);
    expect(seqs(log.search({ outcome: 'error' }))).toEqual([6]);
    expect(seqs(log.search({ outcome: 'success' }))).toEqual([1, 2, 5, 7]);
    expect(seqs(log.search({ outcome: 'deny' }))).toEqual([3]);
    expect(seqs(log.search({ since: entry(2).at, until: entry(4).at }))).toEqual([2, 3]);
    expect(seqs(log.search({ since: '2025-01-01T00:05:00+00:00' }))).toEqual([5, 6, 7]);
    expect(seqs(log.search({ text: 'KUBE-SYSTEM' }))).toEqual([2]);
    expect(seqs(log.search({ text: 'role "viewer"' }))).toEqual([4]);
    expect(seqs(log.search({ text: '50%_of' }))).toEqual([6]);
    expect(seqs(log.search({ text: '%' }))).toEqual([6]);
    expect(seqs(log.search({ principal: 'token:ci-bot', text: 'payments' }))).toEqual([5]);
    expect(seqs(log.search({ principal: 'nobody' }))).toEqual([]);
  });

  it('returns the newest matches up to the limit, oldest first, and rejects bad bounds', () => {
    const log = mixedLog();
    expect(seqs(log.search({ limit: 2 }))).toEqual([6, 7]);
    expect(seqs(log.search())).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(() => log.search({ since: 'yesterday-ish' })).toThrow(/since: 'yesterday-ish' is not a time/);
    expect(() => log.search({ limit: 0 })).toThrow(/limit must be a positive integer/);
  });

  it('exports JSON lines that can be re-verified without the database', () => {
    const log = mixedLog();
    const lines: string[] = [];
    expect(log.export((l) => lines.push(l))).toBe(7);
    let prev = '0'.repeat(64);
    for (const [i, line] of lines.entries()) {
      const { seq, hash, prevHash, ...record } = JSON.parse(line) as AuditRecord & Record<string, unknown>;
      expect(seq).toBe(i + 1);
      expect(prevHash).toBe(prev);
      expect(chainHash(prevHash as string, canonicalJson(record), seq as number)).toBe(hash);
      prev = hash as string;
    }
    const filtered: string[] = [];
    log.export((l) => filtered.push(l), { principal: 'slack:U123' });
    expect(filtered.map((l) => JSON.parse(l).seq)).toEqual([3, 4, 7]);
  });
});

describe('kubemate audit commands', () => {
  async function run(...args: string[]): Promise<{ out: string; exitCode: number }> {
    let out = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    const program = new Command().exitOverride();
    registerAuditCommands(program, () => new AuditLog(path));
    try {
      await program.parseAsync(['node', 'kubemate', 'audit', ...args]);
      return { out, exitCode: Number(process.exitCode ?? 0) };
    } finally {
      write.mockRestore();
      process.exitCode = undefined;
    }
  }

  it('verify reports an intact log with its head, and exits 1 listing the seqs of a tampered one', async () => {
    logWith(5).close();
    const intact = await run('verify');
    expect(intact.exitCode).toBe(0);
    expect(intact.out).toMatch(
      /^audit log intact: 5 records\nMACs: none \(no key is configured\): the hash chain was checked; a rewrite of the whole chain is caught only with --anchor\nhead 5:[0-9a-f]{64} /,
    );
    const anchor = (await run('head')).out.trim();
    tamper('DELETE FROM audit WHERE seq = 2');
    const tampered = await run('verify');
    expect(tampered.exitCode).toBe(1);
    expect(tampered.out).toBe(
      'audit log TAMPERED: 1 problem(s) in 4 records\n  seq 2: record 2 is missing (deleted): seq 1 is followed by seq 3\nMACs: none (no key is configured): the hash chain was checked; a rewrite of the whole chain is caught only with --anchor\n',
    );
    tamper('DELETE FROM audit WHERE seq > 3');
    expect((await run('verify', '--anchor', anchor)).out).toMatch(/seq 5: anchored record 5 is missing/);
  });

  it('tail, search and export print what the log holds', async () => {
    const log = logWith(4);
    log.record(entry(5, { principal: bot, outcome: 'error', error: 'backend down' }));
    log.record(entry(6, { principal: slack, person: 'alice', kind: 'approval', ticketId: 'T-7' }));
    log.close();
    const approval = await run('search', '--ticket', 'T-7', '--person', 'alice');
    expect(approval.out).toMatch(
      /^ {6}6 .* slack:U123 \(chat, alice\) {2}approval deployment_scale success rule=rbac:sre ticket=T-7 13ms /,
    );
    const tail = await run('tail', '-n', '3');
    expect(tail.out.trim().split('\n')).toHaveLength(3);
    expect(tail.out).toMatch(
      /^ {6}4 {2}2025-01-01T00:04:00.000Z {2}local:alice \(cli\) {2}result {3}deployment_scale success/,
    );
    expect(tail.out).toMatch(/token:ci-bot \(mcp-http\).* error: backend down\n/);
    const search = await run('search', '--principal', 'token:ci-bot', '--json');
    expect(JSON.parse(search.out)).toMatchObject({ seq: 5, error: 'backend down' });
    expect((await run('search', '--outcome', 'denied')).out).toBe('no matching audit records\n');
    const file = join(dir, 'export.jsonl');
    await run('export', '--out', file, '--since', '2025-01-01T00:03:00Z');
    expect(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).seq),
    ).toEqual([3, 4, 5, 6]);
  });
});

describe('AuditLog durability', () => {
  it('keeps every acknowledged record when the writing process is killed with SIGKILL', async () => {
    const writer = fileURLToPath(new URL('../support/audit-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    const acknowledged: number[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      acknowledged.push(Number(line));
      if (acknowledged.length === 300) child.kill('SIGKILL');
    }
    expect(await exited, stderr).toBe('SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);
    expect(acknowledged).toEqual(acknowledged.map((_, i) => i + 1));

    const log = openLog();
    const report = log.verify();
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.count).toBeGreaterThanOrEqual(acknowledged.at(-1)!);
    const last = log.search({ text: `"name":"api-${acknowledged.length - 1}"` });
    expect(last.map((e) => e.seq)).toEqual([acknowledged.length]);
  }, 60_000);
});

/** The canonical JSON as first written (recursive), to prove the iterative one writes the same bytes. */
function recursiveCanonical(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) as string | undefined;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return recursiveCanonical((value as { toJSON: () => unknown }).toJSON());
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i ? ',' : ''}${recursiveCanonical(value[i]) ?? 'null'}`;
    return `${out}]`;
  }
  let out = '{';
  for (const key of Object.keys(value).sort()) {
    const v = recursiveCanonical((value as Record<string, unknown>)[key]);
    if (v !== undefined) out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${v}`;
  }
  return `${out}}`;
}

describe('canonicalJson without recursion', () => {
  it('writes exactly the bytes the recursive version wrote, so every stored hash still verifies', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withSparseArray: true,
          withTypedArray: true,
          withObjectString: true,
        }),
        (value) => {
          const expected = recursiveCanonical(value);
          if (expected === undefined) expect(() => canonicalJson(value)).toThrow(TypeError);
          else expect(canonicalJson(value)).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('hashes values nested far deeper than any call stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = i % 2 ? [deep] : { a: deep };
    const text = canonicalJson(deep);
    expect(text.length).toBe(1 + 100_000 * 2 + 100_000 * 6);
    expect(text.startsWith('[{"a":[{"a":')).toBe(true);
  });
});

describe('AuditLog with a MAC key', () => {
  const key = Buffer.from('k'.repeat(32));
  const other = Buffer.from('o'.repeat(32));
  const keyed = () => {
    const log = new AuditLog(path, { hmacKey: key });
    open.push(log);
    return log;
  };

  /** What someone with write access to the file but not the key does: edit a record, re-chain the rest. */
  function rewriteChain(opts: { stripMacs: boolean }): void {
    tamper((db) => {
      const rows = db
        .prepare('SELECT seq, record, prev_hash, hash, mac FROM audit ORDER BY seq')
        .all() as Array<{
        seq: number;
        record: string;
        hash: string;
        mac: string | null;
      }>;
      let prev = '0'.repeat(64);
      for (const row of rows) {
        const record = row.seq === 2 ? row.record.replace('"replicas":2', '"replicas":20') : row.record;
        const hash = chainHash(prev, record, row.seq);
        db.prepare('UPDATE audit SET record = ?, prev_hash = ?, hash = ?, mac = ? WHERE seq = ?').run(
          record,
          prev,
          hash,
          opts.stripMacs ? null : row.mac,
          row.seq,
        );
        prev = hash;
      }
    });
  }

  it('writes a MAC on every record that the key, and only the key, reproduces offline', () => {
    const log = keyed();
    for (let i = 1; i <= 3; i++) log.record(entry(i));
    expect(log.verify()).toEqual({
      ok: true,
      count: 3,
      problems: [],
      mac: { checked: 3, unkeyedBefore: 0, present: 3 },
    });
    const lines: string[] = [];
    log.export((l) => lines.push(l));
    for (const line of lines) {
      const { seq, hash, mac } = JSON.parse(line) as { seq: number; hash: string; mac: string };
      const hex = createHmac('sha256', key).update(`kubemate-audit-mac-v1\n${seq}\n${hash}`).digest('hex');
      expect(mac).toBe(`${log.keyId}:${hex}`);
    }
    expect(log.head()).toMatchObject({ seq: 3, mac: expect.stringMatching(/^[0-9a-f]{12}:[0-9a-f]{64}$/) });
  });

  it('catches a rewrite of the whole chain that the hash chain alone cannot', () => {
    const log = keyed();
    for (let i = 1; i <= 4; i++) log.record(entry(i));
    rewriteChain({ stripMacs: false });
    // Without the key the rewritten chain is consistent: only the MACs (or an anchor) tell.
    const plain = new AuditLog(path);
    open.push(plain);
    expect(plain.verify()).toMatchObject({ ok: true, mac: { checked: 0, present: 4 } });
    expect(log.verify().problems).toEqual(
      [2, 3, 4].map((seq) => ({
        seq,
        problem: `record ${seq} does not match its MAC: it was written or rewritten by someone without the key`,
      })),
    );
  });

  it('catches a rewrite that strips the MACs', () => {
    const log = keyed();
    for (let i = 1; i <= 3; i++) log.record(entry(i));
    rewriteChain({ stripMacs: true });
    expect(log.verify().problems).toEqual([
      {
        seq: 3,
        problem:
          'the newest record (3) has no MAC although a key was given: the chain was rewritten without the key, or Kubemate writes without it',
      },
    ]);
  });

  it('says when a MAC was made with another key, and counts records older than the key', () => {
    logWith(2).close();
    const log = keyed();
    log.record(entry(3));
    expect(log.verify()).toMatchObject({ ok: true, mac: { checked: 1, unkeyedBefore: 2, present: 1 } });
    expect(log.verify({ hmacKey: other }).problems).toEqual([
      {
        seq: 3,
        problem: `record 3 has a MAC made with another key (key id ${log.keyId}; the key given has id ${new AuditLog(':memory:', { hmacKey: other }).keyId})`,
      },
    ]);
    // A record written without the key after keyed ones is a gap in the MACs.
    const unkeyed = openLog();
    unkeyed.record(entry(4));
    log.record(entry(5));
    expect(log.verify().problems).toEqual([
      {
        seq: 4,
        problem:
          'record 4 has no MAC although earlier records do: the MACs were stripped, or written without the key',
      },
    ]);
  });
});
