import { closeSync, openSync, writeSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { canonicalJson } from '../../policies/audit-chain.js';
import type {
  AuditAnchor,
  AuditEntry,
  AuditFilter,
  AuditLog,
  VerifyReport,
} from '../../policies/audit-log.js';
import type { PgAuditLog } from '../../policies/audit-log-pg.js';

interface FilterOptions {
  principal?: string;
  person?: string;
  ticket?: string;
  source?: string;
  tool?: string;
  outcome?: string;
  since?: string;
  until?: string;
  text?: string;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

function isoTime(value: string): string {
  if (Number.isNaN(new Date(value).getTime())) {
    throw new InvalidArgumentError('expected an ISO 8601 time, e.g. 2025-01-31 or 2025-01-31T12:00:00Z.');
  }
  return value;
}

function anchor(value: string, previous: AuditAnchor[]): AuditAnchor[] {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(value.trim());
  if (!match)
    throw new InvalidArgumentError('expected <seq>:<sha256 hex>, as printed by `kubemate audit head`.');
  return [...previous, { seq: Number(match[1]), hash: match[2]! }];
}

function withFilters(cmd: Command): Command {
  return cmd
    .option('--principal <id>', 'principal id, exactly (e.g. slack:U123, token:ci-bot)')
    .option('--person <name>', 'the person behind any of their identities (chat, token, CLI)')
    .option('--ticket <id>', 'approval ticket id')
    .option('--source <source>', 'cli, mcp-stdio, mcp-http, chat, alert or agent')
    .option('--tool <name>', 'tool name, e.g. deployment_scale')
    .option(
      '--outcome <o>',
      'result status (success, error, denied…) or decision effect (allow, deny, needs-approval)',
    )
    .option('--since <iso>', 'from this time, inclusive', isoTime)
    .option('--until <iso>', 'before this time, exclusive', isoTime);
}

function filterOf(opts: FilterOptions): AuditFilter {
  const keys = ['principal', 'person', 'source', 'tool', 'outcome', 'since', 'until', 'text'] as const;
  const filter: AuditFilter = Object.fromEntries(
    keys.filter((k) => opts[k] !== undefined).map((k) => [k, opts[k]]),
  );
  if (opts.ticket !== undefined) filter.ticketId = opts.ticket;
  return filter;
}

/** One readable line: seq, time, who, what, and how it ended. */
export function formatEntry(e: AuditEntry): string {
  const result = e.outcome ?? e.decision?.effect ?? '-';
  const rule = e.decision ? ` rule=${e.decision.rule}` : '';
  const ms = e.durationMs !== undefined ? ` ${Math.round(e.durationMs)}ms` : '';
  const args = JSON.stringify(e.args);
  const error = e.error ? ` error: ${e.error.replace(/\s+/g, ' ').slice(0, 160)}` : '';
  const who = `${e.principal.id} (${e.principal.source}${e.principal.via ? ` via ${e.principal.via}` : ''}${e.person && e.person !== e.principal.id ? `, ${e.person}` : ''})`;
  const ticket = e.ticketId ? ` ticket=${e.ticketId}` : '';
  return `${String(e.seq).padStart(7)}  ${e.at}  ${who}  ${e.kind.padEnd(8)} ${e.tool} ${result}${rule}${ticket}${ms} ${args.length > 120 ? `${args.slice(0, 119)}…` : args}${error}`;
}

function print(entries: AuditEntry[], json: boolean | undefined): void {
  const lines = entries.map((e) => (json ? canonicalJson(e) : formatEntry(e)));
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  else if (!json) process.stdout.write('no matching audit records\n');
}

/** Collects lines into 64 KiB chunks so a large export makes few writes and never holds the whole log. */
function chunked(writeChunk: (chunk: string) => void, done = () => {}) {
  let buffer = '';
  return {
    write: (line: string) => {
      buffer += `${line}\n`;
      if (buffer.length >= 65_536) {
        writeChunk(buffer);
        buffer = '';
      }
    },
    close: () => {
      if (buffer) writeChunk(buffer);
      done();
    },
  };
}

function exportSink(out: string | undefined) {
  if (!out) return chunked((chunk) => process.stdout.write(chunk));
  const fd = openSync(out, 'w');
  return chunked(
    (chunk) => writeSync(fd, chunk),
    () => closeSync(fd),
  );
}

/** One line on what the MAC check covered, so "intact" never claims more than was checked. */
export function macSummary(log: Pick<AuditLog, 'keyed' | 'keyId'>, report: VerifyReport): string {
  const mac = report.mac;
  if (!log.keyed) {
    return mac?.present
      ? `MACs: ${mac.present} records carry one, not checked: no key is configured (audit.hmacKeyFile)`
      : 'MACs: none (no key is configured): the hash chain was checked; a rewrite of the whole chain is caught only with --anchor';
  }
  const older = mac?.unkeyedBefore
    ? `; ${mac.unkeyedBefore} older records have none (written before the key was set)`
    : '';
  return `MACs: ${mac?.checked ?? 0} checked with key ${log.keyId}${older}`;
}

/** The audit log in SQLite, or in PostgreSQL (state.url) with what closes its pool. */
export type OpenedAuditLog = AuditLog | { pg: PgAuditLog; close(): Promise<void> };

export function registerAuditCommands(
  program: Command,
  openLog: () => OpenedAuditLog | Promise<OpenedAuditLog>,
): void {
  const withLog = async (fn: (log: AuditLog | PgAuditLog) => unknown, sqliteOnly?: string): Promise<void> => {
    const opened = await openLog();
    try {
      if ('pg' in opened && sqliteOnly) {
        process.stderr.write(`${sqliteOnly} is not available with a PostgreSQL state.url yet\n`);
        process.exitCode = 2;
        return;
      }
      await fn('pg' in opened ? opened.pg : opened);
    } finally {
      await opened.close();
    }
  };
  const audit = program
    .command('audit')
    .description('Verify, read, search and export the tamper-evident audit log');

  audit
    .command('verify')
    .description(
      'Check every record against the hash chain; exit 1 listing each edited, deleted or reordered record',
    )
    .option(
      '--anchor <seq:hash>',
      'a head printed earlier by `audit head` (repeatable): also catches truncation and a rewritten chain',
      anchor,
      [],
    )
    .action((opts: { anchor: AuditAnchor[] }) =>
      withLog(async (log) => {
        const report = await log.verify({ anchors: opts.anchor });
        if (report.ok) {
          const head = await log.head();
          process.stdout.write(`audit log intact: ${report.count} records\n${macSummary(log, report)}\n`);
          if (head)
            process.stdout.write(
              `head ${head.seq}:${head.hash} (keep it outside the log to pass as --anchor later)\n`,
            );
          return;
        }
        const lines = report.problems.map((p) => `  seq ${p.seq}: ${p.problem}`);
        process.stdout.write(
          `audit log TAMPERED: ${report.problems.length} problem(s) in ${report.count} records\n${lines.join('\n')}\n${macSummary(log, report)}\n`,
        );
        process.exitCode = 1;
      }),
    );

  audit
    .command('head')
    .description('Print the newest record as <seq>:<hash>; record it elsewhere (ticket, SIEM) as an anchor')
    .action(() =>
      withLog(async (log) => {
        const head = await log.head();
        process.stdout.write(head ? `${head.seq}:${head.hash}\n` : 'the audit log is empty\n');
      }),
    );

  audit
    .command('tail')
    .description('Show the newest records, oldest first')
    .option('-n, --lines <n>', 'how many records', positiveInt, 20)
    .option('--json', 'print JSON lines (record, seq, hash, prevHash)')
    .action((opts: { lines: number; json?: boolean }) =>
      withLog(async (log) => print(await log.tail(opts.lines), opts.json)),
    );

  withFilters(audit.command('search').description('Find records; shows the newest matches, oldest first'))
    .option('--text <s>', 'substring of the record, e.g. a namespace or deployment name')
    .option('--limit <n>', 'at most this many records', positiveInt, 100)
    .option('--json', 'print JSON lines (record, seq, hash, prevHash)')
    .action((opts: FilterOptions & { limit: number; json?: boolean }) =>
      withLog(
        async (log) => print(await log.search({ ...filterOf(opts), limit: opts.limit }), opts.json),
        (['person', 'ticket', 'since', 'until', 'text'] as const).some((k) => opts[k] !== undefined)
          ? '`audit search` with --person, --ticket, --since, --until or --text'
          : undefined,
      ),
    );

  withFilters(
    audit
      .command('export')
      .description('Write records as JSON lines (record, seq, hash, prevHash), oldest first'),
  )
    .option('--out <file>', 'write to this file instead of stdout')
    .action((opts: FilterOptions & { out?: string }) =>
      withLog((log) => {
        const sink = exportSink(opts.out);
        try {
          const lines = (log as AuditLog).export(sink.write, filterOf(opts));
          if (opts.out) process.stderr.write(`exported ${lines} audit records to ${opts.out}\n`);
        } finally {
          sink.close();
        }
      }, '`audit export`'),
    );
}
