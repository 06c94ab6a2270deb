import type { Principal } from '../policies/types.js';
import { backendConfigured } from '../tools/clients/backends.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import type { ToolDef } from '../tools/core/types.js';
import { asksFor } from './guard.js';
import type { ToolSpec } from './providers/types.js';

/**
 * JSON Schema details the model does not need: the pipeline validates every call anyway and its
 * errors say what was wrong (bounds, patterns, defaults), so they only cost prompt tokens.
 */
const DROP = new Set([
  '$schema',
  'pattern',
  'maxLength',
  'minLength',
  'additionalProperties',
  'default',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
  'propertyNames',
]);

/** Words a parameter description may consist of and still say no more than the parameter's name. */
const RESTATES = new Set([
  'name',
  'namespace',
  'pod',
  'object',
  'workload',
  'kind',
  'container',
  'kubernetes',
  'involved',
  'of',
  'the',
  'a',
  'an',
]);

function nameWords(key: string): Set<string> {
  return new Set(key.split(/(?=[A-Z])|_/).map((w) => w.toLowerCase()));
}

/** "Pod name" for `pod`, "Namespace of the pod" for `namespace`: nothing the name does not say. */
function restatesName(key: string, description: string): boolean {
  const own = nameWords(key);
  const desc = description.toLowerCase().match(/[a-z]+/g) ?? [];
  return desc.length <= 5 && desc.every((w) => own.has(w) || RESTATES.has(w));
}

/** The first sentence ("e.g." does not end one), bounded: cut at a top-level comma or colon when longer. */
export function firstSentence(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  let depth = 0;
  let end = flat.length;
  let cut = -1;
  for (let i = 0; i < flat.length; i++) {
    const c = flat[i]!;
    const spaced = i + 1 === flat.length || flat[i + 1] === ' ';
    if (c === '(' || c === '[') depth++;
    else if ((c === ')' || c === ']') && depth > 0) depth--;
    else if (depth > 0 || !spaced) continue;
    else if ('.!?'.includes(c) && !/\b(e\.g|i\.e|etc|vs)$/.test(flat.slice(0, i))) {
      end = i + 1;
      break;
    } else if (i < max && ',:;'.includes(c)) cut = i;
  }
  const sentence = flat.slice(0, end);
  if (sentence.length <= max) return sentence;
  const head = cut > max / 3 ? sentence.slice(0, cut) : sentence.slice(0, sentence.lastIndexOf(' ', max));
  return `${head}…`;
}

const TOOL_DESCRIPTION = 160;
const PARAM_DESCRIPTION = 50;

/**
 * A tool's input schema as the model sees it: names, types, enums, required and short parameter
 * descriptions. Every tool takes `cluster`; the system prompt explains it once, so it is left out
 * here (the model may still send it, and the pipeline validates it).
 */
function compact(schema: unknown, key?: string): unknown {
  if (Array.isArray(schema)) return schema.map((s) => compact(s));
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
    if (DROP.has(k)) continue;
    if (k === 'description' && typeof v === 'string') {
      // Parameter examples ("…, e.g. app=api") show syntax every model knows; the rest may go too.
      // Long ones keep their main clause: "Lines from the end (default 200, max 5000)" → "Lines from the end".
      let text = key ? v.replace(/,? e\.g\..*$/s, '') : v;
      if (text.length > PARAM_DESCRIPTION) text = text.replace(/(;| \().*$/s, '');
      if (!key || !restatesName(key, text)) out[k] = firstSentence(text, PARAM_DESCRIPTION + 20);
      continue;
    }
    if (k === 'properties' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(
        Object.entries(v as object)
          .filter(([p]) => p !== 'cluster')
          .map(([p, s]) => [p, compact(s, p)]),
      );
      continue;
    }
    out[k] = compact(v);
  }
  return out;
}

const specCache = new WeakMap<ToolDef, ToolSpec>();

function specOf(pipeline: ToolPipeline, def: ToolDef): ToolSpec {
  let spec = specCache.get(def);
  if (!spec) {
    spec = {
      name: def.name,
      description: firstSentence(def.description, TOOL_DESCRIPTION),
      parameters: compact(pipeline.registry.jsonSchemas(def.name).input) as Record<string, unknown>,
    };
    specCache.set(def, spec);
  }
  return spec;
}

/**
 * Offered in full to every question (when the asker may use them): the first look at any
 * incident. events_list is not among them: namespace_summary, pods_get and workload_describe
 * show the relevant events already; it is offered when the question is about events, and
 * otherwise named in the catalog like every other read.
 */
const CORE = new Set(['namespace_summary', 'pods_list', 'pods_get', 'workload_describe', 'pods_logs']);
/**
 * Other read tools offered in full per question: the few whose name and description best match
 * it, and only on a clear match (a word of the tool's name, or several of its description).
 */
const RELEVANT = 3;
const MIN_RELEVANCE = 3;
/** Optional arguments named per tool in the catalog line (the first ones, usually the main filters). */
const CATALOG_OPTIONAL = 2;
const STOP = new Set(
  'the and for with what why how are was were this that does did have has from into when where which who its our your you can could would should please about show list tell give there their them they any all not but'.split(
    ' ',
  ),
);

function words(text: string): string[] {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[a-z][a-z0-9]{2,}/g) ?? []
  ).filter((w) => !STOP.has(w));
}

/** Prefix overlap (latency ~ latencies, metric ~ metrics), names weigh more than descriptions. */
function relevance(def: ToolDef, question: string[]): number {
  const name = def.name.split('_');
  const desc = new Set(words(`${def.title} ${def.description}`));
  const near = (a: string, b: string) => a.slice(0, 5) === b.slice(0, 5);
  let score = 0;
  for (const q of question) {
    if (name.some((n) => near(n, q))) score += 3;
    else if ([...desc].some((d) => near(d, q))) score += 1;
  }
  return score;
}

/**
 * Toolsets that need an observability backend or a knowledge base. With none configured every
 * call of theirs fails with "no Prometheus is configured…", so they are neither offered nor
 * listed (a call by name still goes through the pipeline and says how to configure one).
 */
function reachable(pipeline: ToolPipeline, def: ToolDef): boolean {
  const kinds = pipeline.registry.backendsOf(def.name);
  return kinds.length === 0 || kinds.some((kind) => backendConfigured(pipeline.backends, kind));
}

export interface OfferedTools {
  /** Full specs given to the model. */
  specs: ToolSpec[];
  /** One line naming the other tools the asker may call, or '' when there are none. */
  catalog: string;
}

/**
 * The tools offered to the model for one question, out of those the principal may ever call (the
 * same filter as MCP tools/list). Reads: a core set plus the few that best match the question; the
 * rest are named in a catalog line (the model may call them by name; the pipeline validates the
 * arguments and says what is missing). Writes: only those whose action the user's own words ask
 * for; the write guard would refuse the others anyway, and not offering them gives injected text
 * nothing to aim at.
 */
export function offeredTools(
  pipeline: ToolPipeline,
  principal: Principal,
  userWords: string[],
): OfferedTools {
  const visible = pipeline.visibleTools(principal).filter((t) => reachable(pipeline, t));
  const question = words(userWords.join(' '));
  const reads = visible.filter((t) => t.annotations.readOnlyHint);
  const core = reads.filter((t) => CORE.has(t.name));
  const ranked = reads
    .filter((t) => !CORE.has(t.name))
    .map((t) => ({ t, score: relevance(t, question) }))
    .filter((r) => r.score >= MIN_RELEVANCE)
    .sort((a, b) => b.score - a.score)
    .slice(0, RELEVANT)
    .map((r) => r.t);
  const writes = visible.filter((t) => !t.annotations.readOnlyHint && asksFor(t.name, userWords));
  const offered = new Set([...core, ...ranked, ...writes]);
  const rest = reads.filter((t) => !offered.has(t));
  const catalog = rest.length
    ? `Other read-only tools you may call by name (the arguments are checked and errors say what is missing): ${rest
        .map((t) => {
          const props = pipeline.registry.jsonSchemas(t.name).input as {
            properties?: Record<string, unknown>;
            required?: string[];
          };
          const names = Object.keys(props.properties ?? {}).filter((k) => k !== 'cluster');
          const required = names.filter((k) => props.required?.includes(k));
          const optional = names.filter((k) => !props.required?.includes(k)).map((k) => `${k}?`);
          const args = [...required, ...optional.slice(0, CATALOG_OPTIONAL)];
          if (optional.length > CATALOG_OPTIONAL) args.push('…');
          return `${t.name}(${args.join(', ')})`;
        })
        .join(', ')}.`
    : '';
  return { specs: visible.filter((t) => offered.has(t)).map((t) => specOf(pipeline, t)), catalog };
}
