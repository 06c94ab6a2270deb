import { describe, expect, it } from 'vitest';
import type { ApprovalCard } from '../../bots/core/types.js';
import { render } from '../../bots/slack/render.js';

const card = (call: string, plan = 'ConfigMap payments/a: would be created'): ApprovalCard => ({
  ticketId: 'T1',
  tool: 'resources_apply',
  call,
  plan,
  requester: 'alice',
  expiresAt: '2030-01-01T00:00:00Z',
  status: 'pending',
  approvals: [],
  required: 1,
});

const buttons = (c: ApprovalCard) =>
  render({ text: 'x', card: c })
    .blocks.filter((b) => b.type === 'actions')
    .flatMap((b) => (b as { elements: { action_id: string }[] }).elements.map((e) => e.action_id));

describe('Slack approval card shows what is approved', () => {
  it('a short call has both buttons', () => {
    expect(buttons(card('resources_apply yaml="x"'))).toEqual(['kubemate_approve', 'kubemate_reject']);
  });

  it('a call cut for length says so and cannot be approved from the card', () => {
    const long = `resources_apply yaml=${JSON.stringify(`${'a: b\n'.repeat(400)}kind: ClusterRoleBinding`)}`;
    const c = card(long);
    const text = JSON.stringify(render({ text: 'x', card: c }).blocks);
    expect(text).toContain('more characters not shown');
    expect(buttons(c)).toEqual(['kubemate_reject']);
  });

  it('a plan cut for length cannot be approved from the card either', () => {
    const c = card('resources_apply yaml="x"', 'ConfigMap payments/a: would be created\n'.repeat(100));
    expect(buttons(c)).toEqual(['kubemate_reject']);
  });
});

describe('Slack messages keep quoted text as text', () => {
  it('a log line with a broadcast mention or a disguised link is escaped', () => {
    const line = 'ERROR <!channel> see <https://evil.example|kubectl rollout undo> & retry';
    const out = render({ text: line });
    const shown = JSON.stringify(out);
    expect(shown).not.toContain('<!channel>');
    expect(shown).not.toContain('<https://evil.example');
    expect(shown).toContain('&lt;!channel&gt;');
  });

  it('a ticket note in a card is escaped', () => {
    const c = {
      ...card('resources_apply yaml="x"'),
      status: 'rejected',
      outcome: 'Rejected by bob: <!here>',
    };
    expect(JSON.stringify(render({ text: 'x', card: c }))).not.toContain('<!here>');
  });
});

describe('plain text within Slack limits', () => {
  it('escapes before cutting: text full of < > & stays under 3,000 characters a section, no entity cut', () => {
    const text = `${'<'.repeat(2500)}${'a&b>'.repeat(900)}`;
    const { blocks, text: fallback } = render({ text });
    expect(fallback.length).toBeLessThanOrEqual(3000);
    expect(fallback).not.toMatch(/&[a-z]{0,3}$/);
    const sections = blocks.map((b) => (b as { text: { text: string } }).text.text);
    for (const t of sections) {
      expect(t.length).toBeLessThanOrEqual(3000);
      expect(t).not.toMatch(/^[a-z]{1,3};/); // no section starts in the middle of an entity
      expect(t).not.toMatch(/&[a-z]{0,3}$/);
    }
    expect(sections.join('')).toBe(
      text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'),
    );
  });
});
