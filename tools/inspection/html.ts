// The report as one self-contained HTML page: inline CSS and SVG, no script, no outside resource,
// severity colours, printable. Everything from the report is escaped: labels and messages are data.
import type { Finding, Report } from './model.js';
import { formatValue } from './runner.js';

const COLOURS = { critical: '#c62828', warning: '#ef6c00', info: '#1565c0', ok: '#2e7d32', none: '#9e9e9e' };

export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function scoreColour(score: number | null): string {
  if (score === null) return COLOURS.none;
  return score >= 90 ? COLOURS.ok : score >= 70 ? COLOURS.warning : COLOURS.critical;
}

/** Horizontal bars, one per scope, 0-100. */
function scopeBars(r: Report): string {
  const rows = Object.entries(r.scores.byScope);
  const h = 26 * rows.length + 10;
  const bars = rows
    .map(([scope, s], i) => {
      const y = 5 + i * 26;
      const w = s.score === null ? 0 : (s.score / 100) * 300;
      return (
        `<text x="0" y="${y + 15}" font-size="13">${escapeHtml(scope)}</text>` +
        `<rect x="110" y="${y}" width="300" height="18" fill="#eee"/>` +
        `<rect x="110" y="${y}" width="${w.toFixed(1)}" height="18" fill="${scoreColour(s.score)}"/>` +
        `<text x="418" y="${y + 15}" font-size="13">${s.score === null ? 'n/a' : s.score}</text>`
      );
    })
    .join('');
  return `<svg role="img" aria-label="score by scope" width="460" height="${h}" viewBox="0 0 460 ${h}" xmlns="http://www.w3.org/2000/svg">${bars}</svg>`;
}

/** One stacked bar of check outcomes. */
function outcomeBar(r: Report): string {
  const count = (pred: (c: Report['checks'][number]) => boolean) => r.checks.filter(pred).length;
  const parts = [
    {
      label: 'critical',
      n: count((c) => c.status === 'failed' && c.severity === 'critical'),
      colour: COLOURS.critical,
    },
    {
      label: 'warning',
      n: count((c) => c.status === 'failed' && c.severity === 'warning'),
      colour: COLOURS.warning,
    },
    { label: 'info', n: count((c) => c.status === 'failed' && c.severity === 'info'), colour: COLOURS.info },
    { label: 'passed', n: count((c) => c.status === 'passed'), colour: COLOURS.ok },
    {
      label: 'not evaluated',
      n: count((c) => c.status !== 'passed' && c.status !== 'failed'),
      colour: COLOURS.none,
    },
  ];
  const total = Math.max(1, r.checks.length);
  let x = 0;
  const rects = parts
    .map((p) => {
      const w = (p.n / total) * 440;
      const out = p.n
        ? `<rect x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="22" fill="${p.colour}"><title>${p.label}: ${p.n}</title></rect>`
        : '';
      x += w;
      return out;
    })
    .join('');
  const legend = parts
    .map(
      (p, i) =>
        `<rect x="${i * 90}" y="32" width="10" height="10" fill="${p.colour}"/><text x="${i * 90 + 14}" y="41" font-size="11">${p.label} ${p.n}</text>`,
    )
    .join('');
  return `<svg role="img" aria-label="check outcomes" width="460" height="50" viewBox="0 0 460 50" xmlns="http://www.w3.org/2000/svg">${rects}${legend}</svg>`;
}

/** Score over the previous reports and this one. */
function trendLine(history: Array<{ createdAt: string; score: number | null }>): string {
  const pts = history.filter((h) => h.score !== null) as Array<{ createdAt: string; score: number }>;
  if (pts.length < 2) return '';
  const w = 440;
  const h = 80;
  const xy = pts.map(
    (p, i) => [(i / (pts.length - 1)) * (w - 20) + 10, h - 10 - (p.score / 100) * (h - 20)] as const,
  );
  const path = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const dots = xy
    .map(
      ([x, y], i) =>
        `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="#333"><title>${escapeHtml(pts[i]!.createdAt)}: ${pts[i]!.score}</title></circle>`,
    )
    .join('');
  return `<h2>Score trend</h2><svg role="img" aria-label="score trend" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" xmlns="http://www.w3.org/2000/svg"><rect width="${w}" height="${h}" fill="#fafafa"/><path d="${path}" fill="none" stroke="#333" stroke-width="2"/>${dots}</svg>`;
}

function findingRow(f: Finding, isNew: boolean): string {
  const threshold =
    f.threshold !== undefined ? `${escapeHtml(f.op)} ${escapeHtml(formatValue(f.threshold, f.unit))}` : '';
  const evidence = f.evidence.query
    ? `<code>${escapeHtml(f.evidence.query)}</code>`
    : `analyzer <code>${escapeHtml(f.evidence.analyzer)}</code>`;
  const runbook = f.runbook ? ` <span class="rb">runbook: ${escapeHtml(f.runbook)}</span>` : '';
  return (
    `<tr class="sev-${f.severity}" id="${escapeHtml(f.id)}">` +
    `<td><span class="badge ${f.severity}">${f.severity}</span>${isNew ? ' <span class="new">new</span>' : ''}</td>` +
    `<td class="mono">${escapeHtml(f.id)}</td>` +
    `<td>${escapeHtml(f.scope)}</td>` +
    `<td><b>${escapeHtml(f.title)}</b><br>${escapeHtml(f.message)}${f.evidence.detail ? `<br><small>${escapeHtml(f.evidence.detail)}</small>` : ''}</td>` +
    `<td class="mono">${escapeHtml(formatValue(f.value, f.unit))}</td><td class="mono">${threshold}</td>` +
    `<td><small>${evidence}</small></td>` +
    `<td><small>${escapeHtml(f.remediation)}${runbook}</small></td></tr>`
  );
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.meta{color:#555;font-size:13px}.score{font-size:40px;font-weight:700}
.cards{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #ddd;padding:6px;text-align:left;vertical-align:top}
th{background:#f5f5f5}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
.badge{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}
.badge.critical{background:${COLOURS.critical}}.badge.warning{background:${COLOURS.warning}}.badge.info{background:${COLOURS.info}}
.new{color:${COLOURS.critical};font-weight:700;font-size:11px}
tr.sev-critical td:first-child{border-left:4px solid ${COLOURS.critical}}tr.sev-warning td:first-child{border-left:4px solid ${COLOURS.warning}}
pre.summary{white-space:pre-wrap;background:#f7f7f7;padding:12px;border-radius:4px;font-family:inherit;font-size:14px}
code{word-break:break-all}
@media print{body{margin:0;max-width:none}tr{page-break-inside:avoid}h2{page-break-after:avoid}}
`;

export interface HtmlOptions {
  /** Scores of earlier reports of the same kind, oldest first, for the trend chart. */
  history?: Array<{ createdAt: string; score: number | null }>;
  /** At most this many findings are listed (the rest are counted); default 2,000. */
  maxFindings?: number;
}

export function renderHtml(r: Report, opts: HtmlOptions = {}): string {
  const max = opts.maxFindings ?? 2000;
  const isNew = new Set(r.diff?.new ?? []);
  const listed = r.findings.slice(0, max);
  const checkRows = r.checks
    .map(
      (c) =>
        `<tr><td class="mono">${escapeHtml(c.id)}</td><td>${escapeHtml(c.scope)}</td><td>${escapeHtml(c.title)}</td><td>${c.status === 'failed' ? `<span class="badge ${c.severity}">${c.severity}</span>` : escapeHtml(c.status)}</td><td>${c.findings}</td><td><small>${escapeHtml(c.reason ?? '')}</small></td></tr>`,
    )
    .join('');
  const diff = r.diff
    ? `<p>Since ${escapeHtml(r.diff.previousAt)}: <b>${r.diff.new.length}</b> new, <b>${r.diff.resolved.length}</b> resolved, <b>${r.diff.persisting.length}</b> persisting; score ${r.diff.scoreBefore ?? 'n/a'} → ${r.diff.scoreAfter ?? 'n/a'} (${escapeHtml(r.diff.trend)}).</p>` +
      (r.diff.resolved.length
        ? `<details><summary>Resolved findings</summary><ul>${r.diff.resolved
            .slice(0, 500)
            .map(
              (x) =>
                `<li><span class="mono">${escapeHtml(x.id)}</span> ${escapeHtml(x.checkId)}: ${escapeHtml(x.subject)}</li>`,
            )
            .join('')}</ul></details>`
        : '')
    : '<p>First report of its kind: nothing to compare with yet.</p>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Kubemate inspection ${escapeHtml(r.id)}</title><style>${CSS}</style></head>
<body>
<h1>Inspection report: ${escapeHtml(r.cluster)}${r.namespace ? `/${escapeHtml(r.namespace)}` : ''}</h1>
<div class="meta">${escapeHtml(r.id)} · ${escapeHtml(r.createdAt)} · scopes ${escapeHtml(r.scopes.join(', '))} · started by ${escapeHtml(r.trigger.by)} · ${r.durationMs} ms</div>
<div class="cards">
<div><h2>Overall</h2><div class="score" style="color:${scoreColour(r.scores.overall)}">${r.scores.overall ?? 'n/a'}<small>/100</small> ${escapeHtml(r.scores.grade)}</div></div>
<div><h2>By scope</h2>${scopeBars(r)}</div>
<div><h2>Checks</h2>${outcomeBar(r)}</div>
</div>
${trendLine(opts.history ?? [])}
<h2>Summary</h2><pre class="summary">${escapeHtml(r.summary.text)}</pre>
<p class="meta">Written by ${r.summary.author === 'agent' ? `the agent (${escapeHtml(r.summary.model ?? 'model')}) from the findings only` : 'a template (no model)'}.</p>
<h2>Changes</h2>${diff}
<h2>Findings (${r.findings.length})</h2>
${r.findings.length ? `<table><thead><tr><th>severity</th><th>id</th><th>scope</th><th>finding</th><th>value</th><th>threshold</th><th>evidence</th><th>remediation</th></tr></thead><tbody>${listed.map((f) => findingRow(f, isNew.has(f.id))).join('')}</tbody></table>${r.findings.length > listed.length ? `<p>…and ${r.findings.length - listed.length} more findings in the JSON report.</p>` : ''}` : '<p>No findings.</p>'}
<h2>Checks (${r.checks.length})</h2>
<table><thead><tr><th>id</th><th>scope</th><th>title</th><th>outcome</th><th>findings</th><th>note</th></tr></thead><tbody>${checkRows}</tbody></table>
<p class="meta">Score: each evaluated check loses its weight × 1 for a critical finding, × 0.5 for a warning, × 0.1 for info; score = 100 × (1 − lost / total weight). Checks that could not be evaluated do not count.</p>
</body></html>
`;
}
