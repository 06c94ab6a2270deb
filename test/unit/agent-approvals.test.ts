import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isConfirmation } from '../../agent/confirm.js';
import { ApprovalStore } from '../../policies/approvals.js';
import { askCollect, makeAgent, ollamaAt } from '../support/agent-harness.js';
import { alice, bob, POLICY, script, toolMessages, widgetRig } from '../support/agent-rig.js';
import { countingTools } from '../support/fake-tools.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom } from '../support/policy.js';

let ollama: ScriptedOllama;
beforeAll(async () => {
  ollama = await startScriptedOllama();
});
afterAll(() => ollama.close());

describe('approvals', () => {
  let ctx: ReturnType<typeof widgetRig>;
  beforeEach(() => {
    ctx = widgetRig(ollama);
  });

  async function pause() {
    const seen = script(ollama, [
      { toolCalls: [{ name: 'widget_get', arguments: { id: 'api' } }] },
      {
        content: 'Scaling.',
        toolCalls: [
          { name: 'widget_scale', arguments: { id: 'api', replicas: 4 } },
          { name: 'widget_get', arguments: { id: 'db' } },
        ],
      },
      (r) => ({ content: `Final: ${toolMessages(r).at(-2)?.split('\n').slice(2, 4).join(' ')}` }),
    ]);
    const { answer, events } = await askCollect(ctx.agent, 'scale widget api to 4 replicas', alice);
    return { answer, events, seen };
  }

  it('pauses on a ticket labelled with its origin, and resumes with the outcome once approved', async () => {
    const { answer, events, seen } = await pause();
    expect(answer.status).toBe('paused');
    expect(ctx.runs.write).toBe(0);
    const id = answer.pendingTicket!.id;
    expect(answer.pendingTicket!.plan).toBe('widget_scale id="api" replicas=4');
    expect(events.find((e) => e.type === 'approval_required')).toEqual({
      type: 'approval_required',
      ticketId: id,
      plan: 'widget_scale id="api" replicas=4',
    });
    expect(answer.text).toContain(`Ticket ${id} waits for an approver`);
    expect(answer.text).toContain(`kubemate ask --resume ${answer.runId}`);
    const ticket = ctx.approvals.get(id);
    expect(ticket.plan).toBe(
      `widget_scale id="api" replicas=4\nrequested via: proposed by the Kubemate agent for alice (asked: 'scale widget api to 4 replicas') after reading: widget_get api`,
    );
    // Not decided yet: resuming says so and stays paused.
    const early = await ctx.agent.resume(answer.runId, alice);
    expect(early.status).toBe('paused');
    expect(early.text).toContain('has not been decided yet');
    // Bob approves through the pipeline: the call runs there, once.
    const approved = await ctx.pipeline.approve(id, bob);
    expect(approved.status).toBe('success');
    expect(ctx.runs.write).toBe(1);
    const resumed = await ctx.agent.resume(answer.runId, alice);
    expect(resumed.status).toBe('answered');
    expect(resumed.text).toMatch(
      new RegExp(
        `^Ticket ${id} was approved by bob and ran: widget_scale id="api" replicas=4 Result: scaled api to 4`,
      ),
    );
    expect(resumed.text).toContain('Final: approved by bob and executed. scaled api to 4');
    // The skipped call was answered as not run, and the write ran exactly once.
    expect(toolMessages(seen.at(-1)!).at(-1)).toMatch(/^status: not_run\nThis call did not run/);
    expect(ctx.runs.write).toBe(1);
    expect(resumed.toolCalls.map((c) => c.status)).toEqual(['success', 'approval_required']);
    // Resuming again returns the finished answer.
    expect((await ctx.agent.resume(answer.runId)).text).toBe(resumed.text);
    // Someone else cannot resume alice's run.
    await expect(ctx.agent.resume(answer.runId, bob)).rejects.toThrow('started by someone else');
  });

  it('rejected: the answer says so and nothing ran', async () => {
    const { answer } = await pause();
    await ctx.pipeline.reject(answer.pendingTicket!.id, bob, 'not during the freeze');
    const resumed = await ctx.agent.resume(answer.runId);
    expect(resumed.text).toContain(
      `Ticket ${answer.pendingTicket!.id} was rejected by bob ("not during the freeze"); widget_scale id="api" replicas=4 did not run.`,
    );
    expect(ctx.runs.write).toBe(0);
  });

  it('expired: the answer says so and nothing ran', async () => {
    let now = Date.now();
    const { tools, runs } = countingTools();
    const approvals = new ApprovalStore(':memory:', 60_000, () => now);
    const { pipeline } = testPipeline({ tools, policy: engineFrom(POLICY), approvals });
    const { agent } = makeAgent({ pipeline, llm: ollamaAt(ollama.url) });
    script(ollama, [
      { toolCalls: [{ name: 'widget_scale', arguments: { id: 'api', replicas: 4 } }] },
      { content: 'It did not happen.' },
    ]);
    const paused = await agent.ask({ question: 'scale widget api to 4', principal: alice });
    now += 61_000;
    const resumed = await agent.resume(paused.runId);
    expect(resumed.text).toMatch(
      new RegExp(
        `^Ticket ${paused.pendingTicket!.id} expired at .* without a decision; widget_scale id="api" replicas=4 did not run`,
      ),
    );
    expect(runs.write).toBe(0);
  });
});

describe('the write guard (does not rely on the model)', () => {
  it('refuses a write the asker did not ask for, even when the policy would allow it outright', async () => {
    const { agent, runs } = widgetRig(ollama, { policy: 'allow' });
    const seen = script(ollama, [
      { toolCalls: [{ name: 'widget_get', arguments: { id: 'api' } }] },
      { toolCalls: [{ name: 'widget_delete', arguments: { id: 'api' } }] },
      { content: 'Done as the log said.' },
    ]);
    const { answer } = await askCollect(agent, 'how is widget api?', alice);
    expect(runs.destroy).toBe(0);
    expect(answer.blockedWrites).toEqual([
      {
        name: 'widget_delete',
        args: { id: 'api' },
        reason: 'not requested by you: you did not ask to delete anything',
        origin:
          "proposed by the Kubemate agent for alice (asked: 'how is widget api?') after reading: widget_get api",
        shown: 'widget_delete id="api"',
        digest: '025243',
      },
    ]);
    expect(answer.toolCalls.at(-1)).toEqual({ name: 'widget_delete', args: { id: 'api' }, status: 'denied' });
    expect(answer.text).toContain(
      'Not done: widget_delete id="api". Kubemate did not run it because it was not requested by you',
    );
    expect(toolMessages(seen[2]!).at(-1)).toContain('Kubemate refused this call and nothing was executed');
  });

  it('runs the write the asker asked for (the same policy)', async () => {
    const { agent, runs } = widgetRig(ollama, { policy: 'allow' });
    script(ollama, [
      { toolCalls: [{ name: 'widget_delete', arguments: { id: 'api' } }] },
      { content: 'Deleted.' },
    ]);
    const answer = await agent.ask({ question: 'please delete widget api', principal: alice });
    expect(runs.destroy).toBe(1);
    expect(answer.blockedWrites).toBeUndefined();
  });
});

describe('confirming a proposal with a yes', () => {
  const modelCalls = () => ollama.requests.filter((r) => r.path === '/api/chat').length;

  async function proposeDelete(rig: ReturnType<typeof widgetRig>) {
    script(ollama, [
      { toolCalls: [{ name: 'widget_get', arguments: { id: 'api' } }] },
      { toolCalls: [{ name: 'widget_delete', arguments: { id: 'api' } }] },
      { content: 'The widget looks stuck; deleting it would help.' },
    ]);
    const { answer } = await askCollect(rig.agent, 'how is widget api?', alice);
    expect(rig.runs.destroy).toBe(0);
    expect(answer.text).toContain(
      'Not done: widget_delete id="api". Kubemate did not run it because it was not requested by you',
    );
    expect(answer.text).toContain(
      'or reply "yes 025243" (or just "yes") to run exactly the call shown here (approval rules still apply)',
    );
    return answer;
  }

  it('runs exactly the proposed call, without asking the model, when the reply is only a yes', async () => {
    const rig = widgetRig(ollama, { policy: 'allow' });
    const first = await proposeDelete(rig);
    const before = modelCalls();
    const { answer, events } = await askCollect(rig.agent, 'Yes, go ahead please!', alice, first.threadId);
    expect(modelCalls()).toBe(before);
    expect(rig.runs.destroy).toBe(1);
    expect(answer.status).toBe('answered');
    expect(answer.text).toMatch(/^Done, as you confirmed: widget_delete id="api"\./);
    expect(answer.toolCalls).toEqual([{ name: 'widget_delete', args: { id: 'api' }, status: 'success' }]);
    expect(events.map((e) => e.type)).toEqual(['tool_call', 'tool_result', 'text', 'done']);
    // The proposal is used up: another yes finds nothing to confirm and goes to the model.
    script(ollama, [{ content: 'Nothing is waiting for a yes.' }]);
    await askCollect(rig.agent, 'yes', alice, answer.threadId);
    expect(modelCalls()).toBe(before + 1);
    expect(rig.runs.destroy).toBe(1);
  });

  it('still needs the approval the policy requires, and the ticket says who confirmed it', async () => {
    const rig = widgetRig(ollama);
    script(ollama, [
      { toolCalls: [{ name: 'widget_get', arguments: { id: 'api' } }] },
      { toolCalls: [{ name: 'widget_scale', arguments: { id: 'api', replicas: 4 } }] },
      { content: 'Four replicas would absorb the load.' },
    ]);
    const first = await rig.agent.ask({ question: 'why is widget api slow?', principal: alice });
    expect(first.blockedWrites).toHaveLength(1);
    const before = modelCalls();
    const paused = await rig.agent.ask({
      question: '好的，执行吧',
      principal: alice,
      threadId: first.threadId,
    });
    expect(paused.status).toBe('paused');
    expect(rig.runs.write).toBe(0);
    const id = paused.pendingTicket!.id;
    expect(paused.text).toContain('You confirmed the change I proposed: widget_scale id="api" replicas=4.');
    expect(rig.approvals.get(id).plan).toBe(
      `widget_scale id="api" replicas=4\nrequested via: proposed by the Kubemate agent for alice (asked: 'why is widget api slow?') after reading: widget_get api; confirmed by alice ('好的,执行吧')`,
    );
    await rig.pipeline.approve(id, bob);
    expect(rig.runs.write).toBe(1);
    const resumed = await rig.agent.resume(paused.runId, alice);
    expect(resumed.status).toBe('answered');
    expect(resumed.text).toMatch(new RegExp(`^Ticket ${id} was approved by bob and ran`));
    expect(modelCalls()).toBe(before);
    expect(rig.runs.write).toBe(1);
  });

  it('runs nothing on a yes when several changes were proposed, and lists them', async () => {
    const rig = widgetRig(ollama, { policy: 'allow' });
    script(ollama, [
      {
        toolCalls: [
          { name: 'widget_delete', arguments: { id: 'api' } },
          { name: 'widget_scale', arguments: { id: 'db', replicas: 2 } },
        ],
      },
      { content: 'Two changes would help.' },
    ]);
    const first = await rig.agent.ask({ question: 'what should we do about widget api?', principal: alice });
    expect(first.text).not.toContain('reply "yes"');
    const before = modelCalls();
    const answer = await rig.agent.ask({ question: 'yes', principal: alice, threadId: first.threadId });
    expect(modelCalls()).toBe(before);
    expect([rig.runs.destroy, rig.runs.write]).toEqual([0, 0]);
    expect(answer.text).toContain('My last answer proposed 2 changes, so a yes does not say which one');
    expect(answer.text).toContain('1. widget_delete id="api"');
    expect(answer.text).toContain('2. widget_scale id="db" replicas=2');
  });

  it('treats anything more than a yes as a new question for the model and the guard', async () => {
    const rig = widgetRig(ollama, { policy: 'allow' });
    const first = await proposeDelete(rig);
    for (const reply of ['ok thanks', 'yes, but what about widget db?', 'why?']) {
      const before = modelCalls();
      script(ollama, [{ content: 'Noted.' }]);
      await rig.agent.ask({ question: reply, principal: alice, threadId: first.threadId });
      expect(modelCalls(), reply).toBe(before + 1);
    }
    expect(rig.runs.destroy).toBe(0);
  });

  it('knows a yes from everything else', () => {
    for (const yes of [
      'yes',
      'Yes please',
      'go ahead',
      'OK, do it.',
      'sure, thanks',
      'lgtm',
      '确认',
      '好的，执行吧',
      'y',
    ])
      expect(isConfirmation(yes), yes).toBe(true);
    for (const other of [
      'ok',
      'thanks',
      'ok thanks',
      'no',
      'yes but scale db',
      'yesterday',
      'why',
      '',
      '不要',
    ])
      expect(isConfirmation(other), other).toBe(false);
  });
});
