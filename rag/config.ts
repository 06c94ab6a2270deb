import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { SHIPPED_PREFIX } from './shipped.js';

/**
 * The `runbooks` configuration section. It lives here, next to the code that reads it; app/config.ts
 * puts it into the one validated configuration.
 */

export const DEFAULT_EMBEDDING_URL = 'http://127.0.0.1:11434';
export const DEFAULT_EMBEDDING_MODEL = 'nomic-embed-text';

const folderPath = z
  .string()
  .min(1)
  .transform((p) => (p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p));

const prefixSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be letters, digits, '.', '_' or '-', e.g. platform");

const folderSchema = z.union(
  [
    folderPath,
    z.strictObject({
      path: folderPath,
      /** Source prefix of this folder's documents (default: the folder's name). */
      prefix: prefixSchema.optional(),
      team: z.string().min(1).optional(),
    }),
  ],
  { error: 'expected a folder path, or { path, prefix?, team? }' },
);

const milvusSchema = z.strictObject({
  kind: z.literal('milvus'),
  /** `host:port` or an http(s):// URL. */
  address: z
    .string({ error: 'must be host:port or an http(s):// URL, e.g. 127.0.0.1:19530' })
    .min(1, 'must be host:port or an http(s):// URL, e.g. 127.0.0.1:19530'),
  token: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  database: z.string().min(1).optional(),
  collection: z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_]{0,199}$/,
      'must be letters, digits and underscores, e.g. kubemate_runbooks',
    )
    .optional(),
  /** Partition per team: this deployment then reads and writes only that team's runbooks. */
  team: z.string().min(1).optional(),
});

export const runbooksConfigSchema = z
  .strictObject({
    /** Folders of your runbooks, ingested by `kubemate runbooks ingest` (and on first use). */
    dirs: z.array(folderSchema).default([]),
    /** Also search the runbooks Kubemate ships (sources `kubemate/…`). */
    includeShipped: z.boolean().default(true),
    store: z
      .discriminatedUnion('kind', [z.strictObject({ kind: z.literal('embedded') }), milvusSchema], {
        error: 'expected { kind: embedded } or { kind: milvus, address: host:port, … }',
      })
      .default({ kind: 'embedded' }),
    embedding: z
      .strictObject({
        /** false: keyword (BM25) retrieval only, without asking any server. */
        enabled: z.boolean().default(true),
        url: z
          .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:11434' })
          .default(DEFAULT_EMBEDDING_URL),
        model: z.string().min(1).default(DEFAULT_EMBEDDING_MODEL),
        /** Texts per /api/embed request. */
        batchSize: z.number().int().min(1).max(1024).default(32),
        timeoutSeconds: z.number().positive().max(3600).default(60),
        /** Largest /api/embed answer read, in MiB; default 64 (a batch of 32 large vectors is ~3). */
        maxResponseMiB: z.number().positive().max(4096).optional(),
      })
      .prefault({}),
  })
  .superRefine((v, ctx) => {
    const seen = new Map<string, number>();
    v.dirs.forEach((d, i) => {
      const entry = typeof d === 'string' ? { path: d } : d;
      const prefix = entry.prefix ?? basename(resolve(entry.path));
      const where = typeof d === 'string' ? ['dirs', i] : ['dirs', i, entry.prefix ? 'prefix' : 'path'];
      if (prefix === SHIPPED_PREFIX) {
        ctx.addIssue({
          code: 'custom',
          path: where,
          message: `the source prefix '${SHIPPED_PREFIX}' is reserved for the shipped runbooks; give this folder { path, prefix }`,
        });
      } else if (seen.has(prefix)) {
        ctx.addIssue({
          code: 'custom',
          path: where,
          message: `runbooks.dirs.${seen.get(prefix)} already uses the source prefix '${prefix}'; give one of them { path, prefix }`,
        });
      }
      seen.set(prefix, i);
    });
  });

export type RunbooksConfig = z.output<typeof runbooksConfigSchema>;
