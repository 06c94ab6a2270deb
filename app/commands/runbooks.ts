import { type Command, InvalidArgumentError } from 'commander';
import type { Principal } from '../../policies/types.js';
import {
  type IngestProgress,
  type IngestSummary,
  type KnowledgeBase,
  type KnowledgeBaseOptions,
  openKnowledgeBase,
} from '../../rag/index.js';
import type { ToolPipeline } from '../../tools/core/invoke.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * Progress on stderr: a bar redrawn in place on a terminal, otherwise one plain line per file that
 * changed (unchanged files stay quiet) so logs of scheduled runs stay readable.
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true;
  const width = 28;
  let drawn = false;
  const clear = () => {
    if (drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    update(label: string, e: IngestProgress) {
      const line = `${e.outcome.padEnd(9)} ${e.file}${e.error ? `: ${e.error}` : ''}`;
      if (!tty) {
        if (e.outcome !== 'unchanged') stream.write(`${line}\n`);
        return;
      }
      clear();
      if (e.outcome === 'failed') stream.write(`${line}\n`);
      const filled = e.total === 0 ? width : Math.round((width * e.done) / e.total);
      const columns = stream.columns ?? 100;
      const bar = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${e.done}/${e.total} `;
      const room = Math.max(0, columns - bar.length - 1);
      stream.write(bar + (e.file.length > room ? `…${e.file.slice(e.file.length - room + 1)}` : e.file));
      drawn = true;
    },
    done: clear,
  };
}

/** An expected failure (missing folder, store unreachable): one line, exit code 1. */
function failed(e: unknown): undefined {
  process.stderr.write(`kubemate: ${(e as Error).message}\n`);
  process.exitCode = 1;
  return undefined;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function formatSummary(s: IngestSummary): string {
  const f = s.files;
  const mode = s.mode === 'dense' ? `embedded with ${s.model}` : 'keyword-only (no embeddings)';
  const skipped = s.skipped.map((k) => `\n  skipped ${k.file}: ${k.reason}`).join('');
  return (
    `${s.prefix}/ from ${s.root}: ${f.seen} files: ${f.added} added, ${f.updated} updated, ${f.unchanged} unchanged, ` +
    `${f.removed} removed, ${f.failed} failed; ${s.chunks} chunks written in ${seconds(s.ms.total)} ` +
    `(embedding ${seconds(s.ms.embedding)}, the rest ${seconds(s.ms.other)}); ${mode}${skipped}`
  );
}

async function withKnowledgeBase<T>(
  options: () => KnowledgeBaseOptions,
  fn: (kb: KnowledgeBase) => Promise<T>,
) {
  const kb = await openKnowledgeBase(options());
  try {
    return await fn(kb);
  } finally {
    await kb.close();
  }
}

/** `kubemate runbooks …`: ingest folders, search (through the guarded pipeline, as the local principal), list. */
type OpenedPipeline = { pipeline: ToolPipeline; principal: Principal; close(): unknown };

export function registerRunbookCommands(
  program: Command,
  deps: {
    knowledgeBase: () => KnowledgeBaseOptions;
    open: () => OpenedPipeline | Promise<OpenedPipeline>;
  },
): void {
  const runbooks = program
    .command('runbooks')
    .description('Runbook knowledge base: ingest, search, list, sources, remove');

  runbooks
    .command('ingest [dir]')
    .description(
      'Ingest a folder of runbooks (Markdown, text, HTML) incrementally; without DIR, the shipped runbooks and runbooks.dirs',
    )
    .option('--team <team>', 'team the documents belong to (a partition on Milvus)')
    .option('--prefix <prefix>', "source prefix of the folder's documents (default: the folder's name)")
    .option('--json', 'print the summary as JSON')
    .action(async (dir: string | undefined, o: { team?: string; prefix?: string; json?: boolean }) => {
      const progress = progressReporter();
      const summaries = await withKnowledgeBase(deps.knowledgeBase, async (kb) => {
        const notice = kb.status.notice;
        if (notice && !o.json) process.stderr.write(`note: ${notice}\n`);
        if (!dir) return kb.sync((folder, e) => progress.update(`${folder.prefix}/`, e));
        const request = {
          dir,
          ...(o.prefix ? { prefix: o.prefix } : {}),
          ...(o.team ? { team: o.team } : {}),
          onProgress: (e: IngestProgress) => progress.update('ingest', e),
        };
        return [await kb.ingest(request)];
      })
        .catch(failed)
        .finally(progress.done);
      if (!summaries) return;
      if (o.json) process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`);
      else for (const s of summaries) process.stdout.write(`${formatSummary(s)}\n`);
      process.exitCode = summaries.some((s) => s.files.failed > 0) ? 1 : 0;
    });

  runbooks
    .command('search <query...>')
    .description('Search runbooks; prints passages with their citations')
    .option('--limit <n>', 'passages to return (default 5)', positiveInt)
    .option('--tag <tag>', 'only runbooks with this tag (repeat for several)', collect, [])
    .option('--alert <name>', 'only runbooks covering this alert')
    .option('--json', 'print the structured result as JSON')
    .action(async (words: string[], o: { limit?: number; tag: string[]; alert?: string; json?: boolean }) => {
      const { pipeline, principal, close } = await deps.open();
      try {
        const result = await pipeline.invoke(
          'runbooks_search',
          {
            query: words.join(' '),
            ...(o.limit ? { limit: o.limit } : {}),
            ...(o.tag.length ? { tags: o.tag } : {}),
            ...(o.alert ? { alert: o.alert } : {}),
          },
          principal,
        );
        if (o.json && !result.isError) {
          process.stdout.write(
            `${JSON.stringify({ status: result.status, ...result.structured }, null, 2)}\n`,
          );
        } else (result.isError ? process.stderr : process.stdout).write(`${result.text}\n`);
        process.exitCode = result.isError ? (result.status === 'invalid' ? 2 : 1) : 0;
      } finally {
        await close();
      }
    });

  runbooks
    .command('sources')
    .description('List the sources ingested: prefix, folder, documents, chunks, last ingestion')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const sources = await withKnowledgeBase(deps.knowledgeBase, (kb) => kb.sources()).catch(failed);
      if (!sources) return;
      if (o.json) {
        process.stdout.write(`${JSON.stringify(sources, null, 2)}\n`);
        return;
      }
      const width = Math.max(6, ...sources.map((s) => s.prefix.length));
      process.stdout.write(
        `${'SOURCE'.padEnd(width)}  DOCS  CHUNKS  EMBEDDED  LAST INGESTED             FROM\n`,
      );
      for (const s of sources) {
        process.stdout.write(
          `${s.prefix.padEnd(width)}  ${String(s.documents).padStart(4)}  ${String(s.chunks).padStart(6)}  ${String(s.embedded).padStart(8)}  ${s.lastIngestedAt.padEnd(24)}  ${s.from ?? '(ingested by hand)'}\n`,
        );
      }
      process.stdout.write(`${sources.length} sources\n`);
    });

  runbooks
    .command('remove <source>')
    .description(
      'Remove every document ingested under one source prefix (not the shipped runbooks or runbooks.dirs)',
    )
    .action(async (source: string) => {
      const removed = await withKnowledgeBase(deps.knowledgeBase, (kb) => kb.removeSource(source)).catch(
        failed,
      );
      if (removed === undefined) return;
      process.stdout.write(`removed ${removed} document${removed === 1 ? '' : 's'} under ${source}/\n`);
    });

  runbooks
    .command('list')
    .description('List the ingested runbook documents')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const docs = await withKnowledgeBase(deps.knowledgeBase, async (kb) => {
        await kb.sync();
        return kb.listDocuments();
      }).catch(failed);
      if (!docs) return;
      if (o.json) {
        process.stdout.write(`${JSON.stringify(docs, null, 2)}\n`);
        return;
      }
      const width = Math.max(6, ...docs.map((d) => d.source.length));
      process.stdout.write(`${'SOURCE'.padEnd(width)}  CHUNKS  EMBEDDINGS         TITLE\n`);
      for (const d of docs) {
        process.stdout.write(
          `${d.source.padEnd(width)}  ${String(d.chunkCount).padStart(6)}  ${(d.embeddingModel ?? '(keyword only)').padEnd(17)}  ${d.title}\n`,
        );
      }
      process.stdout.write(`${docs.length} documents\n`);
    });
}
