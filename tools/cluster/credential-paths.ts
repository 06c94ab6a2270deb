import { argvMasks, isCredentialName, isSecretKey } from '../core/redact.js';
import type { FieldChange } from './object-diff.js';

/**
 * Which changes of a plan or write result carry a credential, whatever the kind of object: a
 * secret-named field (`data.DB_PASSWORD`, `spec.password`), an env entry or HTTP header named
 * like a credential (`env[DB_PASSWORD].value`), or a command-line argument that is a secret by
 * position (`args[3]` after `--db-password`, `-pX` for mysql).
 */

/** `spec.containers[api].env[DB_PASSWORD].value` → ['spec', 'containers', 'api', 'env', 'DB_PASSWORD', 'value'] */
export function pathSegments(path: string): string[] {
  const out: string[] = [];
  const re = /\.?([A-Za-z_][A-Za-z0-9_-]*)|\["((?:[^"\\]|\\.)*)"\]|\[([^\]]*)\]/gy;
  for (let m = re.exec(path); m; m = re.exec(path)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(JSON.parse(`"${m[2]}"`) as string);
    else out.push(m[3] ?? '');
    if (re.lastIndex >= path.length) break;
  }
  return out;
}

/** Lists whose entries' names say what their value is. */
const NAMED_LISTS = new Set(['env', 'httpHeaders', 'data', 'stringData', 'binaryData']);

function resolve(doc: unknown, segments: string[]): unknown {
  let cur = doc;
  for (const seg of segments) {
    if (Array.isArray(cur)) {
      const named = cur.find((x) => x && typeof x === 'object' && (x as { name?: unknown }).name === seg);
      cur = named ?? (/^\d+$/.test(seg) ? cur[Number(seg)] : undefined);
    } else if (cur && typeof cur === 'object') cur = (cur as Record<string, unknown>)[seg];
    else return undefined;
  }
  return cur;
}

/**
 * `args`, `args[N]`, `command` or `command[N]` of a container holding a secret by its position
 * in the command line (in the object before or after the change).
 */
function secretArgument(segments: string[], docs: unknown[]): boolean {
  const whole = segments.at(-1) === 'args' || segments.at(-1) === 'command';
  const field = whole ? segments.at(-1) : segments.at(-2);
  const index = segments.at(-1) ?? '';
  if ((field !== 'args' && field !== 'command') || (!whole && !/^\d+$/.test(index))) return false;
  return docs.some((doc) => {
    const container = resolve(doc, segments.slice(0, whole ? -1 : -2));
    if (!container || typeof container !== 'object') return false;
    const { command, args } = container as { command?: unknown; args?: unknown };
    const cmd = Array.isArray(command) ? command : [];
    const all = [...cmd, ...(Array.isArray(args) ? args : [])];
    const masks = argvMasks(all);
    if (!whole) return masks.has((field === 'args' ? cmd.length : 0) + Number(index));
    const from = field === 'args' ? cmd.length : 0;
    const to = field === 'args' ? all.length : cmd.length;
    return [...masks.keys()].some((i) => i >= from && i < to);
  });
}

export function isCredentialChange(c: FieldChange, docs: unknown[]): boolean {
  const segments = pathSegments(c.path);
  const last = segments.at(-1);
  if (last !== undefined && isSecretKey(last)) return true;
  // env[DB_PASSWORD], env[DB_PASSWORD].value, data.api-key: the entry's value, not its name or references
  const n = segments.length;
  for (const i of [n - 1, n - 2]) {
    if (i < 1 || (i === n - 2 && last !== 'value')) continue;
    if (NAMED_LISTS.has(segments[i - 1]!) && isCredentialName(segments[i]!)) return true;
  }
  return secretArgument(segments, docs);
}
