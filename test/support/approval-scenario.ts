import { expect } from 'vitest';
import { adminClients } from './kube.js';
import type { ScriptedOllama } from './ollama-scripted.js';
import type { MemoryAudit } from './pipeline.js';

/**
 * The chat core's approval scenario, the same on every platform: the requester asks (in Chinese) to
 * scale `<ns>/api` from 2 to 4 replicas; the model proposes deployment_scale; an approval card shows
 * the call and plan; the requester's own Approve is refused and nothing changes; the approver presses
 * Approve twice at once and the Deployment is scaled once, for real; the card shows the outcome
 * without buttons; the model's answer reaches the chat; the audit names the platform's people.
 * A platform supplies how to talk and what its card shows; its own checks stay in its test.
 */
export interface ApprovalRig {
  platform: string;
  ns: string;
  ollama: ScriptedOllama;
  audit: MemoryAudit;
  /** Platform user ids, mapped in the test's policy to the people `alice` and `bob`. */
  requester: string;
  approver: string;
  ask(user: string, text: string): Promise<void>;
  /** Waits until the core and the outbox are idle. */
  settle(): Promise<void>;
  /** The approval card's visible text now, or undefined while there is none. */
  cardText(): string | undefined;
  /** The buttons the card shows now. */
  buttons(): Array<'approve' | 'reject'>;
  press(user: string, action: 'approve' | 'reject'): Promise<void>;
  /** Everything said in the conversation since the question, as text. */
  replies(): string[];
}

export async function runApprovalScenario(rig: ApprovalRig): Promise<void> {
  const { ns, audit, platform } = rig;
  const replicas = async () =>
    (await adminClients().apps.readNamespacedDeployment({ namespace: ns, name: 'api' })).spec?.replicas;
  rig.ollama.setChat((r) => {
    const tools = r.messages
      .filter((m) => m.role === 'tool')
      .map((m) => m.content)
      .join('\n');
    if (tools.includes('approved by bob')) return { content: '已按批准扩容 Scaled as approved.' };
    return {
      toolCalls: [{ name: 'deployment_scale', arguments: { namespace: ns, name: 'api', replicas: 4 } }],
    };
  });
  expect(await replicas()).toBe(2);
  await rig.ask(rig.requester, `把 ${ns}/api 扩容到 4 个副本`);
  await rig.settle();
  const shown = rig.cardText();
  expect(shown, rig.replies().join('\n')).toBeDefined();
  expect(shown).toContain('deployment_scale');
  expect(shown).toContain('from 2 to 4 replicas');
  expect(shown).toContain('alice');
  expect(rig.buttons()).toEqual(['approve', 'reject']);

  await rig.press(rig.requester, 'approve');
  await rig.settle();
  expect(rig.cardText()).toContain('alice requested this call and cannot approve it');
  expect(await replicas()).toBe(2);

  // The approver double-clicks: two presses, two deliveries; the ticket runs once.
  await Promise.all([rig.press(rig.approver, 'approve'), rig.press(rig.approver, 'approve')]);
  await rig.settle();
  expect(await replicas()).toBe(4);
  const final = rig.cardText()!;
  expect(final).toContain('executed');
  expect(final).toMatch(/Approved by bob at \d{4}-/);
  expect(rig.buttons()).toEqual([]);
  expect(rig.replies().some((t) => t.includes('Scaled as approved.'))).toBe(true);

  expect(
    audit.records.filter(
      (r) => r.tool === 'deployment_scale' && r.kind === 'result' && r.outcome === 'success',
    ),
  ).toHaveLength(1);
  expect(
    audit.records.some(
      (r) =>
        r.tool === 'deployment_scale' &&
        r.outcome === 'approval_required' &&
        r.principal.id === `${platform}:${rig.requester}` &&
        r.principal.source === 'agent' &&
        r.principal.via === 'chat',
    ),
  ).toBe(true);
  const approvals = audit.records.filter((r) => r.kind === 'approval' && r.tool === 'deployment_scale');
  expect(
    approvals.filter((r) => r.outcome === 'success').map((r) => [r.principal.id, r.principal.source]),
  ).toEqual([[`${platform}:${rig.approver}`, 'chat']]);
  expect(
    approvals.some((r) => r.outcome === 'denied' && r.principal.id === `${platform}:${rig.requester}`),
  ).toBe(true);
}
