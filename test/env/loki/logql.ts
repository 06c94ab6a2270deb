// A small, real LogQL parser for the Loki contract fake (test/env/loki-fake.ts).
//
// What it covers, honestly:
// - log queries: a stream selector `{a="x", b!="y", c=~"re", d!~"re"}` followed by any number of
//   line filters (`|= "s"`, `!= "s"`, `|~ "re"`, `!~ "re"`), parsers (`| json`, `| logfmt`, without
//   parameters) and label filters (`| name = "v"`, `!=`, `=~`, `!~`, and numeric `> >= < <= == !=`
//   against a number);
// - metric queries: `count_over_time`, `rate`, `bytes_over_time`, `bytes_rate` over a log query
//   with a range (`{…} |= "x" [5m]` or `{…}[5m] |= "x"`), and `sum`, `count`, `avg`, `min`, `max`
//   with `by (…)` or `without (…)` before or after the parentheses, nested.
// - strings are Go string literals, as in Loki: "…" with Go escapes (an unknown escape such as
//   "\." is an error, as it is in Loki) or `raw`; regexes are RE2 as far as JavaScript's engine
//   agrees with it (a leading (?i) becomes the i flag).
// Not covered: line_format, label_format, unwrap and the *_over_time functions over unwrapped
// values, topk/bottomk/quantile, binary operators, offset, decolorize, pattern/regexp parsers, ip(),
// durations and bytes in label filters. A numeric label filter drops a line whose label is not a
// number (Loki keeps it, marked with __error__). Anything outside the subset fails with a parse error, so a
// test that strays outside it fails loudly instead of passing on a wrong answer.
// Error messages follow Loki's form: `parse error at line L, col C: syntax error: unexpected X`.

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  re?: RegExp;
}

export type Stage =
  | { kind: 'line'; op: '|=' | '!=' | '|~' | '!~'; value: string; re?: RegExp }
  | { kind: 'parser'; parser: 'json' | 'logfmt' }
  | { kind: 'label'; name: string; op: MatchOp; value: string; re?: RegExp }
  | { kind: 'compare'; name: string; op: '>' | '>=' | '<' | '<=' | '==' | '!='; value: number };

export interface LogExpr {
  kind: 'log';
  matchers: Matcher[];
  stages: Stage[];
}

export type RangeFn = 'count_over_time' | 'rate' | 'bytes_over_time' | 'bytes_rate';
export type VectorFn = 'sum' | 'count' | 'avg' | 'min' | 'max';

export interface RangeAgg {
  kind: 'range';
  fn: RangeFn;
  log: LogExpr;
  rangeMs: number;
}

export interface VectorAgg {
  kind: 'vector';
  fn: VectorFn;
  grouping?: { without: boolean; labels: string[] };
  inner: MetricExpr;
}

export type MetricExpr = RangeAgg | VectorAgg;
export type Expr = LogExpr | MetricExpr;

export class ParseError extends Error {
  constructor(message: string, line = 0, col = 0) {
    super(
      line === 0 && col === 0
        ? `parse error : ${message}`
        : `parse error at line ${line}, col ${col}: ${message}`,
    );
  }
}

interface Token {
  type: 'STRING' | 'IDENTIFIER' | 'NUMBER' | 'RANGE' | 'PUNCT' | 'EOF';
  text: string;
  /** decoded string value, range in ms, or number */
  value?: string | number;
  pos: number;
}

const PUNCT = ['|=', '|~', '!=', '!~', '=~', '==', '>=', '<=', '|', '=', '>', '<', '{', '}', '(', ')', ','];
const RANGE_FNS = new Set<string>(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']);
const VECTOR_FNS = new Set<string>(['sum', 'count', 'avg', 'min', 'max']);
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

function position(src: string, pos: number): [number, number] {
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

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
  ) {}

  private get tok(): Token {
    return this.tokens[this.i]!;
  }

  private fail(message: string, tok = this.tok): never {
    const [line, col] = position(this.src, tok.pos);
    throw new ParseError(message, line, col);
  }

  private describe(tok: Token): string {
    return tok.type === 'PUNCT' || tok.type === 'EOF' ? tok.text : tok.type;
  }

  private unexpected(expecting?: string): never {
    return this.fail(
      `syntax error: unexpected ${this.describe(this.tok)}${expecting ? `, expecting ${expecting}` : ''}`,
    );
  }

  private is(text: string): boolean {
    return (this.tok.type === 'PUNCT' || this.tok.type === 'IDENTIFIER') && this.tok.text === text;
  }

  private eat(text: string): Token {
    if (!this.is(text)) this.unexpected(text);
    return this.tokens[this.i++]!;
  }

  private take(type: Token['type'], expecting: string): Token {
    if (this.tok.type !== type) this.unexpected(expecting);
    return this.tokens[this.i++]!;
  }

  parse(): Expr {
    const expr = this.expr();
    if (this.tok.type !== 'EOF') this.unexpected();
    return expr;
  }

  private expr(): Expr {
    if (this.is('{')) return this.logExpr();
    if (this.is('(')) {
      this.eat('(');
      const inner = this.expr();
      this.eat(')');
      return inner;
    }
    return this.metricExpr();
  }

  private metricExpr(): MetricExpr {
    const tok = this.tok;
    if (tok.type === 'IDENTIFIER' && RANGE_FNS.has(tok.text)) return this.rangeAgg();
    if (tok.type === 'IDENTIFIER' && VECTOR_FNS.has(tok.text)) return this.vectorAgg();
    if (this.is('(')) {
      this.eat('(');
      const inner = this.metricExpr();
      this.eat(')');
      return inner;
    }
    return this.unexpected();
  }

  private grouping(): { without: boolean; labels: string[] } | undefined {
    if (!this.is('by') && !this.is('without')) return undefined;
    const without = this.tokens[this.i++]!.text === 'without';
    this.eat('(');
    const labels: string[] = [];
    while (!this.is(')')) {
      labels.push(this.take('IDENTIFIER', 'IDENTIFIER').text);
      if (!this.is(')')) this.eat(',');
    }
    this.eat(')');
    return { without, labels };
  }

  private vectorAgg(): VectorAgg {
    const fn = this.tokens[this.i++]!.text as VectorFn;
    let grouping = this.grouping();
    this.eat('(');
    const inner = this.metricExpr();
    this.eat(')');
    const after = this.grouping();
    if (grouping && after) this.fail('syntax error: unexpected grouping');
    grouping ??= after;
    return { kind: 'vector', fn, inner, ...(grouping ? { grouping } : {}) };
  }

  private rangeAgg(): RangeAgg {
    const fn = this.tokens[this.i++]!.text as RangeFn;
    this.eat('(');
    const matchers = this.selector();
    let rangeMs: number | undefined;
    if (this.tok.type === 'RANGE') rangeMs = this.tokens[this.i++]!.value as number;
    const stages = this.stages();
    if (this.tok.type === 'RANGE') {
      if (rangeMs !== undefined) this.unexpected(')');
      rangeMs = this.tokens[this.i++]!.value as number;
    }
    if (rangeMs === undefined) this.unexpected('RANGE');
    this.eat(')');
    return { kind: 'range', fn, log: { kind: 'log', matchers, stages }, rangeMs: rangeMs! };
  }

  private logExpr(): LogExpr {
    const matchers = this.selector();
    const stages = this.stages();
    if (this.tok.type === 'RANGE') this.unexpected();
    return { kind: 'log', matchers, stages };
  }

  private selector(): Matcher[] {
    this.eat('{');
    const matchers: Matcher[] = [];
    do {
      if (matchers.length > 0) this.eat(',');
      const name = this.take('IDENTIFIER', 'IDENTIFIER').text;
      const opTok = this.tok;
      if (!['=', '!=', '=~', '!~'].includes(opTok.text) || opTok.type !== 'PUNCT')
        this.unexpected('=, !=, =~ or !~');
      this.i++;
      const valueTok = this.take('STRING', 'STRING');
      const op = opTok.text as MatchOp;
      const value = valueTok.value as string;
      const re = op.endsWith('~') ? goRegexp(value, true, (m) => this.fail(m, valueTok)) : undefined;
      matchers.push({ name, op, value, ...(re ? { re } : {}) });
    } while (this.is(','));
    this.eat('}');
    const nonEmpty = matchers.some((m) =>
      m.op === '=' ? m.value !== '' : m.op === '=~' ? !m.re!.test('') : false,
    );
    if (!nonEmpty) {
      throw new ParseError(
        'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
      );
    }
    return matchers;
  }

  private stages(): Stage[] {
    const stages: Stage[] = [];
    for (;;) {
      const tok = this.tok;
      if (tok.type === 'PUNCT' && ['|=', '!=', '|~', '!~'].includes(tok.text)) {
        this.i++;
        const v = this.take('STRING', 'STRING');
        const op = tok.text as '|=' | '!=' | '|~' | '!~';
        const value = v.value as string;
        const re = op === '|~' || op === '!~' ? goRegexp(value, false, (m) => this.fail(m, v)) : undefined;
        stages.push({ kind: 'line', op, value, ...(re ? { re } : {}) });
        continue;
      }
      if (!this.is('|')) return stages;
      this.i++;
      const name = this.take('IDENTIFIER', 'IDENTIFIER').text;
      if ((name === 'json' || name === 'logfmt') && !this.isComparison()) {
        stages.push({ kind: 'parser', parser: name });
        continue;
      }
      stages.push(this.labelFilter(name));
    }
  }

  private isComparison(): boolean {
    return (
      this.tok.type === 'PUNCT' && ['=', '!=', '=~', '!~', '>', '>=', '<', '<=', '=='].includes(this.tok.text)
    );
  }

  private labelFilter(name: string): Stage {
    if (!this.isComparison()) this.unexpected();
    const op = this.tokens[this.i++]!.text;
    const v = this.tok;
    if (v.type === 'STRING' && ['=', '!=', '=~', '!~'].includes(op)) {
      this.i++;
      const value = v.value as string;
      const re = op.endsWith('~') ? goRegexp(value, true, (m) => this.fail(m, v)) : undefined;
      return { kind: 'label', name, op: op as MatchOp, value, ...(re ? { re } : {}) };
    }
    if (v.type === 'NUMBER' && ['>', '>=', '<', '<=', '==', '!=', '='].includes(op)) {
      this.i++;
      return { kind: 'compare', name, op: (op === '=' ? '==' : op) as '==', value: v.value as number };
    }
    return this.unexpected();
  }
}

export function parseLogQL(query: string): Expr {
  return new Parser(query, tokenize(query)).parse();
}
