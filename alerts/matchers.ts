import { z } from 'zod';

/**
 * Alertmanager's matcher syntax: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`
 * (regexes anchored, as in Alertmanager). Quotes are optional around simple values.
 */
export interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
  re?: RegExp;
}

const MATCHER =
  /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|((?:[^\s"=!~][^\s"]*)?))\s*$/;

export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m)
    throw new Error(
      `"${text}" is not a matcher; write name="value", name!="value", name=~"regex" or name!~"regex"`,
    );
  const op = m[2] as Matcher['op'];
  const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? '');
  if (op === '=~' || op === '!~') {
    try {
      return { name: m[1]!, op, value, re: new RegExp(`^(?:${value})$`) };
    } catch (e) {
      throw new Error(`"${text}": the regex does not compile (${(e as Error).message})`);
    }
  }
  return { name: m[1]!, op, value };
}

export const matcherSchema = z.string().transform((text, ctx) => {
  try {
    return parseMatcher(text);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

/** Whether labels satisfy a matcher; a missing label is the empty string, as in Alertmanager. */
export function matches(m: Matcher, labels: Record<string, string>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.re!.test(v);
    case '!~':
      return !m.re!.test(v);
  }
}

export const matchesAll = (ms: readonly Matcher[], labels: Record<string, string>) =>
  ms.every((m) => matches(m, labels));
