/**
 * A ticket's plan in plain language: the tool's preview ("scale Deployment payments/api in cluster
 * 'prod' from 2 to 4 replicas"), else the exact call. The `requested via:` line is for approvers.
 */
export function plainPlan(ticketPlan: string): string {
  const lines = ticketPlan.split('\n');
  const preview = lines.filter((l) => l.startsWith('  | ')).map((l) => l.slice(4).trim());
  if (preview.length) {
    const text = preview.filter(Boolean).join(' ');
    return text.length > 600 ? `${text.slice(0, 599)}…` : text;
  }
  return lines[0] ?? ticketPlan;
}
