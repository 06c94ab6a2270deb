// Managing the knowledge base over MCP: what is ingested, removing a source, ingesting the configured
// folders again. The same operations as `kubemate runbooks sources|remove|ingest`, under the policy:
// removing and ingesting are verb admin (the default policy asks another person to approve them).
// Ingestion takes no path: only the folders the configuration names can be ingested, so a caller
// cannot make the server read any other folder and then read it back through search.
import { z } from 'zod';
import type { IngestSummary } from '../../rag/ingest.js';
import type { RunbookAdmin, RunbookSource } from '../../rag/knowledge-base.js';
import { ToolError } from '../core/errors.js';
import { defineTool, type ToolContext, type ToolDef } from '../core/types.js';
import { TOOLSET } from './search.js';

const sourceArg = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "a source prefix: letters, digits, '.', '_' and '-'")
  .describe('A source prefix as runbooks_sources_list shows it, e.g. "platform"');

function admin(ctx: ToolContext): RunbookAdmin {
  const a = ctx.backends.runbookAdmin;
  if (!a) {
    throw new ToolError('backend_unavailable', 'the runbook knowledge base is not configured on this server');
  }
  return a;
}

/** A refusal the knowledge base explains (reserved source, configured folder, unknown source), or a store failure. */
function failure(e: unknown, doing: string): ToolError {
  const message = (e as Error).message;
  if (/^no (runbooks under|configured runbook folder)/.test(message))
    return new ToolError('not_found', message, { cause: e });
  if (/runbooks Kubemate ships|in runbooks\.dirs/.test(message))
    return new ToolError('forbidden', message, { cause: e });
  return new ToolError('backend_error', `${doing} failed: ${message}`, { cause: e });
}

const sourceOut = z.object({
  prefix: z.string(),
  from: z.string().nullable().describe('"shipped", the configured folder, or null when ingested by hand'),
  documents: z.number(),
  chunks: z.number(),
  embedded: z.number().describe('documents with vectors from an embedding model'),
  lastIngestedAt: z.string(),
});

const sourceLine = (s: RunbookSource) =>
  `${s.prefix}: ${s.documents} document${s.documents === 1 ? '' : 's'}, ${s.chunks} chunks, ${s.embedded} embedded, last ingested ${s.lastIngestedAt}, from ${s.from ?? 'a folder ingested by hand'}`;

const sourcesList = defineTool({
  name: 'runbooks_sources_list',
  title: 'Runbooks: List Sources',
  description:
    'List what the runbook knowledge base holds, by source prefix: where it comes from (the shipped runbooks, a configured folder, or ingested by hand), how many documents and chunks, how many have embeddings, and when it was last ingested. Call it before removing or re-ingesting a source, or to check that a team folder was picked up.',
  input: z.object({}),
  output: z.object({ sources: z.array(sourceOut) }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(_args, ctx) {
    const sources = await admin(ctx).sources();
    if (sources.length === 0) {
      return {
        kind: 'doc',
        status: 'no_data',
        text: 'The runbook knowledge base is empty: nothing has been ingested yet.',
        structured: { sources: [] },
      };
    }
    const docs = sources.reduce((n, s) => n + s.documents, 0);
    return {
      kind: 'doc',
      text: [
        `${sources.length} source${sources.length === 1 ? '' : 's'}, ${docs} documents:`,
        ...sources.map(sourceLine),
      ].join('\n'),
      structured: { sources },
    };
  },
});

const sourceRemove = defineTool({
  name: 'runbooks_source_remove',
  title: 'Runbooks: Remove Source',
  description:
    "Remove every runbook ingested under one source prefix (a folder ingested by hand that is obsolete, or a copy ingested under the wrong prefix). The shipped runbooks and folders named in the configuration are refused: the next ingestion would bring them back, so they are turned off in the configuration instead. Needs the admin verb and, by default, another person's approval.",
  input: z.object({ source: sourceArg }),
  output: z.object({ source: z.string(), removed: z.number().describe('documents removed') }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  permission: { toolset: TOOLSET, verb: 'admin', namespaced: false },
  async preview(args, ctx) {
    const source = (await admin(ctx).sources()).find((s) => s.prefix === args.source);
    if (!source) return `remove the runbook source '${args.source}' (nothing is ingested under it now)`;
    return `remove the runbook source '${source.prefix}': ${source.documents} documents, ${source.chunks} chunks, last ingested ${source.lastIngestedAt}, from ${source.from ?? 'a folder ingested by hand'}`;
  },
  async handler(args, ctx) {
    let removed: number;
    try {
      removed = await admin(ctx).removeSource(args.source);
    } catch (e) {
      throw failure(e, `removing the runbook source '${args.source}'`);
    }
    return {
      kind: 'doc',
      text: `Removed ${removed} document${removed === 1 ? '' : 's'} under the source '${args.source}'.`,
      structured: { source: args.source, removed },
    };
  },
});

const summaryOut = z.object({
  prefix: z.string(),
  mode: z.enum(['keyword', 'dense']),
  files: z.object({
    seen: z.number(),
    added: z.number(),
    updated: z.number(),
    unchanged: z.number(),
    removed: z.number(),
    failed: z.number(),
  }),
  chunks: z.number(),
  failures: z.array(z.object({ file: z.string(), error: z.string() })),
});

const summaryLine = (s: IngestSummary) => {
  const f = s.files;
  const mode = s.mode === 'dense' ? `embedded with ${s.model}` : 'keyword-only (no embedding model)';
  return `${s.prefix}: ${f.seen} files seen, ${f.added} added, ${f.updated} updated, ${f.unchanged} unchanged, ${f.removed} removed, ${f.failed} failed; ${s.chunks} chunks written; ${mode}`;
};

const ingest = defineTool({
  name: 'runbooks_ingest',
  title: 'Runbooks: Ingest Configured Folders',
  description:
    "Ingest the runbook folders the configuration names again (the shipped runbooks and runbooks.dirs), or only the one with the given source prefix: new and changed files are chunked and embedded, unchanged ones skipped, and documents whose file is gone removed. Call it after a team updated its runbook folder. It takes no path: folders are added in the configuration. Needs the admin verb and, by default, another person's approval.",
  input: z.object({
    source: sourceArg
      .optional()
      .describe('Only the configured folder with this source prefix (default: all)'),
  }),
  output: z.object({ summaries: z.array(summaryOut) }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  permission: { toolset: TOOLSET, verb: 'admin', namespaced: false },
  async preview(args, ctx) {
    const folders = admin(ctx)
      .folders()
      .filter((f) => args.source === undefined || f.prefix === args.source);
    if (folders.length === 0)
      return `ingest the runbook folder '${args.source}' (no configured folder has it)`;
    return `ingest ${folders.map((f) => `'${f.prefix}'`).join(', ')}: add and update changed files, remove documents whose file is gone`;
  },
  async handler(args, ctx) {
    let summaries: IngestSummary[];
    try {
      summaries = await admin(ctx).syncFolders(args.source);
    } catch (e) {
      throw failure(e, 'runbook ingestion');
    }
    const failures = summaries.flatMap((s) => s.failures.map((f) => `  ${s.prefix}/${f.file}: ${f.error}`));
    return {
      kind: 'doc',
      text: [
        ...summaries.map(summaryLine),
        ...(failures.length ? ['Files not ingested (their previous version stays):', ...failures] : []),
      ].join('\n'),
      structured: {
        summaries: summaries.map((s) => ({
          prefix: s.prefix,
          mode: s.mode,
          files: s.files,
          chunks: s.chunks,
          failures: s.failures,
        })),
      },
    };
  },
});

export const runbookAdminTools: ToolDef[] = [sourcesList, sourceRemove, ingest];
