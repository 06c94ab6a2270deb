// An Alertmanager webhook delivery (version 4) for the alert tests: one group of alerts of `A` in
// namespace `ns`, each firing from the same start unless a field says otherwise.
import { type AlertmanagerWebhook, webhookSchema } from '../../alerts/webhook.js';

export function alertPayload(
  groupKey: string,
  alerts: Array<Partial<AlertmanagerWebhook['alerts'][number]> & { fingerprint: string }>,
  labels: Record<string, string> = { alertname: 'A', namespace: 'ns' },
): AlertmanagerWebhook {
  return webhookSchema.parse({
    version: '4',
    groupKey,
    status: 'firing',
    groupLabels: { alertname: labels.alertname },
    commonLabels: labels,
    alerts: alerts.map((a) => ({
      status: 'firing',
      labels: { ...labels, severity: 'warning' },
      startsAt: '2026-12-07T01:00:00Z',
      ...a,
    })),
  });
}
