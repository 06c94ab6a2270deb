import { z } from 'zod';

/**
 * Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
 * Alert text (labels, annotations) is data from whoever wrote the rule: it is stored and shown, never followed.
 */
const labels = z.record(z.string().max(1024), z.string().max(16_384));

const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labels.refine((l) => Object.keys(l).length > 0, 'an alert needs at least one label'),
  annotations: labels.default({}),
  startsAt: z.string().min(1).max(64),
  endsAt: z.string().max(64).default(''),
  generatorURL: z.string().max(4096).default(''),
  fingerprint: z
    .string()
    .regex(/^[0-9a-f]{1,64}$/, 'must be the hex fingerprint Alertmanager computes from the labels'),
});

export const webhookSchema = z.object({
  version: z.literal('4', { error: 'only version "4" of the Alertmanager webhook payload is understood' }),
  groupKey: z.string().min(1).max(8192),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(1024).default(''),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  externalURL: z.string().max(4096).default(''),
  alerts: z.array(alertSchema).min(1, 'the payload has no alerts').max(10_000),
});

export type AlertmanagerWebhook = z.infer<typeof webhookSchema>;
export type IncomingAlert = AlertmanagerWebhook['alerts'][number];

/** The first problem of a payload, as a person fixes it: the path and what was wrong. */
export function explain(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const path = issue.path.length ? issue.path.join('.') : 'the body';
  return `${path}: ${issue.message}`;
}

/** Severity as the order of triage: critical first. Unknown severities come after warning. */
export function severityRank(severity: string | undefined): number {
  switch ((severity ?? '').toLowerCase()) {
    case 'critical':
    case 'page':
    case 'emergency':
      return 0;
    case 'error':
    case 'high':
      return 1;
    case 'warning':
    case 'warn':
    case 'medium':
      return 2;
    case 'info':
    case 'low':
    case 'none':
      return 4;
    default:
      return 3;
  }
}
