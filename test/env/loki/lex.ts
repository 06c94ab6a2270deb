// The LogQL lexer of the Loki contract fake: Go string literals, [range] durations, and Loki's
// "parse error at line L, col C" messages. See ./logql.ts for the grammar it serves.

export class ParseError extends Error {
  constructor(message: string, line = 0, col = 0) {
    super(
      line === 0 && col === 0
        ? `parse error : ${message}`
        : `parse error at line ${line}, col ${col}: ${message}`,
    );
  }
}

export interface Token {
  type: 'STRING' | 'IDENTIFIER' | 'NUMBER' | 'RANGE' | 'PUNCT' | 'EOF';
  text: string;
  /** decoded string value, range in ms, or number */
  value?: string | number;
  pos: number;
}

const PUNCT = ['|=', '|~', '!=', '!~', '=~', '==', '>=', '<=', '|', '=', '>', '<', '{', '}', '(', ')', ','];
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Prometheus duration syntax: 5m, 1h30m, 250ms. */
export function parseDuration(text: string): number | undefined {
  if (!/^(?:\d+(?:ms|s|m|h|d|w|y))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

export function position(src: string, pos: number): [number, number] {
  const before = src.slice(0, pos);
  const line = before.split('\n').length;
  return [line, pos - before.lastIndexOf('\n')];
}

/** Go's strconv.Unquote for a double-quoted literal body. */
function unquote(body: string, fail: (msg: string) => never): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      '"': '"',
    };
    if (e !== undefined && e in simple) out += simple[e];
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out += String.fromCharCode(Number.parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(body.slice(i + 1, i + 5))) {
      out += String.fromCharCode(Number.parseInt(body.slice(i + 1, i + 5), 16));
      i += 4;
    } else fail('invalid char escape');
  }
  return out;
}

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (msg: string, at = i): never => {
    const [line, col] = position(src, at);
    throw new ParseError(msg, line, col);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) fail('literal not terminated', start);
      const body = src.slice(i + 1, j);
      tokens.push({
        type: 'STRING',
        text: src.slice(i, j + 1),
        value: unquote(body, (m) => fail(m, start)),
        pos: start,
      });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) fail('literal not terminated', start);
      tokens.push({ type: 'STRING', text: src.slice(i, j + 1), value: src.slice(i + 1, j), pos: start });
      i = j + 1;
      continue;
    }
    if (c === '[') {
      const j = src.indexOf(']', i);
      if (j < 0) fail("missing closing ']' in duration", start);
      const text = src.slice(i + 1, j).trim();
      const ms = parseDuration(text);
      if (ms === undefined) fail(`not a valid duration string: "${text}"`, start);
      tokens.push({ type: 'RANGE', text: src.slice(i, j + 1), value: ms, pos: start });
      i = j + 1;
      continue;
    }
    const ident = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(src.slice(i));
    if (ident) {
      tokens.push({ type: 'IDENTIFIER', text: ident[0], pos: start });
      i += ident[0].length;
      continue;
    }
    const num = /^\d+(?:\.\d+)?/.exec(src.slice(i));
    if (num) {
      tokens.push({ type: 'NUMBER', text: num[0], value: Number(num[0]), pos: start });
      i += num[0].length;
      continue;
    }
    const p = PUNCT.find((x) => src.startsWith(x, i));
    if (!p) fail(`syntax error: unexpected character ${JSON.stringify(c)}`);
    tokens.push({ type: 'PUNCT', text: p!, pos: start });
    i += p!.length;
  }
  tokens.push({ type: 'EOF', text: '$end', pos: src.length });
  return tokens;
}

/** A Go RE2 pattern as a JavaScript RegExp; a leading (?i) becomes the i flag. */
export function goRegexp(pattern: string, anchored: boolean, fail: (msg: string) => never): RegExp {
  let flags = '';
  let body = pattern;
  if (body.startsWith('(?i)')) {
    flags = 'i';
    body = body.slice(4);
  }
  try {
    return new RegExp(anchored ? `^(?:${body})$` : body, flags);
  } catch (e) {
    return fail(`error parsing regexp: ${(e as Error).message}`);
  }
}
