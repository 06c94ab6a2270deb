import { isSecretFlag, MASK } from './names.js';
import { flagArgument, isBlank, isEol, isQuote, unquotedEnd, valueAt } from './scan.js';
import type { Spans } from './spans.js';

/**
 * Passwords given to well-known command-line clients by short flags: `mysql -uroot -pX`
 * (attached), `redis-cli -a X`, `sshpass -p X`, `docker login -p X`, and `curl -u user:X`.
 * A short flag counts only within CONTEXT characters after the client's name, so `-p 8080` of
 * another program stays visible. Long flags (`--password X`) are handled with the other keys.
 */

const CONTEXT = 512;
const CLIENT = /(mysql|mariadb)|(redis-cli)(?!\w)|(sshpass)(?!\w)|(login)(?!\w)/gi;
/** A flag starts an argument: after a blank, a quote, `[`, `,`, or a `\n` escape. */
const SHORT_FLAG = /-(?<=(?:^|[\s"'[,]|\\[nt])-)([pa])/g;
const USER_PASS =
  /-(?<=(?:^|[\s"'[,]|\\[nt])-)(?:u|-user|-proxy-user)(?:=|["']?,?\s{0,40}(?:-[ \t]{1,8})?["']?)[^\s:"',@]{1,128}:(?!\d+(?:[\s"',]|$))([^\s"',]{1,256})/dg;

type Client = 'mysql' | 'redis' | 'sshpass' | 'login';

function clients(text: string): Array<{ at: number; client: Client }> {
  const out: Array<{ at: number; client: Client }> = [];
  CLIENT.lastIndex = 0;
  for (let m = CLIENT.exec(text); m; m = CLIENT.exec(text)) {
    out.push({ at: m.index, client: m[1] ? 'mysql' : m[2] ? 'redis' : m[3] ? 'sshpass' : 'login' });
  }
  return out;
}

export function findCliSecrets(text: string, spans: Spans): void {
  USER_PASS.lastIndex = 0;
  for (let m = USER_PASS.exec(text); m; m = USER_PASS.exec(text)) {
    const at = m.indices?.[1];
    if (at) spans.add(at[0], at[1]);
  }
  const seen = clients(text);
  if (seen.length === 0) return;
  let k = -1;
  SHORT_FLAG.lastIndex = 0;
  for (let m = SHORT_FLAG.exec(text); m; m = SHORT_FLAG.exec(text)) {
    while (k + 1 < seen.length && seen[k + 1]!.at < m.index) k++;
    const ctx = seen[k];
    if (!ctx || m.index - ctx.at > CONTEXT) continue;
    const letter = m[1];
    const after = m.index + 2;
    const c = text.charCodeAt(after);
    const attached = !(isBlank(c) || isEol(c) || isQuote(c) || c === 44);
    if (attached) {
      if (text.startsWith(MASK, after)) continue;
      if ((letter === 'p' && ctx.client !== 'login') || (letter === 'a' && ctx.client === 'redis')) {
        spans.add(after, unquotedEnd(text, after, 'token'));
      }
      continue;
    }
    const takesArgument =
      (letter === 'p' && (ctx.client === 'sshpass' || ctx.client === 'login')) ||
      (letter === 'a' && ctx.client === 'redis');
    if (!takesArgument) continue;
    const at = flagArgument(text, after);
    const v = at === null ? null : valueAt(text, at, 'token', 0);
    if (v) spans.add(v.start, v.end);
  }
}

const CLIENT_ARG = /(?:^|\/)(?:(mysql\w*|mariadb\w*)|(redis-cli)|(sshpass))$/i;
const USER_ARG = /^(?:-u|--user=|--proxy-user=)[^:]{1,128}:(?!\d+$)/;

/**
 * Arguments of one command (`command` and `args` of a container, an exec call) that are
 * secrets by position: the argument after a secret flag, `-pX` for mysql, `-a X` for redis-cli,
 * `-p X` for sshpass and `login`, the password part of `-u user:password`. Returns index → shown text.
 */
export function argvMasks(argv: readonly unknown[]): Map<number, string> {
  const out = new Map<number, string>();
  const args = argv.map((a) => (typeof a === 'string' ? a : undefined));
  let mysql = false;
  let redis = false;
  let sshpass = false;
  let login = false;
  for (const a of args) {
    if (a === undefined) continue;
    const m = CLIENT_ARG.exec(a);
    if (m?.[1]) mysql = true;
    if (m?.[2]) redis = true;
    if (m?.[3]) sshpass = true;
    if (a === 'login') login = true;
    if (/^(?:-u\S|--user=)/.test(a)) mysql ||= !a.includes(':');
  }
  args.forEach((a, i) => {
    if (a === undefined) return;
    const next = args[i + 1];
    const maskNext = () => {
      if (next !== undefined && !next.startsWith('-')) out.set(i + 1, MASK);
    };
    if (isSecretFlag(a)) maskNext();
    if ((mysql || sshpass) && /^-p./.test(a)) out.set(i, `-p${MASK}`);
    if ((a === '-p' && (sshpass || login)) || (a === '-a' && redis)) maskNext();
    if (
      (a === '-u' || a === '--user' || a === '--proxy-user') &&
      next &&
      /^[^:]{1,128}:(?!\d+$)/.test(next)
    ) {
      out.set(i + 1, `${next.slice(0, next.indexOf(':') + 1)}${MASK}`);
    }
    const user = USER_ARG.exec(a);
    if (user) out.set(i, `${user[0]}${MASK}`);
  });
  return out;
}
