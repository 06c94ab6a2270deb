import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfirmation } from '../../agent/confirm.js';
import { digestOf, exactCall, proposalView, SHOW_MAX } from '../../agent/proposal.js';
import { defineTool } from '../../tools/core/types.js';
import { askCollect } from '../support/agent-harness.js';
import { alice, script, widgetRig } from '../support/agent-rig.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';

/**
 * "Reply yes" confirms exactly what the person saw: a refused change is shown whole (or not
 * offered for a yes at all), with the digest of its exact arguments, and a yes runs it only while
 * its arguments still hash to that digest.
 */

let ollama: ScriptedOllama;
beforeAll(async () => {
  ollama = await startScriptedOllama();
});
afterAll(() => ollama.close());

const modelCalls = () => ollama.requests.filter((r) => r.path === '/api/chat').length;

/** A write tool taking a manifest, recording what it was given; `password:` values are masked in echoes. */
function applyTool() {
  const applied: string[] = [];
  const tool = defineTool({
    name: 'widget_apply',
    title: 'Widget: Apply',
    description: 'Apply a widget manifest.',
    input: z.object({ yaml: z.string().min(1) }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    permission: { toolset: 'test', verb: 'write', namespaced: false },
    redactArgs: (args) =>
      typeof args.yaml === 'string'
        ? { ...args, yaml: args.yaml.replace(/(password:\s*)\S+/g, '$1[REDACTED]') }
        : args,
    async handler(args) {
      applied.push(args.yaml);
      return { kind: 'doc', text: `applied ${args.yaml.length} characters` };
    },
  });
  return { tool, applied };
}

/** A ConfigMap manifest in kube-system with `size` characters of data. */
function manifest(size: number, extra = ''): string {
  const head = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: widget-config\n  namespace: kube-system\ndata:\n${extra}`;
  return `${head}  filler: "${'x'.repeat(Math.max(0, size - head.length - 13))}"\n`;
}

async function propose(yaml: string) {
  const { tool, applied } = applyTool();
  const rig = widgetRig(ollama, { policy: 'allow', extra: [tool] });
  script(ollama, [
    { toolCalls: [{ name: 'widget_apply', arguments: { yaml } }] },
    { content: 'Applying this config would help.' },
  ]);
  const { answer } = await askCollect(rig.agent, 'how is widget api?', alice);
  expect(applied).toEqual([]);
  expect(answer.blockedWrites).toHaveLength(1);
  return { rig, applied, answer };
}

describe('confirming with a yes: exactly what was shown', () => {
  it('shows a proposal longer than a label whole, and a yes applies exactly that manifest', async () => {
    const yaml = manifest(600);
    const { rig, applied, answer } = await propose(yaml);
    const whole = exactCall('widget_apply', { yaml });
    expect(whole.length).toBeGreaterThan(600);
    // The whole call, nothing cut, with the digest of its exact arguments.
    expect(answer.text).toContain(`Not done: ${whole}. Kubemate did not run it`);
    const digest = digestOf('widget_apply', { yaml });
    expect(answer.text).toContain(`reply "yes ${digest}" (or just "yes") to run exactly the call shown here`);
    const before = modelCalls();
    const done = await rig.agent.ask({
      question: `yes ${digest}`,
      principal: alice,
      threadId: answer.threadId,
    });
    expect(modelCalls()).toBe(before);
    expect(done.status).toBe('answered');
    expect(applied).toEqual([yaml]);
  });

  it('does not offer a yes for a call too long to show, and a yes then runs nothing', async () => {
    const yaml = manifest(SHOW_MAX + 500);
    const { rig, applied, answer } = await propose(yaml);
    const length = exactCall('widget_apply', { yaml }).length;
    expect(answer.text).toContain(
      `a yes cannot confirm it because the whole call is ${length} characters, too long to show here.`,
    );
    expect(answer.text).not.toContain('reply "yes');
    const before = modelCalls();
    const reply = await rig.agent.ask({ question: 'yes', principal: alice, threadId: answer.threadId });
    expect(modelCalls()).toBe(before);
    expect(applied).toEqual([]);
    expect(reply.text).toContain(
      'A yes cannot confirm the change my last answer proposed, because the whole call is',
    );
    expect(reply.text).toContain('nothing has run');
  });

  it('does not offer a yes for a call whose values are masked when shown', async () => {
    const yaml = manifest(300, '  password: hunter2-secret\n');
    const { rig, applied, answer } = await propose(yaml);
    expect(answer.text).not.toContain('hunter2-secret');
    expect(answer.text).toContain('password: [REDACTED]');
    expect(answer.text).toContain(
      'a yes cannot confirm it because it carries secret values, which are not shown here.',
    );
    const reply = await rig.agent.ask({
      question: 'yes, do it',
      principal: alice,
      threadId: answer.threadId,
    });
    expect(applied).toEqual([]);
    expect(reply.text).toContain('nothing has run');
    // The credential redactor applies too: what it would mask is not shown, so it is not confirmable.
    const view = proposalView(undefined, 'widget_delete', { id: 'db password=hunter2-secret' });
    expect(view.shown).toMatch(/^widget_delete id="db password=.*REDACTED/);
    expect(view.shown).not.toContain('hunter2');
    expect(view).toMatchObject({ notConfirmable: 'it carries secret values, which are not shown here' });
    expect(view.digest).toBeUndefined();
  });

  it('shows characters that do not show as escapes, so the call shown is the call that runs', async () => {
    const rig = widgetRig(ollama, { policy: 'allow' });
    const id = 'api\u202e\u200bdb';
    script(ollama, [
      { toolCalls: [{ name: 'widget_delete', arguments: { id } }] },
      { content: 'Deleting it would help.' },
    ]);
    const answer = await rig.agent.ask({ question: 'how is widget api?', principal: alice });
    expect(answer.text).toContain('Not done: widget_delete id="api\\u{202e}\\u{200b}db".');
    expect(answer.text).not.toContain('\u202e');
    await rig.agent.ask({ question: 'yes', principal: alice, threadId: answer.threadId });
    expect(rig.runs.destroy).toBe(1);
  });

  it('with several proposals, "yes <digest>" runs exactly that one; a digest shown nowhere runs nothing', async () => {
    const rig = widgetRig(ollama, { policy: 'allow' });
    const calls = [
      { name: 'widget_delete', arguments: { id: 'api' } },
      { name: 'widget_scale', arguments: { id: 'db', replicas: 2 } },
    ];
    const first = async () => {
      script(ollama, [{ toolCalls: calls }, { content: 'Two changes would help.' }]);
      return rig.agent.ask({ question: 'what should we do about widget api?', principal: alice });
    };
    const answer = await first();
    const scaleDigest = digestOf('widget_scale', { id: 'db', replicas: 2 });
    expect(answer.text).toContain(`reply "yes ${scaleDigest}" to run exactly the call shown here`);
    expect(answer.text).not.toContain('(or just "yes")');
    const before = modelCalls();
    const wrong = scaleDigest === 'abcdef' ? 'fedcba' : 'abcdef';
    const miss = await rig.agent.ask({
      question: `yes ${wrong}`,
      principal: alice,
      threadId: answer.threadId,
    });
    expect(miss.text).toContain(
      `No change my last answer showed has the digest ${wrong}, so nothing has run.`,
    );
    expect([rig.runs.destroy, rig.runs.write]).toEqual([0, 0]);
    const again = await first();
    const done = await rig.agent.ask({
      question: `Yes ${scaleDigest.toUpperCase()}, go ahead`,
      principal: alice,
      threadId: again.threadId,
    });
    expect(done.toolCalls).toEqual([
      { name: 'widget_scale', args: { id: 'db', replicas: 2 }, status: 'success' },
    ]);
    expect([rig.runs.destroy, rig.runs.write]).toEqual([0, 1]);
    expect(modelCalls()).toBe(before + 2);
  });

  it('runs nothing when the stored proposal no longer matches what was shown', async () => {
    const rig = widgetRig(ollama, { policy: 'allow' });
    script(ollama, [
      { toolCalls: [{ name: 'widget_delete', arguments: { id: 'api' } }] },
      { content: 'Deleting it would help.' },
    ]);
    const answer = await rig.agent.ask({ question: 'how is widget api?', principal: alice });
    const record = await rig.store.getRun(answer.runId);
    record.state.blocked[0]!.args = { id: 'db' };
    await rig.store.saveRun({
      id: record.id,
      status: record.status,
      state: record.state,
      answer: record.answer!,
    });
    const reply = await rig.agent.ask({ question: 'yes', principal: alice, threadId: answer.threadId });
    expect(rig.runs.destroy).toBe(0);
    expect(reply.text).toContain('nothing has run');
  });

  it('reads a yes with or without a digest, and nothing else', () => {
    expect(parseConfirmation('yes')).toEqual({});
    expect(parseConfirmation('yes 3f9a2c')).toEqual({ digest: '3f9a2c' });
    expect(parseConfirmation('确认 3F9A2C')).toEqual({ digest: '3f9a2c' });
    expect(parseConfirmation('3f9a2c')).toBeNull();
    expect(parseConfirmation('yes 3f9a2c 1b2c3d')).toBeNull();
    expect(parseConfirmation('ok 3f9a2c')).toBeNull();
    expect(parseConfirmation('yes 3f9a2c but scale db')).toBeNull();
  });
});
