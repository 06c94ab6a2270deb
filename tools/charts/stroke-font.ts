/**
 * A tiny stroke font, so chart labels are drawn as paths: an air-gapped host may have no fonts at
 * all, and a PNG renderer without fonts silently drops every <text>. Glyphs sit on a 4 × 6 grid
 * (x right, y down, baseline at 6, descenders to 7); each glyph is polylines separated by spaces,
 * each point two digits "xy". Lower case is drawn as small capitals.
 */
const GLYPHS: Record<string, string> = {
  '0': '0040460600 4006',
  '1': '112026 1636',
  '2': '004043030646',
  '3': '00404606 0343',
  '4': '000343 4046',
  '5': '400003434606',
  '6': '400006464303',
  '7': '004016',
  '8': '0040460600 0343',
  '9': '430300404606',
  A: '062046 1333',
  B: '003041423303 334445360600',
  C: '40000646',
  D: '00304145360600',
  E: '40000646 0333',
  F: '400006 0333',
  G: '41400006464323',
  H: '0006 4046 0343',
  I: '1030 2026 1636',
  J: '40460604',
  K: '0006 400346',
  L: '000646',
  M: '0600234046',
  N: '06004640',
  O: '0040460600',
  P: '0600404303',
  Q: '0040460600 2446',
  R: '0600404303 2346',
  S: '413010010213334445361605',
  T: '0040 2026',
  U: '00064640',
  V: '002640',
  W: '0016233640',
  X: '0046 4006',
  Y: '002340 2326',
  Z: '00400646',
  '.': '2526',
  ',': '2517',
  ':': '2122 2526',
  ';': '2122 2517',
  '-': '1333',
  '+': '1333 2224',
  _: '0747',
  '/': '4006',
  '\\': '0046',
  '=': '1232 1434',
  '"': '1011 3031',
  "'": '2021',
  '{': '30202213242636',
  '}': '10202233242616',
  '(': '30212536',
  ')': '10212516',
  '[': '30101636',
  ']': '10303616',
  '<': '300336',
  '>': '103316',
  '%': '4006 0010110100 3545463635',
  '*': '1234 3214 2125',
  '!': '2024 2526',
  '?': '01103041422324 2526',
  '#': '1016 3036 0242 0444',
  '|': '2026',
  '^': '022042',
  '~': '03121332',
};
const UNKNOWN = '1131351511';

/** Advance per character, in grid units (4 wide plus 1.5 of spacing). */
const ADVANCE = 5.5;
const CAP = 6;

type Polyline = Array<[number, number]>;

function glyph(ch: string): { lines: Polyline[]; small: boolean } | undefined {
  if (ch === ' ') return undefined;
  const upper = ch.toUpperCase();
  const spec = GLYPHS[ch] ?? GLYPHS[upper] ?? UNKNOWN;
  const small = ch !== upper && GLYPHS[upper] !== undefined;
  const lines = spec.split(' ').map((run) => {
    const points: Polyline = [];
    for (let i = 0; i + 1 < run.length; i += 2) points.push([Number(run[i]), Number(run[i + 1])]);
    return points;
  });
  return { lines, small };
}

/** Pixels each character takes at `size`. */
export function charAdvance(size: number): number {
  return (ADVANCE * size) / CAP;
}

/** How many characters fit in `pixels` at `size`. */
export function charsThatFit(pixels: number, size: number): number {
  return Math.max(1, Math.floor(pixels / charAdvance(size)));
}

/** Width in pixels of `text` drawn at `size` (the capital height in pixels). */
export function textWidth(text: string, size: number): number {
  return text.length === 0 ? 0 : ((text.length * ADVANCE - 1.5) * size) / CAP;
}

export interface TextOptions {
  size: number;
  anchor?: 'start' | 'middle' | 'end';
  /** Rotate -90° about (x, y): for a vertical axis title. */
  vertical?: boolean;
}

/** SVG path data drawing `text` with its baseline at y (or its left edge at x when vertical). */
export function textPath(text: string, x: number, y: number, opts: TextOptions): string {
  const unit = opts.size / CAP;
  const width = textWidth(text, opts.size);
  const shift = opts.anchor === 'middle' ? width / 2 : opts.anchor === 'end' ? width : 0;
  const parts: string[] = [];
  const r = (v: number) => Math.round(v * 10) / 10;
  [...text].forEach((ch, i) => {
    const g = glyph(ch);
    if (!g) return;
    const origin = i * ADVANCE * unit - shift;
    for (const line of g.lines) {
      const pts = line.map(([gx, gy]) => {
        // small capitals: two thirds of the height, sitting on the baseline
        const ly = g.small ? CAP - ((CAP - gy) * 2) / 3 : gy;
        const along = origin + (g.small ? gx * 0.85 + 0.3 : gx) * unit;
        const across = (ly - CAP) * unit;
        return opts.vertical ? [x + across, y - along] : [x + along, y + across];
      });
      parts.push(`M${pts.map(([px, py]) => `${r(px!)} ${r(py!)}`).join('L')}`);
    }
  });
  return parts.join('');
}
