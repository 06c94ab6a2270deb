import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { writeRequested } from '../../agent/guard.js';

/**
 * Property: the write guard refuses every write whose targets the user did not state (the kind,
 * name and namespace of every object of a manifest, whatever its syntax; every name, namespace,
 * node; every boolean set to other than its default; every number), and it does not refuse
 * everything: an imperative sentence naming all of them is allowed.
 */

// ── what a call changes ───────────────────────────────────────────────────────────────────────

/** One thing the call changes, and how the user says it. */
interface Said {
  /** The phrase in the user's sentence. */
  phrase: string;
  /** The target it states, for omission ("ns-ab", "ConfigMap", "force"). */
  target: string;
}

interface Call {
  tool: string;
  args: Record<string, unknown>;
  verb: { en: string; zh: string };
  /** The user's words for the call, in order; each may be left out. */
  said: Said[];
  /** Every target of the call (each must be stated). */
  targets: string[];
}

const KINDS = [
  'ConfigMap',
  'Secret',
  'Deployment',
  'ServiceAccount',
  'Service',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'NetworkPolicy',
  'CronJob',
  'Namespace',
];
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'Namespace']);

/** Names that cannot be mistaken for a word of the sentence: a hyphen makes each one token. */
const ident = fc.stringMatching(/^[a-z]{2,6}-[a-z0-9]{1,4}$/);

interface Obj {
  kind: string;
  name: string;
  namespace?: string;
}

const objects = fc
  .tuple(
    fc.uniqueArray(ident, { minLength: 6, maxLength: 6 }),
    fc.array(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 3 }),
    fc.array(fc.nat(2), { minLength: 3, maxLength: 3 }),
  )
  .map(([ids, kinds, nsPick]): Obj[] =>
    kinds.map((kind, i) => ({
      kind,
      name: ids[i]!,
      ...(CLUSTER_SCOPED.has(kind) ? {} : { namespace: ids[3 + nsPick[i]!]! }),
    })),
  );

const doc = (o: Obj) => ({
  apiVersion: 'v1',
  kind: o.kind,
  metadata: { name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) },
  data: { owner: 'someone' },
});

type Syntax = 'block' | 'flow' | 'json' | 'multi' | 'list';

/** The same objects as YAML in block or flow style, JSON, several documents, or a kind: List. */
function render(objs: Obj[], syntax: Syntax): string {
  switch (syntax) {
    case 'block':
      return objs.map((o) => stringify(doc(o))).join('---\n');
    case 'flow':
      return objs.map((o) => stringify(doc(o), { collectionStyle: 'flow' })).join('---\n');
    case 'json':
      return objs.length === 1 ? JSON.stringify(doc(objs[0]!)) : JSON.stringify(objs.map(doc));
    case 'multi':
      return objs
        .map((o, i) => (i % 2 ? JSON.stringify(doc(o)) : stringify(doc(o), { collectionStyle: 'flow' })))
        .join('\n---\n');
    case 'list':
      return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs.map(doc) });
  }
}

const apply = fc
  .record({
    objs: objects,
    syntax: fc.constantFrom<Syntax>('block', 'flow', 'json', 'multi', 'list'),
    force: fc.boolean(),
  })
  .map(({ objs, syntax, force }): Call => {
    const said: Said[] = [];
    for (const o of objs) {
      said.push({ phrase: o.kind.toLowerCase(), target: o.kind });
      said.push({ phrase: o.name, target: o.name });
      if (o.namespace) said.push({ phrase: `in ${o.namespace}`, target: o.namespace });
    }
    if (force) said.push({ phrase: 'with force', target: 'force' });
    return {
      tool: 'resources_apply',
      args: { yaml: render(objs, syntax), ...(force ? { force: true } : {}) },
      verb: { en: 'apply', zh: '应用' },
      said,
      targets: [...new Set(said.map((s) => s.target))],
    };
  });

const drain = fc
  .record({
    node: ident,
    force: fc.boolean(),
    deleteEmptyDirData: fc.boolean(),
    keepDaemonSets: fc.boolean(),
  })
  .map(({ node, force, deleteEmptyDirData, keepDaemonSets }): Call => {
    const said: Said[] = [{ phrase: `node ${node}`, target: node }];
    const args: Record<string, unknown> = { name: node };
    if (force) {
      args.force = true;
      said.push({ phrase: 'with force', target: 'force' });
    }
    if (deleteEmptyDirData) {
      args.deleteEmptyDirData = true;
      said.push({ phrase: 'and delete emptyDir data', target: 'deleteEmptyDirData' });
    }
    if (keepDaemonSets) {
      args.ignoreDaemonSets = false;
      said.push({ phrase: 'and do not ignore daemonsets', target: 'ignoreDaemonSets' });
    }
    return {
      tool: 'nodes_drain',
      args,
      verb: { en: 'drain', zh: '排空' },
      said,
      targets: said.map((s) => s.target),
    };
  });

const scale = fc
  .record({
    ids: fc.uniqueArray(ident, { minLength: 2, maxLength: 2 }),
    replicas: fc.integer({ min: 0, max: 1000 }),
  })
  .map(({ ids, replicas }): Call => {
    const [ns, name] = ids as [string, string];
    return {
      tool: 'deployment_scale',
      args: { namespace: ns, name, replicas },
      verb: { en: 'scale', zh: '扩容' },
      said: [
        { phrase: name, target: name },
        { phrase: `in ${ns}`, target: ns },
        { phrase: `to ${replicas}`, target: String(replicas) },
      ],
      targets: [name, ns, String(replicas)],
    };
  });

const deletePod = fc
  .record({
    ids: fc.uniqueArray(ident, { minLength: 2, maxLength: 2 }),
    grace: fc.integer({ min: 0, max: 86400 }),
  })
  .map(({ ids, grace }): Call => {
    const [ns, name] = ids as [string, string];
    return {
      tool: 'pods_delete',
      args: { namespace: ns, name, gracePeriodSeconds: grace },
      verb: { en: 'delete', zh: '删除' },
      said: [
        { phrase: `pod ${name}`, target: name },
        { phrase: `(namespace ${ns})`, target: ns },
        { phrase: `with a grace period of ${grace} seconds`, target: String(grace) },
      ],
      targets: [name, ns, String(grace)],
    };
  });

const calls = fc.oneof(apply, drain, scale, deletePod);

// ── how the user says it ─────────────────────────────────────────────────────────────────────

const OPENERS = ['', 'please ', 'can you ', 'ok, ', 'go ahead and ', 'kubemate, '];
const CLOSERS = ['', ' now', ' please', ', thanks'];
const CONTEXT = ['', 'the checkout page is slow. ', 'we are in an incident. ', '看一下集群。'];

interface Phrasing {
  zh: boolean;
  opener: string;
  closer: string;
  context: string;
}

const phrasing = fc.record({
  zh: fc.boolean(),
  opener: fc.constantFrom(...OPENERS),
  closer: fc.constantFrom(...CLOSERS),
  context: fc.constantFrom(...CONTEXT),
});

/** An imperative sentence asking for the call, with the phrases kept. */
function sentence(call: Call, kept: Said[], p: Phrasing): string {
  const body = kept.map((s) => s.phrase).join(' ');
  if (p.zh) {
    const zhBody = body.replace('with force', '强制').replace(/\band /g, '');
    return `${p.context}请${call.verb.zh} ${zhBody}`;
  }
  return `${p.context}${p.opener}${call.verb.en} ${body}${p.closer}`;
}

const run = (call: Call, words: string[]) => writeRequested({ name: call.tool }, call.args, words);

describe('the write guard, property-based', () => {
  it('allows a write when an imperative sentence states every target', () => {
    fc.assert(
      fc.property(calls, phrasing, (call, p) => {
        const words = [sentence(call, call.said, p)];
        expect(run(call, words), words[0]).toEqual({ ok: true });
      }),
      { numRuns: 400 },
    );
  }, 60_000);

  it('refuses a write when the user left out any one target', () => {
    fc.assert(
      fc.property(calls, phrasing, fc.nat(), (call, p, pick) => {
        const omitted = call.targets[pick % call.targets.length]!;
        const words = [
          sentence(
            call,
            call.said.filter((s) => s.target !== omitted),
            p,
          ),
        ];
        const verdict = run(call, words);
        expect(verdict.ok, `${words[0]} (omitted ${omitted})`).toBe(false);
      }),
      { numRuns: 600 },
    );
  }, 60_000);

  it('refuses a flag the user said the other way round', () => {
    fc.assert(
      fc.property(drain, phrasing, (call, p) => {
        const flipped = call.said.map((s) =>
          s.target === 'force'
            ? { ...s, phrase: 'without force' }
            : s.target === 'deleteEmptyDirData'
              ? { ...s, phrase: 'and do not delete emptyDir data' }
              : s.target === 'ignoreDaemonSets'
                ? { ...s, phrase: 'and ignore daemonsets' }
                : s,
        );
        fc.pre(call.said.length > 1);
        const words = [sentence(call, flipped, { ...p, zh: false })];
        expect(run(call, words).ok, words[0]).toBe(false);
      }),
      { numRuns: 200 },
    );
  }, 60_000);

  it('refuses when every target is named but only in a question, a negation or something written about them', () => {
    const frames = [
      (s: string) => `why did ${s} fail?`,
      (s: string) => `should I ${s}?`,
      (s: string) => `don't ${s}`,
      (s: string) => `please create a short summary of ${s}`,
      (s: string) => `为什么 ${s}？`,
    ];
    fc.assert(
      fc.property(calls, fc.constantFrom(...frames), (call, frame) => {
        const targets = call.said.map((s) => s.phrase).join(' ');
        const words = [frame(frame === frames[3] ? targets : `${call.verb.en} ${targets}`)];
        expect(run(call, words).ok, words[0]).toBe(false);
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});
