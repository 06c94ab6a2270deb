/**
 * How the write guard reads the user's words: which sentence asks for an action, and whether that
 * action is aimed at the thing the call would change. Plain functions on normalised text
 * (NFKC, lower case); the guard decides with them in guard.ts.
 */

/**
 * How a request for each action reads: base forms only ("restart", not "restarting" or
 * "restarted", which describe rather than ask), plus Chinese. Keyed by the last part of the
 * tool name; other tools fall back to that word itself.
 */
/**
 * An English word on its own, not a piece of a name: "apply" in "apply-a", "ns/apply" or
 * "apply.yaml" names something, it does not ask for anything.
 */
const ALONE_BEFORE = '(?<![a-z0-9._/-])';
const ALONE_AFTER = '(?![a-z0-9_]|[-./][a-z0-9])';
const verbWords = (en: string, zh?: string) =>
  new RegExp(`${ALONE_BEFORE}(?:${en})${ALONE_AFTER}${zh ? `|${zh}` : ''}`);

/**
 * Chinese has no spaces to keep one verb out of another: 封锁 (cordon) is inside 解除封锁 (uncordon)
 * and 静默 (silence) inside 取消静默 (end a silence), so the undoing prefixes are excluded by look-behind.
 */
const UNDOING = '(?<!解除|取消|结束|恢复)';

const VERBS: Record<string, RegExp> = {
  scale: verbWords('scale', '扩容|缩容|扩缩容|伸缩|调整副本|扩到|缩到'),
  restart: verbWords('restart|bounce|reboot', '重启|重新启动|滚动重启'),
  undo: verbWords('undo|roll\\s*back|rollback|revert', '回滚|回退|退回上一版|还原'),
  delete: verbWords('delete|remove|kill|restart', '删除|删掉|删了|移除|干掉|杀掉|重启'),
  cordon: verbWords('cordon', `${UNDOING}封锁|${UNDOING}隔离|禁止调度|停止调度|设为不可调度`),
  uncordon: verbWords('uncordon', '解除封锁|取消封锁|解除隔离|取消隔离|恢复调度|允许调度'),
  drain: verbWords('drain|evacuate', '驱逐|排空|腾空'),
  apply: verbWords('apply|create', '应用|创建|新建'),
  create: verbWords('create|add|silence|mute', `创建|新建|添加|${UNDOING}静默|${UNDOING}屏蔽`),
  expire: verbWords('expire|end|lift|unmute|unsilence', '取消静默|解除静默|结束静默|取消屏蔽|解除屏蔽'),
  remove: verbWords('remove|delete|drop', '删除|删掉|移除|去掉'),
  ingest: verbWords('ingest|re-?ingest|import|reload|re-?sync|sync', '导入|同步|加载|摄取'),
  approve: verbWords('approve', '批准|同意|通过'),
  reject: verbWords('reject|withdraw', '拒绝|驳回|撤回'),
};

export function verbOf(tool: string): { verb: string; pattern: RegExp } {
  const verb = tool.split('_').at(-1) ?? tool;
  const escaped = verb.replace(/[^a-z0-9]/g, '');
  return { verb, pattern: VERBS[verb] ?? verbWords(escaped) };
}

/** A sentence that asks about something rather than for it ("why is api restarting", "should I scale"). */
const QUESTION =
  /^(why|what|how|when|where|who|which|whose|is|are|was|were|does|do|did|should|shall|has|have|had|isn't|aren't|doesn't|didn't)\b|^(为什么|为何|怎么|是不是|是否)/;
/** Chinese puts the question word anywhere: "payments/api 应用为什么失败". */
const QUESTION_ZH = /为什么|为何|怎么|如何|是不是|是否|能否|要不要|该不该|吗|呢/;
/**
 * "don't restart", "do not scale", "never drain", "without deleting": the opposite of a request.
 * A word of a name is not one: "drain node aa-no and …" names node aa-no, it does not say no.
 */
export const NEGATED =
  /(?<![a-z0-9._/-])(not|don't|dont|never|no|without|avoid|won't|wont|can't|cant|cannot|shouldn't|mustn't|wouldn't|didn't|doesn't)\s+(\S+\s+){0,3}$|(不要|别|不用|无需|不必|不|没有|没|勿|禁止|暂停)\s*$/;

/**
 * Words after a verb that show its object is not a change to the cluster but something written
 * about it ("create a short summary of why…"), or a question folded into the sentence.
 */
const ABOUT = new Set([
  'why',
  'how',
  'what',
  'whether',
  'which',
  'who',
  'when',
  'where',
  'about',
  'regarding',
  'explaining',
  'describing',
  'summarising',
  'summarizing',
  'summary',
  'summaries',
  'report',
  'reports',
  'note',
  'notes',
  'overview',
  'explanation',
  'description',
  'analysis',
  'list',
  'table',
  'chart',
  'graph',
  'plan',
  'document',
  'doc',
  'docs',
  'draft',
  'email',
  'message',
  'postmortem',
  'post-mortem',
  'timeline',
  'query',
  'diagram',
  'writeup',
  'write-up',
  'story',
  'joke',
  'poem',
]);
/** The same for Chinese, anywhere in the sentence: 总结 (summary), 报告 (report), 分析 (analysis)… */
const ABOUT_ZH = /总结|摘要|报告|说明|解释|分析|描述|概述|文档|草稿|邮件|复盘|时间线|图表/;
/** After a word that is not the object, these start a phrase about something else ("a writeup on api"). */
const PREPOSITIONS = new Set(['of', 'on', 'for', 'in', 'from', 'with', 'into', 'at', 'to', 'by']);
/** Words that say nothing about the object: "restart all of them now, please". */
const FILLER = new Set([
  'the',
  'a',
  'an',
  'please',
  'now',
  'again',
  'asap',
  'me',
  'us',
  'right',
  'away',
  'then',
  'also',
  'quickly',
  'immediately',
  'kindly',
  'too',
  'just',
  'all',
  'both',
  'every',
  'each',
  'one',
  'back',
  'up',
  'down',
  'out',
  'over',
]);
/** Words that point at something already named: "payments/api is stuck. Restart it". */
const POINTERS = new Set(['it', 'them', 'this', 'that', 'these', 'those', 'its', 'their']);
const POINTERS_ZH = /它|它们|这个|那个|这些|那些|该|此/;
/** Nouns that name what a Kubemate write changes: "delete the stuck pod", "apply the manifest". */
const RESOURCE_NOUNS =
  /^(pods?|deployments?|deploy|statefulsets?|sts|daemonsets?|ds|nodes?|replicas?|workloads?|manifests?|objects?|resources?|configmaps?|cm|secrets?|services?|svc|tickets?|silences?|rollouts?|changes?)$/;

/** How far after the verb its object may start, in words. */
const OBJECT_WINDOW = 6;

/** Identifier-like tokens: `payments/api-7d9f` gives `payments` and `api-7d9f`. */
export function tokenList(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[^a-z0-9._:-]+/)) {
    const t = raw.replace(/^[.:-]+|[.:-]+$/g, '');
    if (t) out.push(t);
  }
  return out;
}

function sentences(text: string): string[] {
  return text
    .split(/[.?!\n。？！;；]+(?=\s|$|\P{ASCII})|[?!\n。？！;；]+/u)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Whether the words after an English verb make a call's target its object. `isTarget` tells a
 * word the call changes; with none (only the action is known) any object that is not something
 * written about the cluster will do.
 */
function objectOf(after: string, before: string, isTarget?: (token: string) => boolean): boolean {
  const words = after.split(/\s+/).filter(Boolean).slice(0, OBJECT_WINDOW);
  let content = false;
  for (const word of words) {
    const parts = tokenList(word);
    if (parts.length === 0) continue;
    if (isTarget && parts.some((p) => isTarget(p))) return true;
    if (parts.some((p) => ABOUT.has(p))) return false;
    if (parts.some((p) => POINTERS.has(p) || RESOURCE_NOUNS.test(p))) return true;
    if (parts.every((p) => FILLER.has(p))) continue;
    if (isTarget && content && parts.some((p) => PREPOSITIONS.has(p))) return false;
    if (!parts.every((p) => PREPOSITIONS.has(p))) content = true;
  }
  if (!isTarget) return true;
  // Nothing after the verb names its object ("payments/api needs a restart"): the target may
  // come first in the sentence, as long as nothing else took the object's place.
  return !content && tokenList(before).some((p) => isTarget(p));
}

/**
 * Whether a sentence of the user's words asks for the action `pattern` describes, aimed at a
 * target: not in a question, not negated, and (when `isTarget` is given) with the target, or a
 * word pointing back at it, as the verb's object. Chinese word order varies ("把 payments/api
 * 扩容到 4"), so there the target may be anywhere in the sentence.
 */
export function asks(pattern: RegExp, text: string, isTarget?: (token: string) => boolean): boolean {
  for (const sentence of sentences(text)) {
    if (QUESTION.test(sentence)) continue;
    const global = new RegExp(pattern.source, 'g');
    for (const m of sentence.matchAll(global)) {
      const before = sentence.slice(0, m.index);
      if (NEGATED.test(before)) continue;
      const after = sentence.slice(m.index + m[0].length);
      if (/^\P{ASCII}/u.test(m[0])) {
        if (QUESTION_ZH.test(sentence) || ABOUT_ZH.test(sentence)) continue;
        if (!isTarget || POINTERS_ZH.test(after) || tokenList(sentence).some((p) => isTarget(p))) return true;
        continue;
      }
      if (objectOf(after, before, isTarget)) return true;
    }
  }
  return false;
}
