import { describe, expect, it } from 'vitest';
import { ftsQuery, identifierParts, queryTerms } from '../../rag/keyword.js';
import { loadDocument } from '../../rag/loaders/index.js';
import { alertsInText, documentMetadata, namespacesInText, servicesInText } from '../../rag/metadata.js';

const load = (file: string, text: string) => loadDocument(file, Buffer.from(text));
const errorOf = (text: string) => {
  try {
    load('team/bad.md', text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the front matter to be refused');
};

describe('front matter', () => {
  it('accepts lists, comma-separated strings and single values', () => {
    const doc = load(
      'a.md',
      '---\ntitle: Disk\ntags: nodes, disk\nalerts: [KubeNodePressure]\nservices: kubelet\n---\n# Disk\n',
    );
    expect(doc.frontMatter).toEqual({
      title: 'Disk',
      tags: ['nodes', 'disk'],
      alerts: ['KubeNodePressure'],
      services: ['kubelet'],
      namespaces: [],
    });
  });

  it('refuses broken front matter with the file, the line or key, and what was expected', () => {
    expect(errorOf('---\ntitle: x\n# never closed\n')).toBe(
      'team/bad.md: front matter opened with --- on line 1 is never closed with ---',
    );
    expect(errorOf('---\ntitle: [unclosed\n---\n')).toMatch(
      /^team\/bad\.md: front matter is not valid YAML \(line 2\): Flow sequence.*end with a \]$/,
    );
    expect(errorOf('---\n- a\n- b\n---\n')).toBe(
      'team/bad.md: front matter must be a YAML mapping (title:, tags:, alerts:, …)',
    );
    expect(errorOf('---\ntags: {a: 1}\n---\n')).toBe(
      'team/bad.md: invalid front matter: tags: expected a list of strings, e.g. [pods, memory]',
    );
    expect(errorOf('---\ntitle: {x: 1}\n---\n')).toBe(
      'team/bad.md: invalid front matter: title: expected a string',
    );
  });
});

describe('metadata heuristics', () => {
  it('finds alert names by their shape, not class names, pod reasons or event reasons', () => {
    const text =
      'KubePodCrashLooping fires; see also NodeFilesystemSpaceFillingUp and CPUThrottlingHigh. The pod shows CrashLoopBackOff, ' +
      'OOMKilled and ContainerCreating; Java throws OutOfMemoryError; the Job has BackoffLimitExceeded; NodeHasDiskPressure. ' +
      'Route alertname="PaymentsLatencyBudget" and `alert: LedgerLag`.';
    expect(alertsInText(text).sort()).toEqual(
      [
        'CPUThrottlingHigh',
        'KubePodCrashLooping',
        'LedgerLag',
        'NodeFilesystemSpaceFillingUp',
        'PaymentsLatencyBudget',
      ].sort(),
    );
  });

  it('finds namespaces and services named the way commands and queries name them, skipping placeholders', () => {
    const text =
      'kubectl -n payments get pods; kubectl get svc --namespace=ledger-prod; rate(x{namespace="batch"}[5m]); ' +
      'kubectl -n <namespace> logs; -n NAMESPACE; curl svc/api-gateway; service="checkout"; service/<name>';
    expect(namespacesInText(text).sort()).toEqual(['batch', 'ledger-prod', 'payments']);
    expect(servicesInText(text).sort()).toEqual(['api-gateway', 'checkout']);
  });

  it('merges front matter with what the text names, tags lower-cased, alerts once whatever their case', () => {
    const doc = load(
      'r.md',
      '---\ntags: [DNS]\nalerts: [CoreDNSDown]\nnamespaces: [kube-system]\n---\n# R\n\ncorednsdown? No: CoreDNSDown and CoreDNSLatencyHigh, in `-n payments`.\n',
    );
    expect(documentMetadata(doc, 'platform')).toEqual({
      tags: ['dns'],
      alerts: ['CoreDNSDown', 'CoreDNSLatencyHigh'],
      services: [],
      namespaces: ['kube-system', 'payments'],
      team: 'platform',
    });
  });
});

describe('keyword queries', () => {
  it('drops stop words, keeps each term once and quotes every term', () => {
    expect(queryTerms('How do I fix the the DNS?')).toEqual(['fix', 'dns']);
    expect(ftsQuery('x509: certificate "expired"')).toBe('"x509" OR "certificate" OR "expired" OR "tls"');
    expect(ftsQuery('NOT * AND')).toBeNull();
    expect(ftsQuery('NEAR(pods crash)')).toBe('"near" OR "pods" OR "crash"');
    expect(ftsQuery('col:term^2')).toBe('"col" OR "term" OR "2"');
  });

  it('adds the parts of CamelCase identifiers', () => {
    expect(identifierParts('CrashLoopBackOff and OOMKilled, not Kubernetes or DNS')).toEqual([
      'crash',
      'loop',
      'back',
      'off',
      'oom',
      'killed',
    ]);
    expect(ftsQuery('crash loop')).toBe('"crash" OR "loop" OR "crashloopbackoff"');
  });
});
