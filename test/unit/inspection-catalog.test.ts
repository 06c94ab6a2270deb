import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ANALYZER_NAMES } from '../../tools/inspection/analyzer-names.js';
import { ANALYZERS } from '../../tools/inspection/analyzers.js';
import { loadCheckDir, parseCheckFile, SCOPES, shippedChecks } from '../../tools/inspection/check.js';

describe('the shipped check catalog', () => {
  const checks = shippedChecks();

  it('has at least 40 valid checks covering every scope, with unique ids', () => {
    expect(checks.length).toBeGreaterThanOrEqual(40);
    expect(new Set(checks.map((c) => c.id)).size).toBe(checks.length);
    for (const scope of SCOPES)
      expect(checks.filter((c) => c.scope === scope).length, scope).toBeGreaterThan(0);
  });

  it('uses every named analyzer, and every analyzer name has an implementation', () => {
    const used = new Set(checks.flatMap((c) => (c.analyzer ? [c.analyzer.name] : [])));
    expect([...used].sort()).toEqual([...ANALYZER_NAMES].sort());
    expect(Object.keys(ANALYZERS).sort()).toEqual([...ANALYZER_NAMES].sort());
  });

  it('links only runbooks that Kubemate ships', () => {
    const linked = checks.flatMap((c) => (c.runbook ? [c.runbook] : []));
    expect(linked.length).toBeGreaterThan(20);
    for (const link of linked) {
      const m = /^kubemate:\/\/runbooks\/kubemate\/([a-z0-9-]+\.md)$/.exec(link);
      expect(m, link).not.toBeNull();
      expect(existsSync(join('rag', 'runbooks', m![1]!)), link).toBe(true);
    }
  });

  it('gives every check a message, a remediation and either bands or a fixed severity', () => {
    for (const c of checks) {
      expect(c.remediation.length, c.id).toBeGreaterThan(10);
      expect(!!c.bands !== !!c.severity, c.id).toBe(true);
    }
  });
});

describe('validating users’ checks', () => {
  const good = `id: team.queue.depth
title: Queue depth
scope: app
promql: sum by (queue) (rabbitmq_queue_messages)
bands: { op: ">", warning: 1000, critical: 10000 }
subject: "{{queue}}"
message: "queue {{subject}} holds {{value}} messages"
remediation: Add consumers.
`;

  it('accepts a good document', () => {
    const r = parseCheckFile(good, 'mine.yaml');
    expect(r.problems).toEqual([]);
    expect(r.checks[0]).toMatchObject({ id: 'team.queue.depth', unit: 'number', weight: 1 });
  });

  it('says which file, which document and which field is wrong, and how to fix it', () => {
    const bad = `${good}---
id: Team_Bad
title: ok title
scope: hosts
promql: up
message: hi there
remediation: do it
extra: 1
---
id: team.both
title: both kinds
scope: cluster
promql: up
analyzer: { name: pods-pending }
severity: warning
message: hi there
remediation: do it
---
id: team.unknown-analyzer
title: typo
scope: cluster
analyzer: { name: pods-pendin }
severity: warning
message: hi there
remediation: do it
---
id: team.bands
title: backwards bands
scope: host
promql: up
bands: { op: ">", warning: 10, critical: 5 }
message: hi there
remediation: do it
---
id: [unclosed
`;
    const r = parseCheckFile(bad, 'mine.yaml');
    expect(r.checks.map((c) => c.id)).toEqual(['team.queue.depth']);
    const text = r.problems.map((p) => `${p.file}#${p.document} ${p.id ?? ''} ${p.message}`);
    expect(text).toContainEqual(expect.stringMatching(/^mine\.yaml#2 Team_Bad id: must be lower-case words/));
    expect(text).toContainEqual(
      expect.stringMatching(/#2 Team_Bad scope: must be one of host, cluster, app/),
    );
    expect(text).toContainEqual(expect.stringMatching(/#2 Team_Bad \(document\): unknown field\(s\) extra/));
    expect(text).toContainEqual(
      expect.stringMatching(/#3 team\.both promql: give exactly one of promql .* or analyzer/),
    );
    expect(text).toContainEqual(
      expect.stringMatching(
        /#4 team\.unknown-analyzer analyzer\.name: unknown analyzer 'pods-pendin'; did you mean 'pods-pending'\?; known: .*pods-pending/,
      ),
    );
    expect(text).toContainEqual(
      expect.stringMatching(/#5 team\.bands bands: critical must be at least as far/),
    );
    expect(text).toContainEqual(expect.stringMatching(/#6 +YAML syntax/));
  });

  it('refuses an id that the shipped catalog or another file already uses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'checks-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'a.yaml'), good);
    writeFileSync(join(dir, 'sub', 'b.yml'), good.replace('team.queue.depth', 'host.disk.space'));
    writeFileSync(join(dir, 'c.yaml'), good);
    const r = loadCheckDir(dir, shippedChecks());
    expect(r.checks.map((c) => c.id)).toEqual(['team.queue.depth']);
    expect(r.problems.map((p) => `${p.file}: ${p.message}`)).toEqual([
      "c.yaml: duplicate id 'team.queue.depth' (also in a.yaml); give each check its own id",
      "sub/b.yml: duplicate id 'host.disk.space' (also in the shipped catalog); give each check its own id",
    ]);
  });

  it('says so when the folder is missing or holds no checks', () => {
    expect(loadCheckDir('/nonexistent/checks').problems[0]!.message).toBe('no such folder');
    expect(loadCheckDir(mkdtempSync(join(tmpdir(), 'empty-'))).problems[0]!.message).toBe(
      'no .yaml or .yml files',
    );
  });
});
