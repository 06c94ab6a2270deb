import { z } from 'zod';

/** An Alertmanager label matcher, as the v2 API takes it. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"{},]+))\s*$/;

/** `namespace=~"pay.*"` → a matcher, or a reason it is not one. */
export function parseMatcher(text: string): Matcher | string {
  const m = MATCHER.exec(text);
  if (!m)
    return `'${text}' is not a matcher; write name="value", name!="value", name=~"regex" or name!~"regex"`;
  const op = m[2]!;
  const value = m[3] !== undefined ? m[3].replace(/\\(["\\])/g, '$1') : m[4]!;
  const isRegex = op === '=~' || op === '!~';
  if (isRegex) {
    try {
      new RegExp(`^(?:${value})$`);
    } catch (e) {
      return `'${text}': the regular expression does not compile (${(e as Error).message})`;
    }
  }
  return { name: m[1]!, value, isRegex, isEqual: op === '=' || op === '=~' };
}

export function formatMatcher(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

export function formatMatchers(ms: Matcher[]): string {
  return `{${ms.map(formatMatcher).join(', ')}}`;
}

export const matchersArg = z
  .array(
    z.string().superRefine((s, ctx) => {
      const m = parseMatcher(s);
      if (typeof m === 'string') ctx.addIssue({ code: 'custom', message: m });
    }),
  )
  .min(1, 'give at least one matcher, e.g. ["alertname=\\"HighErrorRate\\"", "namespace=\\"payments\\""]')
  .max(20);

export function parseMatchers(texts: string[]): Matcher[] {
  return texts.map((t) => parseMatcher(t) as Matcher);
}
