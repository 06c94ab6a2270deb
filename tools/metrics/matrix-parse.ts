/**
 * A fast reader for Prometheus' range answers. JSON.parse of 500 series × 1,000 points builds a
 * million small arrays and strings before anything is summarised; this reads the points straight
 * into typed arrays. Prometheus writes this shape compactly and always the same way; on anything
 * unexpected the reader gives up (returns undefined) and the caller uses JSON.parse.
 */
import type { Labels } from './common.js';

export interface ColumnSeries {
  metric: Labels;
  /** unix seconds */
  t: Float64Array;
  v: Float64Array;
}

export interface MatrixAnswer {
  series: ColumnSeries[];
  warnings: string[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

class Bail extends Error {}

/**
 * A decimal between `from` and `to`. Plain decimals of up to 15 digits are computed exactly as
 * Number() would (an integer below 2^53 divided by a power of ten is correctly rounded); anything
 * else (exponents, NaN, ±Inf, long mantissas) goes through Number().
 */
function decimal(buf: Buffer, from: number, to: number): number {
  if (from < 0 || to <= from) throw new Bail(`no number at ${from}`);
  let i = from;
  let negative = false;
  if (buf[i] === 0x2d) {
    negative = true;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < to; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 0x2e && fraction < 0) fraction = 0;
    else break;
  }
  if (i === to && digits > 0 && digits <= 15) {
    const value = fraction > 0 ? mantissa / POW10[fraction]! : mantissa;
    return negative ? -value : value;
  }
  const text = buf.toString('latin1', from, to);
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const n = Number(text);
  if (Number.isNaN(n) && text !== 'NaN') throw new Bail(`not a number: ${text}`);
  return n;
}

/** Index just past the JSON string starting at `i` (a quote). */
function skipString(buf: Buffer, i: number): number {
  for (let j = i + 1; j < buf.length; j++) {
    const c = buf[j];
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  throw new Bail('unterminated string');
}

/** Index just past the object or array starting at `i`, strings respected. */
function skipValue(buf: Buffer, i: number): number {
  let depth = 0;
  for (let j = i; j < buf.length; j++) {
    const c = buf[j];
    if (c === QUOTE) j = skipString(buf, j) - 1;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  throw new Bail('unterminated value');
}

function expect(buf: Buffer, i: number, text: string): number {
  if (buf.toString('latin1', i, i + text.length) !== text) throw new Bail(`expected ${text} at ${i}`);
  return i + text.length;
}

function byte(buf: Buffer, i: number, c: number): number {
  if (buf[i] !== c) throw new Bail(`expected ${String.fromCharCode(c)} at ${i}`);
  return i + 1;
}

/** Scratch columns reused across series (and calls), so reading allocates once per series. */
let scratchT = new Float64Array(4096);
let scratchV = new Float64Array(4096);

function grow(): void {
  const t = new Float64Array(scratchT.length * 2);
  const v = new Float64Array(scratchV.length * 2);
  t.set(scratchT);
  v.set(scratchV);
  scratchT = t;
  scratchV = v;
}

function readPoints(buf: Buffer, start: number): { t: Float64Array; v: Float64Array; end: number } {
  let n = 0;
  let i = byte(buf, start, OPEN_BRACKET);
  const end = buf.length;
  if (buf[i] !== CLOSE_BRACKET) {
    for (;;) {
      i = byte(buf, i, OPEN_BRACKET);
      let comma = i;
      while (comma < end && buf[comma] !== COMMA) comma++;
      const ts = decimal(buf, i, comma);
      i = byte(buf, comma + 1, QUOTE);
      let close = i;
      while (close < end && buf[close] !== QUOTE) close++;
      const value = decimal(buf, i, close);
      i = byte(buf, close + 1, CLOSE_BRACKET);
      if (n === scratchT.length) grow();
      scratchT[n] = ts;
      scratchV[n] = value;
      n++;
      if (buf[i] === COMMA) i++;
      else if (buf[i] === CLOSE_BRACKET) break;
      else throw new Bail(`unexpected byte at ${i}`);
    }
  }
  return { t: scratchT.slice(0, n), v: scratchV.slice(0, n), end: i + 1 };
}

/** The series of a `resultType: matrix` answer, or undefined when the body is not in the expected form. */
export function readMatrix(buf: Buffer): MatrixAnswer | undefined {
  try {
    let i = expect(buf, 0, '{"status":"success","data":{"resultType":"matrix","result":[');
    const series: ColumnSeries[] = [];
    if (buf[i] !== CLOSE_BRACKET) {
      for (;;) {
        i = expect(buf, i, '{"metric":');
        const metricEnd = skipValue(buf, i);
        const metric = JSON.parse(buf.toString('utf8', i, metricEnd)) as Labels;
        i = expect(buf, metricEnd, ',"values":');
        const points = readPoints(buf, i);
        i = byte(buf, points.end, CLOSE_BRACE);
        series.push({ metric, t: points.t, v: points.v });
        if (buf[i] === COMMA) i++;
        else break;
      }
    }
    i = expect(buf, i, ']}');
    // What follows (warnings) is small: JSON.parse it with a stand-in for the data read above.
    const rest = JSON.parse(`{"data":null${buf.toString('utf8', i)}`) as { warnings?: string[] };
    return { series, warnings: rest.warnings ?? [] };
  } catch {
    // Not the form this reader knows (or not a matrix at all): JSON.parse decides.
    return undefined;
  }
}
