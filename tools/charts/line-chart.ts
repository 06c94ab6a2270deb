/**
 * Line charts of time series as PNG, for chat users who would rather look than read: SVG built
 * here, rasterised by resvg with no system fonts (labels are stroke-font paths), so the same chart
 * renders on a host without any font installed.
 */
import { renderAsync } from '@resvg/resvg-js';
import { charsThatFit, textPath } from './stroke-font.js';

export interface ChartSeries {
  label: string;
  /** [unix seconds, value]; non-finite values leave a gap. */
  points: Array<[number, number]>;
}

export interface LineChartOptions {
  title: string;
  series: ChartSeries[];
  /** Expected spacing of points (seconds): larger gaps break the line. */
  step?: number;
  yLabel?: string;
  /** How y values are written on the axis. */
  format?: (v: number) => string;
  width?: number;
}

export interface ChartImage {
  /** base64 */
  data: string;
  mimeType: 'image/png';
  width: number;
  height: number;
}

/** Tableau 10: distinct, colour-blind friendlier than most. */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

const INK = '#222222';
const GRID = '#e3e3e3';

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  // The axis starts and ends on a tick, so both ends carry a label.
  for (let v = Math.floor(lo / step) * step; v < hi + step * 0.999; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const TIME_STEPS = [
  1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
];

function timeTicks(lo: number, hi: number, count = 6): number[] {
  const raw = (hi - lo) / count;
  const step = TIME_STEPS.find((s) => s >= raw) ?? Math.ceil(raw / 86_400) * 86_400;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) ticks.push(t);
  return ticks;
}

function timeLabel(t: number, span: number): string {
  const iso = new Date(t * 1000).toISOString();
  if (span > 2 * 86_400) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  return span < 600 ? iso.slice(11, 19) : iso.slice(11, 16);
}

function esc(s: string): string {
  return s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 2)}..` : s;
}

export function lineChartSvg(opts: LineChartOptions): { svg: string; width: number; height: number } {
  const width = opts.width ?? 960;
  const fmt = opts.format ?? ((v: number) => String(Number(v.toPrecision(3))));
  const legendRows = Math.ceil(opts.series.length / 2);
  const plot = { left: 78, top: 40, width: width - 78 - 24, height: 300 };
  const height = plot.top + plot.height + 44 + legendRows * 18 + 10;

  const all = opts.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[1])));
  let tLo = Math.min(...all.map((p) => p[0]));
  let tHi = Math.max(...all.map((p) => p[0]));
  let vLo = Math.min(0, ...all.map((p) => p[1]));
  let vHi = Math.max(...all.map((p) => p[1]));
  if (all.length === 0) [tLo, tHi, vLo, vHi] = [0, 1, 0, 1];
  if (tHi === tLo) tHi = tLo + 1;
  if (vHi === vLo) vHi = vLo + (Math.abs(vLo) || 1);
  const yTicks = niceTicks(vLo, vHi);
  vLo = Math.min(vLo, yTicks[0]!);
  vHi = Math.max(vHi, yTicks.at(-1)!);
  const x = (t: number) => plot.left + ((t - tLo) / (tHi - tLo)) * plot.width;
  const y = (v: number) => plot.top + plot.height - ((v - vLo) / (vHi - vLo)) * plot.height;
  const r = (v: number) => Math.round(v * 10) / 10;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  const ink: string[] = [textPath(clip(opts.title, charsThatFit(width - 20, 11)), 10, 22, { size: 11 })];
  const grid: string[] = [];
  for (const v of yTicks) {
    grid.push(`M${plot.left} ${r(y(v))}H${plot.left + plot.width}`);
    ink.push(textPath(fmt(v), plot.left - 8, r(y(v)) + 4, { size: 8, anchor: 'end' }));
  }
  const span = tHi - tLo;
  for (const t of timeTicks(tLo, tHi)) {
    grid.push(`M${r(x(t))} ${plot.top}V${plot.top + plot.height}`);
    ink.push(
      textPath(timeLabel(t, span), r(x(t)), plot.top + plot.height + 16, { size: 8, anchor: 'middle' }),
    );
  }
  ink.push(
    textPath('time (UTC)', plot.left + plot.width / 2, plot.top + plot.height + 34, {
      size: 9,
      anchor: 'middle',
    }),
  );
  if (opts.yLabel) {
    ink.push(
      textPath(clip(opts.yLabel, 36), 16, plot.top + plot.height / 2, {
        size: 9,
        anchor: 'middle',
        vertical: true,
      }),
    );
  }
  out.push(`<path d="${grid.join('')}" stroke="${GRID}" stroke-width="1" fill="none"/>`);
  out.push(
    `<path d="M${plot.left} ${plot.top}V${plot.top + plot.height}H${plot.left + plot.width}" stroke="${INK}" stroke-width="1.2" fill="none"/>`,
  );

  const gap = (opts.step ?? 0) * 1.5;
  opts.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    let d = '';
    let prevT: number | undefined;
    for (const [t, v] of s.points) {
      if (!Number.isFinite(v)) {
        prevT = undefined;
        continue;
      }
      const move = prevT === undefined || (gap > 0 && t - prevT > gap);
      d += `${move ? 'M' : 'L'}${r(x(t))} ${r(y(v))}`;
      prevT = t;
    }
    // A lone point would draw nothing: give it a dot.
    if (s.points.filter((p) => Number.isFinite(p[1])).length === 1) {
      const [t, v] = s.points.find((p) => Number.isFinite(p[1]))!;
      out.push(`<circle cx="${r(x(t))}" cy="${r(y(v))}" r="2.5" fill="${colour}"/>`);
    }
    if (d) {
      out.push(
        `<path d="${d}" stroke="${colour}" stroke-width="1.8" fill="none" stroke-linejoin="round" stroke-linecap="round"/>`,
      );
    }
    const col = i % 2;
    const row = Math.floor(i / 2);
    const lx = plot.left + col * (plot.width / 2);
    const ly = plot.top + plot.height + 56 + row * 18;
    out.push(`<path d="M${lx} ${ly - 4}h22" stroke="${colour}" stroke-width="3"/>`);
    ink.push(textPath(clip(s.label, charsThatFit(plot.width / 2 - 40, 8)), lx + 28, ly, { size: 8 }));
  });
  out.push(
    `<path d="${ink.join('')}" stroke="${INK}" stroke-width="1.1" fill="none" stroke-linecap="round" stroke-linejoin="round"/>`,
  );
  out.push(`<desc>${esc(opts.title)}</desc>`, '</svg>');
  return { svg: out.join('\n'), width, height };
}

/** The chart as a PNG, base64-encoded for MCP image content. Rendered off the event loop. */
export async function renderLineChart(opts: LineChartOptions): Promise<ChartImage> {
  const { svg, width, height } = lineChartSvg(opts);
  const image = await renderAsync(svg, { font: { loadSystemFonts: false }, logLevel: 'off' });
  return { data: image.asPng().toString('base64'), mimeType: 'image/png', width, height };
}
