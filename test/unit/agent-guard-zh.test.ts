// The write guard and the chat commands in Chinese: each operation Kubemate can perform, asked for
// the way an operator writes it, passes; a question, a negation, a report about it, or the opposite
// operation (解除封锁 is not 封锁) does not.
import { describe, expect, it } from 'vitest';
import { writeRequested } from '../../agent/guard.js';
import { parseCommand } from '../../bots/core/commands.js';

const asks = (tool: string, args: Record<string, unknown>, words: string) =>
  writeRequested({ name: tool }, args, [words]).ok;

const deploy = { namespace: 'payments', name: 'api' };
const workload = { namespace: 'payments', kind: 'Deployment', name: 'api' };
const CASES: Array<[string, Record<string, unknown>, string[]]> = [
  [
    'deployment_scale',
    { ...deploy, replicas: 4 },
    [
      '把 payments/api 扩容到 4',
      '将 payments/api 缩容到 4 个副本',
      'payments/api 扩缩容到 4',
      '把 payments/api 调整副本为 4',
    ],
  ],
  [
    'workload_rollout_restart',
    workload,
    ['重启 payments/api', '请滚动重启 payments 里的 api', '重新启动 payments/api'],
  ],
  [
    'workload_rollout_undo',
    workload,
    ['回滚 payments/api', '把 payments/api 回退到上一个版本', '还原 payments/api'],
  ],
  [
    'pods_delete',
    { namespace: 'shop', name: 'web-1' },
    ['删除 shop/web-1', '删掉 shop 里的 web-1', '把 shop/web-1 干掉'],
  ],
  ['nodes_cordon', { name: 'node-1' }, ['封锁 node-1', '隔离节点 node-1', 'node-1 禁止调度']],
  ['nodes_uncordon', { name: 'node-1' }, ['解除封锁 node-1', '恢复调度 node-1', '取消隔离 node-1']],
  ['nodes_drain', { name: 'node-1' }, ['驱逐 node-1 上的 pod', '排空 node-1', '腾空节点 node-1']],
  [
    'resources_apply',
    { namespace: 'payments', kind: 'ConfigMap', name: 'api' },
    ['应用 payments/api 的 ConfigMap', '创建 payments 里的 ConfigMap api'],
  ],
  ['silence_expire', { id: 'abc-123' }, ['取消静默 abc-123', '解除屏蔽 abc-123']],
  [
    'runbooks_source_remove',
    { source: 'old-notes' },
    ['删除 old-notes 这个 runbook 来源', '把 old-notes 移除'],
  ],
  ['runbooks_ingest', { source: 'team-a' }, ['重新导入 team-a 的 runbook', '同步一下 team-a']],
];

describe('the write guard in Chinese', () => {
  for (const [tool, args, requests] of CASES) {
    it(`${tool}: ${requests.join(' / ')}`, () => {
      for (const r of requests) expect([r, asks(tool, args, r)]).toEqual([r, true]);
    });
  }

  it('a question, a negation or a report about the operation is not a request', () => {
    const refused = [
      ['workload_rollout_restart', workload, '为什么 payments/api 一直重启'],
      ['workload_rollout_restart', workload, 'payments/api 要不要重启'],
      ['workload_rollout_restart', workload, '不要重启 payments/api'],
      ['workload_rollout_restart', workload, '先别重启 payments/api'],
      ['deployment_scale', { ...deploy, replicas: 4 }, '暂停扩容 payments/api 到 4'],
      ['deployment_scale', { ...deploy, replicas: 4 }, '写一份 payments/api 扩容到 4 的总结'],
      ['workload_rollout_undo', workload, '如何回滚 payments/api'],
      ['pods_delete', { namespace: 'shop', name: 'web-1' }, 'shop/web-1 能否删除'],
    ] as const;
    for (const [tool, args, words] of refused)
      expect([words, asks(tool, { ...args }, words)]).toEqual([words, false]);
  });

  it('the undoing operation does not ask for the one it undoes', () => {
    expect(asks('nodes_cordon', { name: 'node-1' }, '解除封锁 node-1')).toBe(false);
    expect(asks('nodes_cordon', { name: 'node-1' }, '取消隔离 node-1')).toBe(false);
    expect(asks('nodes_uncordon', { name: 'node-1' }, '封锁 node-1')).toBe(false);
    expect(
      asks(
        'silence_create',
        { matchers: ['alertname=HighLatency'], duration: '2h', comment: 'm' },
        '取消静默 alertname=HighLatency 2h',
      ),
    ).toBe(false);
  });

  it('names still have to match: 扩容 of another deployment is not this one', () => {
    expect(asks('deployment_scale', { ...deploy, replicas: 4 }, '把 payments/api-v2 扩容到 4')).toBe(false);
    expect(asks('deployment_scale', { ...deploy, replicas: 5 }, '把 payments/api 扩容到 4')).toBe(false);
  });
});

describe('chat commands in Chinese', () => {
  it('maps the Chinese command words to the commands', () => {
    expect(parseCommand('帮助')).toEqual({ name: 'help' });
    expect(parseCommand('容器组 payments')).toEqual({ name: 'pods', namespace: 'payments' });
    expect(parseCommand('手册 内存不足 怎么办')).toEqual({ name: 'runbook', query: '内存不足 怎么办' });
    expect(parseCommand('图表 6h up')).toEqual({ name: 'chart', query: 'up', lookback: '6h' });
    expect(parseCommand('待审批')).toEqual({ name: 'approvals' });
    expect(parseCommand('批准 T-42')).toEqual({ name: 'approve', ticket: 'T-42' });
    expect(parseCommand('驳回 T-42 窗口期外')).toEqual({
      name: 'reject',
      ticket: 'T-42',
      reason: '窗口期外',
    });
  });

  it('a sentence that starts with an operation word is a question for the agent, not a command', () => {
    expect(parseCommand('批准 了吗 T-42')).toBeUndefined();
    expect(parseCommand('扩容 payments/api 到 4')).toBeUndefined();
  });
});
