// Refused (forged, stale) webhook deliveries are audited, but a flood of them cannot grow the audit
// log without bound: a few per minute one by one, the rest as one summary record.
import { describe, expect, it } from 'vitest';
import { RefusedDeliveries } from '../../bots/core/people.js';
import { MemoryAudit } from '../support/pipeline.js';

describe('RefusedDeliveries', () => {
  it('records the first refusals of a minute, counts the rest and summarises them once', () => {
    const audit = new MemoryAudit();
    let now = 1_700_000_000_000;
    const refused = new RefusedDeliveries(audit, 'slack', 3, () => now);
    const written = Array.from({ length: 1000 }, () => refused.record('signature mismatch'));
    expect(written.filter(Boolean)).toHaveLength(3);
    expect(audit.records).toHaveLength(3);
    expect(refused.record('stale timestamp')).toBe(true); // each reason has its own allowance
    expect(audit.records).toHaveLength(4);

    now += 60_000;
    expect(refused.record('signature mismatch')).toBe(true);
    const reasons = audit.records.map((r) => (r.decision && 'reason' in r.decision ? r.decision.reason : ''));
    expect(reasons.at(-2)).toMatch(/^signature mismatch \(and 997 more such deliveries in the minute from /);
    expect(reasons.at(-1)).toBe('signature mismatch');
    expect(audit.records.every((r) => r.decision?.rule === 'chat-signature' && r.outcome === 'denied')).toBe(
      true,
    );
  });
});
