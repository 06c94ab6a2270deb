// A check is data: a small YAML document with an id, a scope, severity bands, a PromQL query or a
// named Kubernetes analyzer, a message, a remediation and a runbook link. This module holds the
// schema, the parser (with messages that say where and how to fix a bad document) and the loader
// for the shipped catalog and users' folders.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { suggestion } from '../core/errors.js';
import { ANALYZER_NAMES } from './analyzer-names.js';

export const SCOPES = ['host', 'cluster', 'app', 'database', 'certificates', 'models'] as const;
export type Scope = (typeof SCOPES)[number];
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const UNITS = ['percent', 'ratio', 'seconds', 'bytes', 'count', 'days', 'number'] as const;
export type Unit = (typeof UNITS)[number];

const ID = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;

/** A threshold: a value at or past it (in the band's direction) gets that severity. */
const bands = z
  .object({
    op: z.enum(['>', '>=', '<', '<=']).describe('how a value compares with a threshold to be a finding'),
    warning: z.number().optional(),
    critical: z.number().optional(),
  })
  .strict()
  .refine((b) => b.warning !== undefined || b.critical !== undefined, {
    message: 'give at least one threshold: warning, critical or both',
  })
  .refine(
    (b) =>
      b.warning === undefined ||
      b.critical === undefined ||
      (b.op.startsWith('>') ? b.critical >= b.warning : b.critical <= b.warning),
    { message: 'critical must be at least as far past the threshold as warning (for ">" it is the larger)' },
  );

export const checkSchema = z
  .object({
    id: z
      .string()
      .regex(ID, 'must be lower-case words joined by dots or dashes, e.g. host.disk.space')
      .max(80),
    title: z.string().min(3).max(120),
    scope: z.enum(SCOPES),
    description: z.string().max(2000).optional(),
    /** Exactly one of promql and analyzer. */
    promql: z.string().trim().min(1).max(10_000).optional(),
    analyzer: z
      .object({
        name: z.string(),
        params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
      })
      .strict()
      .optional(),
    /** Severity bands on the observed value, or a fixed severity for every object an analyzer reports. */
    bands: bands.optional(),
    severity: z.enum(SEVERITIES).optional(),
    unit: z.enum(UNITS).default('number'),
    /** For PromQL: a template of the series' labels naming what the finding is about, e.g. "{{instance}} {{mountpoint}}". */
    subject: z.string().max(300).optional(),
    message: z.string().min(3).max(500),
    remediation: z.string().min(3).max(2000),
    runbook: z.string().max(500).optional(),
    /** How much a failed check weighs in its scope's score (default 1). */
    weight: z.number().positive().max(10).default(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!!c.promql === !!c.analyzer) {
      ctx.addIssue({
        code: 'custom',
        path: ['promql'],
        message: 'give exactly one of promql (a PromQL expression) or analyzer (a named Kubernetes analyzer)',
      });
    }
    if (!!c.bands === !!c.severity) {
      ctx.addIssue({
        code: 'custom',
        path: ['bands'],
        message:
          'give exactly one of bands ({op, warning, critical} on the value) or severity (fixed: critical, warning or info)',
      });
    }
    if (c.promql && !c.bands) {
      ctx.addIssue({
        code: 'custom',
        path: ['bands'],
        message: 'a PromQL check needs bands: the value of each series is compared with them',
      });
    }
    if (c.analyzer && !(ANALYZER_NAMES as readonly string[]).includes(c.analyzer.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['analyzer', 'name'],
        message: `unknown analyzer '${c.analyzer.name}'${suggestion(c.analyzer.name, ANALYZER_NAMES)}; known: ${ANALYZER_NAMES.join(', ')}`,
      });
    }
  });

export type Check = z.infer<typeof checkSchema>;

export interface CheckProblem {
  file: string;
  /** 1-based document number within the file. */
  document: number;
  id?: string;
  message: string;
}

function describe(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const where = i.path.length ? i.path.join('.') : '(document)';
    if (i.code === 'unrecognized_keys') return `${where}: unknown field(s) ${i.keys.join(', ')}`;
    if (i.code === 'invalid_value' && 'values' in i)
      return `${where}: must be one of ${(i.values as unknown[]).join(', ')}`;
    return `${where}: ${i.message}`;
  });
}

/** Parses one file of YAML documents (separated by `---`) into checks, or says what is wrong. */
export function parseCheckFile(text: string, file: string): { checks: Check[]; problems: CheckProblem[] } {
  const checks: Check[] = [];
  const problems: CheckProblem[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, n) => {
    const document = n + 1;
    if (doc.errors.length) {
      for (const e of doc.errors)
        problems.push({ file, document, message: `YAML syntax: ${e.message.split('\n')[0]}` });
      return;
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return; // an empty document (a trailing ---)
    const parsed = checkSchema.safeParse(value);
    const id = typeof (value as { id?: unknown }).id === 'string' ? (value as { id: string }).id : undefined;
    if (!parsed.success) {
      for (const message of describe(parsed.error))
        problems.push({ file, document, ...(id ? { id } : {}), message });
      return;
    }
    checks.push(parsed.data);
  });
  return { checks, problems };
}

/** Every `.yaml`/`.yml` file of a folder (recursively), parsed; duplicate ids are problems too. */
export function loadCheckDir(
  dir: string,
  known: Check[] = [],
): { checks: Check[]; problems: CheckProblem[] } {
  if (!existsSync(dir)) {
    return { checks: [], problems: [{ file: dir, document: 0, message: 'no such folder' }] };
  }
  const files: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, name.name);
      if (name.isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(name.name)) files.push(full);
    }
  };
  walk(dir);
  const checks: Check[] = [];
  const problems: CheckProblem[] = [];
  const seen = new Map<string, string>(known.map((c) => [c.id, 'the shipped catalog']));
  for (const file of files) {
    const shown = path.relative(dir, file) || path.basename(file);
    const r = parseCheckFile(readFileSync(file, 'utf8'), shown);
    problems.push(...r.problems);
    for (const c of r.checks) {
      const before = seen.get(c.id);
      if (before) {
        problems.push({
          file: shown,
          document: 0,
          id: c.id,
          message: `duplicate id '${c.id}' (also in ${before}); give each check its own id`,
        });
        continue;
      }
      seen.set(c.id, shown);
      checks.push(c);
    }
  }
  if (files.length === 0) problems.push({ file: dir, document: 0, message: 'no .yaml or .yml files' });
  return { checks, problems };
}

export function formatProblems(problems: CheckProblem[]): string {
  return problems
    .map(
      (p) =>
        `${p.file}${p.document ? ` (document ${p.document}${p.id ? `, ${p.id}` : ''})` : ''}: ${p.message}`,
    )
    .join('\n');
}

const CATALOG_CANDIDATES = ['./checks/', '../../../tools/inspection/checks/'];

/** The shipped catalog's folder: next to this module from source, the source tree from dist/. */
export function catalogDir(): string {
  for (const rel of CATALOG_CANDIDATES) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path.join(dir, 'cluster.yaml'))) return dir;
  }
  throw new Error(`the inspection check catalog was not found (looked in ${CATALOG_CANDIDATES.join(', ')})`);
}

let shipped: Check[] | undefined;

/** The shipped catalog; a broken shipped file is a bug and throws. */
export function shippedChecks(): Check[] {
  if (!shipped) {
    const r = loadCheckDir(catalogDir());
    if (r.problems.length)
      throw new Error(`the shipped check catalog is invalid:\n${formatProblems(r.problems)}`);
    shipped = r.checks;
  }
  return shipped;
}
