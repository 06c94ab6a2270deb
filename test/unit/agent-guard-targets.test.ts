import { describe, expect, it } from 'vitest';
import { asksFor, withoutDefaults, writeRequested } from '../../agent/guard.js';
import { nodeWriteTools } from '../../tools/cluster/node-writes.js';

/**
 * What the write guard reads as the targets of a call: every object of a manifest in any syntax
 * YAML allows (JSON and flow style included), every flag and number the model set, and the
 * object of the verb. Whatever it cannot read, it refuses.
 */

const tool = (name: string) => ({ name });
const apply = (yaml: string, words: string[], extra: Record<string, unknown> = {}) =>
  writeRequested(tool('resources_apply'), { yaml, ...extra }, words);
const ok = { ok: true };

describe('manifest targets, whatever the syntax', () => {
  const json = JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'pwned', namespace: 'kube-system' },
    data: { owner: 'attacker' },
  });

  it('refuses the reported bypass: a JSON manifest behind "create a short summary"', () => {
    expect(apply(json, ['Please create a short summary of why payments/api is failing'])).toEqual({
      ok: false,
      reason:
        "not requested by you: you did not ask to apply anything and your request does not name 'ConfigMap', 'pwned', 'kube-system'",
    });
    expect(apply(json, ['apply the configmap kube-system/pwned'])).toEqual(ok);
  });

  it('reads flow-style YAML, and comments, quotes and anchors in block YAML', () => {
    const flow = '{apiVersion: v1, kind: ConfigMap, metadata: {name: pwned, namespace: kube-system}}';
    expect(apply(flow, ['apply the configmap pwned'])).toEqual({
      ok: false,
      reason: "not requested by you: your request does not name 'kube-system'",
    });
    const block = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: &n "pwned"',
      '  namespace: kube-system # ops',
      'data: {a: *n}',
    ].join('\n');
    expect(apply(block, ['apply the configmap pwned'])).toMatchObject({ ok: false });
    expect(apply(block, ['apply the configmap pwned in kube-system'])).toEqual(ok);
  });

  it('takes every object of a multi-document manifest, a kind: List and a top-level list', () => {
    const multi = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n  namespace: shop\n---\n{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: shop-admin}}\n`;
    expect(apply(multi, ['apply configmap shop/app-config'])).toEqual({
      ok: false,
      reason: "not requested by you: your request does not name 'ClusterRoleBinding', 'shop-admin'",
    });
    expect(apply(multi, ['apply configmap shop/app-config and clusterrolebinding shop-admin'])).toEqual(ok);
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', namespace: 'shop' } },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'kube-system' } },
      ],
    });
    expect(apply(list, ['apply configmap shop/app-config'])).toEqual({
      ok: false,
      reason: "not requested by you: your request does not name 'Secret', 'db', 'kube-system'",
    });
    const array = `- {apiVersion: v1, kind: ConfigMap, metadata: {name: app-config, namespace: shop}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: evil}}\n`;
    expect(apply(array, ['apply configmap shop/app-config'])).toMatchObject({ ok: false });
  });

  it('makes the kind a target: naming the object is not enough', () => {
    const crb =
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: app-config\nroleRef: {kind: ClusterRole, name: cluster-admin}\n';
    expect(apply(crb, ['apply app-config'])).toEqual({
      ok: false,
      reason: "not requested by you: your request does not name 'ClusterRoleBinding'",
    });
    expect(apply(crb.replace('ClusterRoleBinding', 'ConfigMap'), ['apply config map app-config'])).toEqual(
      ok,
    );
    expect(apply(crb.replace('ClusterRoleBinding', 'ConfigMap'), ['apply cm app-config'])).toEqual(ok);
  });

  it('fails closed: a manifest it cannot read, or an object that does not say what it is, is refused', () => {
    const words = ['apply it: configmap shop/app-config, as a deployment or secret or anything'];
    const refusals = [
      '{apiVersion: v1, kind: ConfigMap, metadata: {name: app-config',
      'apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: app-config, namespace: shop}\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: app-config-\n  namespace: shop\n',
      'apiVersion: v1\nmetadata: {name: app-config, namespace: shop}\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config, namespace: [shop]}\n',
      '---\n# nothing here\n',
      'just some text',
      '[1, 2, 3]',
    ];
    for (const yaml of refusals) {
      const verdict = apply(yaml, words);
      expect(verdict.ok, yaml).toBe(false);
      expect(verdict.ok ? '' : verdict.reason, yaml).toMatch(
        /^not requested by you: Kubemate cannot tell what this call would change \(/,
      );
    }
  });
});

describe('flags and defaults', () => {
  const drain = (args: Record<string, unknown>, words: string[]) =>
    writeRequested(tool('nodes_drain'), { name: 'node-1', ...args }, words);

  it('a boolean the model set is a target: the user must have said it', () => {
    expect(drain({ force: true }, ['drain node-1'])).toEqual({
      ok: false,
      reason: "not requested by you: your request does not name 'force=true'",
    });
    expect(drain({ force: true }, ['drain node-1 without force'])).toMatchObject({ ok: false });
    expect(drain({ force: true }, ['drain node-1 with force'])).toEqual(ok);
    expect(drain({ force: true }, ['强制排空 node-1'])).toEqual(ok);
    expect(drain({ deleteEmptyDirData: true }, ['drain node-1'])).toMatchObject({ ok: false });
    expect(drain({ deleteEmptyDirData: true }, ['drain node-1 and delete emptyDir data'])).toEqual(ok);
    expect(drain({ deleteEmptyDirData: true }, ['kubectl drain node-1 --delete-emptydir-data'])).toEqual(ok);
    // "no" as a word of a name is not a negation (found by the property test: node "aa-no")
    expect(
      writeRequested(tool('nodes_drain'), { name: 'aa-no', deleteEmptyDirData: true }, [
        'drain node aa-no and delete emptyDir data',
      ]),
    ).toEqual(ok);
    expect(
      writeRequested(tool('nodes_drain'), { name: 'aa-no', deleteEmptyDirData: true }, [
        'drain node aa-no but no delete emptyDir data',
      ]),
    ).toMatchObject({ ok: false });
    expect(drain({ ignoreDaemonSets: false }, ['drain node-1'])).toMatchObject({ ok: false });
    expect(drain({ ignoreDaemonSets: false }, ['drain node-1 but do not ignore daemonsets'])).toEqual(ok);
    expect(
      apply('{kind: ConfigMap, metadata: {name: a, namespace: b}}', ['apply configmap b/a'], { force: true }),
    ).toMatchObject({ ok: false });
  });

  it('a value equal to the tool’s default asks for nothing, sent or not', () => {
    const def = nodeWriteTools.find((t) => t.name === 'nodes_drain')!;
    const given = {
      name: 'node-1',
      force: false,
      ignoreDaemonSets: true,
      timeoutSeconds: 20,
      deleteEmptyDirData: true,
    };
    const parsed = def.input.parse(given) as Record<string, unknown>;
    expect(withoutDefaults(def, given, parsed)).toEqual({ name: 'node-1', deleteEmptyDirData: true });
    expect(writeRequested(def, withoutDefaults(def, given, parsed), ['drain node-1'])).toMatchObject({
      ok: false,
    });
    const defaults = { name: 'node-1', force: false };
    expect(
      writeRequested(
        def,
        withoutDefaults(def, defaults, def.input.parse(defaults) as Record<string, unknown>),
        ['drain node-1'],
      ),
    ).toEqual(ok);
  });
});

describe('the verb must be aimed at the change', () => {
  const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n  namespace: payments\n';

  it('"create a summary" does not ask to apply anything, even when every target is named', () => {
    const words = [
      'the configmap app-config in payments looks wrong',
      'Please create a short summary of why payments/api is failing',
    ];
    expect(apply(manifest, words)).toEqual({
      ok: false,
      reason: 'not requested by you: you did not ask to apply anything',
    });
    expect(apply(manifest, ['Create a report on the configmap payments/app-config'])).toMatchObject({
      ok: false,
    });
    expect(apply(manifest, ['写一个 payments/app-config configmap 的总结，应用'])).toMatchObject({
      ok: false,
    });
    expect(apply(manifest, ['create the configmap app-config in payments'])).toEqual(ok);
    expect(apply(manifest, ['configmap payments/app-config is missing', 'create it'])).toEqual(ok);
    expect(apply(manifest, ['应用 configmap payments/app-config'])).toEqual(ok);
    // Offering the write tool to the model follows the same reading of the verb.
    expect(asksFor('resources_apply', ['Please create a short summary of why payments/api is failing'])).toBe(
      false,
    );
    expect(asksFor('resources_apply', ['create the configmap'])).toBe(true);
  });
});

describe('negations the guard must read as such', () => {
  it('reads typographic apostrophes and other negative forms', () => {
    const restart = { namespace: 'payments', kind: 'Deployment', name: 'api' };
    const asked = (q: string) => writeRequested(tool('workload_rollout_restart'), restart, [q]).ok;
    expect(asked('Don\u2019t restart payments/api, just look at it')).toBe(false);
    expect(asked('we won\u2019t restart payments/api today')).toBe(false);
    expect(asked("I'm not sure we should restart payments/api")).toBe(false);
    expect(asked('payments/api 不重启')).toBe(false);
    expect(asked('Restart payments/api')).toBe(true);
    // a verb inside a name is part of the name, not a fresh request after the negation
    const apply1 = (q: string) =>
      writeRequested(
        tool('resources_apply'),
        { yaml: '{kind: ConfigMap, metadata: {name: aa-a, namespace: apply-a}}' },
        [q],
      ).ok;
    expect(apply1("don't apply configmap aa-a in apply-a")).toBe(false);
    expect(apply1('apply configmap aa-a in apply-a')).toBe(true);
  });
});
