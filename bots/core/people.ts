import type { AuditSink, PolicyEngine, Principal } from '../../policies/types.js';
import type { Asker, ChatUser, InboundEvent } from './types.js';

/** The principal of a chat user: `slack:U123`, source chat. Groups come from the policy file only. */
export function chatPrincipal(user: ChatUser): Principal {
  return { id: `${user.platform}:${user.id}`, groups: [], source: 'chat' };
}

/**
 * The person behind a chat user, or undefined when the policy file does not list their identity.
 * An unlisted identity maps to itself, so "person equals the principal id" means unknown.
 */
export function identify(policy: PolicyEngine, user: ChatUser): Asker | undefined {
  const principal = chatPrincipal(user);
  const person = policy.personOf(principal);
  return person === principal.id ? undefined : { principal, person };
}

export function unknownUserText(user: ChatUser): string {
  const id = `${user.platform}:${user.id}`;
  return (
    `Sorry, I don't know who you are yet, so I can't act for you. Ask a Kubemate administrator to add ` +
    `\`${id}\` under \`identities\` in the policy file (next to your other identities, e.g. ` +
    `\`alice: [${id}]\`); then ask again.`
  );
}

/** One audit record per refusal, so an administrator sees who tried and from where. */
export async function auditUnknown(audit: AuditSink, user: ChatUser, event: InboundEvent): Promise<void> {
  await audit.record({
    at: new Date().toISOString(),
    kind: 'decision',
    principal: chatPrincipal(user),
    tool: `chat:${event.kind}`,
    args: { channel: event.place.channel, eventId: event.eventId },
    decision: {
      effect: 'deny',
      rule: 'chat-unknown-identity',
      reason: `${user.platform}:${user.id} is not listed under identities in the policy file`,
    },
    outcome: 'denied',
  });
}

/** A webhook that failed verification (forged or stale): audited without its body, which is untrusted. */
export function auditRejectedDelivery(audit: AuditSink, platform: string, reason: string): void {
  // The delivery is refused whatever happens here; a record the database refuses is said on stderr.
  const written = audit.record({
    at: new Date().toISOString(),
    kind: 'decision',
    principal: { id: `${platform}:unverified`, groups: [], source: 'chat' },
    tool: `chat:webhook`,
    args: {},
    decision: { effect: 'deny', rule: 'chat-signature', reason },
    outcome: 'denied',
  });
  if (written instanceof Promise) {
    written.catch((err: unknown) =>
      process.emitWarning(
        `audit: the refusal of a ${platform} delivery (${reason}) could not be recorded: ${(err as Error)?.message ?? err}`,
      ),
    );
  }
}

/**
 * Refused webhook deliveries, audited without letting anyone who can reach the public URL grow the
 * audit log at will: per reason, the first `perMinute` refusals of a minute are recorded one by one;
 * the rest are counted and recorded as one summary when that reason is next refused after the minute.
 */
export class RefusedDeliveries {
  private readonly windows = new Map<string, { start: number; recorded: number; dropped: number }>();

  constructor(
    private readonly audit: AuditSink,
    private readonly platform: string,
    private readonly perMinute = 10,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this refusal was written to the audit log (the caller may log it too). */
  record(reason: string): boolean {
    const t = this.now();
    let w = this.windows.get(reason);
    if (!w || t - w.start >= 60_000) {
      if (w?.dropped) {
        auditRejectedDelivery(
          this.audit,
          this.platform,
          `${reason} (and ${w.dropped} more such deliveries in the minute from ${new Date(w.start).toISOString()}, not recorded one by one)`,
        );
      }
      w = { start: t, recorded: 0, dropped: 0 };
      this.windows.set(reason, w);
    }
    if (w.recorded >= this.perMinute) {
      w.dropped++;
      return false;
    }
    w.recorded++;
    auditRejectedDelivery(this.audit, this.platform, reason);
    return true;
  }
}
