import { parseDocument } from 'yaml';
import { z } from 'zod';
import { type FrontMatter, LoaderError } from './types.js';

/** `tags: [a, b]`, `tags: a, b` or `tags: a`: all become a list of trimmed strings. */
const stringList = z
  .union([z.string(), z.array(z.union([z.string(), z.number()]))], {
    error: 'expected a list of strings, e.g. [pods, memory]',
  })
  .transform((v) =>
    (typeof v === 'string' ? v.split(',') : v.map(String)).map((s) => s.trim()).filter((s) => s !== ''),
  );

const frontMatterSchema = z.looseObject({
  title: z.union([z.string(), z.number()], { error: 'expected a string' }).transform(String).optional(),
  tags: stringList.default([]),
  alerts: stringList.default([]),
  services: stringList.default([]),
  namespaces: stringList.default([]),
});

export const EMPTY_FRONT_MATTER: FrontMatter = { tags: [], alerts: [], services: [], namespaces: [] };

/**
 * Splits YAML front matter (`---` on the first line, closed by `---` or `...`) from a Markdown
 * file. Returns the parsed fields and the 0-based index of the first body line. A file that opens
 * front matter must close it and hold a valid YAML mapping: anything else is an error, never a
 * silently empty result.
 */
export function splitFrontMatter(
  file: string,
  lines: string[],
): { frontMatter: FrontMatter; bodyStart: number } {
  if (lines[0]?.replace(/^\uFEFF/, '').trimEnd() !== '---')
    return { frontMatter: EMPTY_FRONT_MATTER, bodyStart: 0 };
  const end = lines.findIndex((l, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(l));
  if (end === -1)
    throw new LoaderError(file, 'front matter opened with --- on line 1 is never closed with ---');
  const doc = parseDocument(lines.slice(1, end).join('\n'), { prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new LoaderError(
      file,
      `front matter is not valid YAML${line ? ` (line ${line + 1})` : ''}: ${first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new LoaderError(file, 'front matter must be a YAML mapping (title:, tags:, alerts:, …)');
  }
  const parsed = frontMatterSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(front matter)'}: ${i.message}`);
    throw new LoaderError(file, `invalid front matter: ${problems.join('; ')}`);
  }
  const { title, tags, alerts, services, namespaces } = parsed.data;
  return {
    frontMatter: { ...(title?.trim() ? { title: title.trim() } : {}), tags, alerts, services, namespaces },
    bodyStart: end + 1,
  };
}
