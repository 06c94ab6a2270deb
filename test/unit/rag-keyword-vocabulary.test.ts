// Operations vocabulary in keyword queries: what people type reaches the words runbooks use.
import { describe, expect, it } from 'vitest';
import { ftsQuery, searchTerms, vocabularyTerms } from '../../rag/keyword.js';
import { queryTermsText } from '../../rag/store/milvus-analyzer.js';

describe('operations vocabulary', () => {
  it.each([
    ['why is my pod crashlooping', 'crashloopbackoff'],
    ['crash looping after deploy', 'crashloopbackoff'],
    ['container got oom killed', 'oomkilled'],
    ['terminated with exit code 137', 'oomkilled'],
    ['the cert on the gateway expired', 'certificate'],
    ['x509 error from kubectl', 'certificate'],
    ['hpa shows unknown', 'horizontalpodautoscaler'],
    ['pvc stuck pending', 'persistentvolumeclaim'],
    ['updated the cm but nothing changed', 'configmap'],
    ['node is not ready since the upgrade', 'notready'],
    ['sts pod-2 never updates', 'statefulset'],
  ])('%s → %s', (question, term) => {
    expect(vocabularyTerms(question)).toContain(term);
    expect(searchTerms(question)).toContain(term);
    // Milvus gets the same terms, stemmed as it indexes them.
    expect(queryTermsText(question).split(' ')).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^${term.slice(0, 6)}`))]),
    );
  });

  it('adds nothing to questions without such words, and never query syntax', () => {
    expect(vocabularyTerms('how do I read the previous logs of a container')).toEqual([]);
    expect(vocabularyTerms('out of memory on the node')).toEqual([]);
    expect(ftsQuery('crashloop" OR NEAR(')).toBe(
      '"crashloop" OR "near" OR "crashloopbackoff" OR "crash" OR "loop"',
    );
  });
});
