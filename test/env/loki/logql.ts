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

import { goRegexp, ParseError, position, type Token, tokenize } from './lex.js';

export { ParseError, parseDuration } from './lex.js';

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

const RANGE_FNS = new Set<string>(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']);
const VECTOR_FNS = new Set<string>(['sum', 'count', 'avg', 'min', 'max']);

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
