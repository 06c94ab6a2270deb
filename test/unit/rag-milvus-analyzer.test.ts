import { describe, expect, it } from 'vitest';
import { documentTerms, porterStem, queryTermsText } from '../../rag/store/milvus-analyzer.js';

describe('porterStem', () => {
  // Examples from Porter's paper and his reference vocabulary.
  const cases: Record<string, string> = {
    caresses: 'caress', ponies: 'poni', ties: 'ti', caress: 'caress', cats: 'cat',
    feed: 'feed', agreed: 'agre', plastered: 'plaster', bled: 'bled', motoring: 'motor', sing: 'sing',
    conflated: 'conflat', troubled: 'troubl', sized: 'size', hopping: 'hop', tanned: 'tan', falling: 'fall',
    hissing: 'hiss', fizzed: 'fizz', failing: 'fail', filing: 'file', happy: 'happi', sky: 'sky',
    relational: 'relat', conditional: 'condit', rational: 'ration', valenci: 'valenc', hesitanci: 'hesit',
    digitizer: 'digit', conformabli: 'conform', radicalli: 'radic', differentli: 'differ', vileli: 'vile',
    analogousli: 'analog', vietnamization: 'vietnam', predication: 'predic', operator: 'oper',
    feudalism: 'feudal', decisiveness: 'decis', hopefulness: 'hope', callousness: 'callous',
    formaliti: 'formal', sensitiviti: 'sensit', sensibiliti: 'sensibl', triplicate: 'triplic',
    formative: 'form', formalize: 'formal', electriciti: 'electr', electrical: 'electr', hopeful: 'hope',
    goodness: 'good', revival: 'reviv', allowance: 'allow', inference: 'infer', airliner: 'airlin',
    gyroscopic: 'gyroscop', adjustable: 'adjust', defensible: 'defens', irritant: 'irrit',
    replacement: 'replac', adjustment: 'adjust', dependent: 'depend', adoption: 'adopt', homologou: 'homolog',
    communism: 'commun', activate: 'activ', angulariti: 'angular', homologous: 'homolog', effective: 'effect',
    bowdlerize: 'bowdler', probate: 'probat', rate: 'rate', cease: 'ceas', controll: 'control', roll: 'roll',
    generalizations: 'gener', oscillators: 'oscil', yelling: 'yell', syllable: 'syllabl',
  }; // biome-ignore format: a table
  it.each(Object.entries(cases))('%s -> %s', (word, stem) => {
    expect(porterStem(word)).toBe(stem);
  });

  it('gives inflections of ops words one stem', () => {
    expect(new Set(['certificate', 'certificates'].map(porterStem)).size).toBe(1);
    expect(new Set(['restart', 'restarts', 'restarting', 'restarted'].map(porterStem)).size).toBe(1);
    expect(new Set(['expired', 'expiring', 'expires'].map(porterStem)).size).toBe(1);
    expect(porterStem('x509')).toBe('x509');
  });
});

describe('BM25 terms', () => {
  it('index title, headings, labels, CamelCase parts and text, stemmed', () => {
    const terms = documentTerms({
      id: 'a.md#0', source: 'a.md', ordinal: 0, title: 'Pods crashing',
      headingPath: ['Pods crashing', 'Checks'], lineStart: 1, lineEnd: 2,
      text: 'The pod is in CrashLoopBackOff.', tags: ['restarts'], alerts: ['KubePodCrashLooping'],
      services: ['checkout'], namespaces: [],
    }).split(' '); // biome-ignore format: one chunk
    for (const t of [
      'pod',
      'crash',
      'check',
      'restart',
      'kubepodcrashloop',
      'checkout',
      'loop',
      'back',
      'crashloopbackoff',
    ]) {
      expect(terms).toContain(t);
    }
  });

  it('turn a question into stems without stop words or query syntax', () => {
    expect(queryTermsText('Why are my pods restarting in CrashLoopBackOff?')).toBe(
      'pod restart crashloopbackoff crash loop back', // "off" is a stop word
    );
    expect(queryTermsText('x509: certificate "expired" AND NOT *')).toBe('x509 certif expir tl');
    expect(queryTermsText('the of and')).toBe('');
  });
});
