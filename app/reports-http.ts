// Inspection reports over HTTP under `kubemate serve`: /reports (a list), /reports/<id> (the HTML
// page) and /reports/<id>.json. The caller's bearer token says who they are; whether they may see
// reports is the policy's decision on the inspection tools, made (and audited) by the pipeline.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TokenAuthenticator } from '../mcp/auth.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import { escapeHtml, renderHtml } from '../tools/inspection/html.js';
import type { Report } from '../tools/inspection/model.js';
import type { InspectionStore } from '../tools/inspection/store.js';

export interface ReportsHttpOptions {
  pipeline: ToolPipeline;
  auth: TokenAuthenticator;
  store: InspectionStore;
}

// Self-contained pages: nothing may load from anywhere, inline styles and data: images only.
const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

function refuse(reply: FastifyReply, status: number, message: string) {
  return reply.code(status).header('content-type', 'text/plain; charset=utf-8').send(`${message}\n`);
}

export const reportsHttpPlugin: FastifyPluginAsync<ReportsHttpOptions> = async (
  fastify,
  { pipeline, auth, store },
) => {
  const who = (header: string | undefined, reply: FastifyReply) => {
    const principal = auth.authenticate(header);
    if (!principal) {
      void refuse(
        reply.header('www-authenticate', 'Bearer'),
        401,
        'a bearer token is required (kubemate token create)',
      );
    }
    return principal ? { ...principal, source: 'mcp-http' as const } : undefined;
  };

  // `/reports?cluster=NAME` lists one cluster's reports (for people who may read it but not the
  // default cluster); without it, the reports of every cluster the caller may read.
  fastify.get<{ Querystring: { cluster?: unknown } }>('/reports', async (req, reply) => {
    const principal = who(req.headers.authorization, reply);
    if (!principal) return reply;
    const cluster =
      typeof req.query.cluster === 'string' && req.query.cluster ? req.query.cluster : undefined;
    const result = await pipeline.invoke(
      'inspection_reports_list',
      { limit: 100, ...(cluster ? { cluster } : {}) },
      principal,
    );
    if (result.isError) return refuse(reply, result.status === 'denied' ? 403 : 500, result.text);
    const rows = (result.structured as { reports: Array<Record<string, unknown>> }).reports
      .map(
        (r) =>
          `<tr><td><a href="/reports/${escapeHtml(r.id)}">${escapeHtml(r.id)}</a></td><td>${escapeHtml(r.createdAt)}</td><td>${escapeHtml(r.cluster)}</td><td>${escapeHtml(r.score ?? 'n/a')}</td><td>${escapeHtml(r.critical)} critical, ${escapeHtml(r.warning)} warning</td><td>${escapeHtml(r.plan ?? r.by)}</td></tr>`,
      )
      .join('');
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .send(
        `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Kubemate inspection reports</title><style>body{font-family:system-ui,sans-serif;margin:24px}td,th{padding:4px 8px;text-align:left}</style></head><body><h1>Inspection reports</h1><table><tr><th>report</th><th>at</th><th>cluster</th><th>score</th><th>findings</th><th>plan or person</th></tr>${rows}</table></body></html>`,
      );
  });

  fastify.get<{ Params: { file: string } }>('/reports/:file', async (req, reply) => {
    const principal = who(req.headers.authorization, reply);
    if (!principal) return reply;
    const m = /^(insp_\d{14}_[0-9a-f]{6})(\.json|\.html)?$/.exec(req.params.file);
    if (!m)
      return refuse(
        reply,
        404,
        'no such report: report addresses look like /reports/insp_20261207080000_1a2b3c',
      );
    const id = m[1]!;
    // The decision (and its audit record) comes from the pipeline, as for any read of a report.
    const result = await pipeline.invoke('inspection_report_get', { id, limit: 1 }, principal);
    if (result.isError) {
      const status = result.status === 'denied' ? 403 : result.errorCode === 'not_found' ? 404 : 500;
      return refuse(reply, status, result.text);
    }
    const found = await store.get(id);
    if (!found) return refuse(reply, 404, `no inspection report ${id}`);
    if (m[2] === '.json')
      return reply.header('content-type', 'application/json; charset=utf-8').send(found.body);
    const report = JSON.parse(found.body) as Report;
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .send(renderHtml(report, { history: await store.history(found.meta.kind, 30) }));
  });
};
