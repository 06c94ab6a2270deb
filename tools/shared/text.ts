import { defaultRedactor } from '../core/redact.js';

// Text helpers every toolset uses for what it shows: counts with their noun, and lines cut to a size.

/** `1 pod`, `3 pods`, `2 replicas`; `many` for irregular plurals. */
export const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;

/**
 * One line of at most `max` characters, whitespace flattened. A cut never leaves half a token or an
 * open quote behind: the redactor recognises `password='…'` and `scheme://user:pass@host` only whole,
 * so a value cut in the middle of one must lose the whole of it.
 */
export function clipLine(text: string | undefined, max: number): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  let cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  cut = space > 0 ? cut.slice(0, space) : '';
  for (const q of ["'", '"', '`']) {
    if ((cut.split(q).length - 1) % 2 === 1) cut = cut.slice(0, cut.lastIndexOf(q));
  }
  return `${cut.trimEnd()}…`;
}

/** Text kept as it is up to `max` characters, then a note of how much was left out (log lines). */
export function clipCounted(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

/**
 * Later copies of a long token (an image reference, a URL, a path) already written once: the
 * kubelet repeats the image three times in one pull error, which pushes the cause out of view.
 */
export function dropRepeats(text: string, minLength = 20): string {
  const seen = new Set<string>();
  let out = text;
  for (const m of text.matchAll(/[^\s"'`]+/g)) {
    const token = m[0].replace(/[:,.;]+$/, '');
    if (token.length < minLength) continue;
    if (!seen.has(token)) {
      seen.add(token);
      continue;
    }
    const first = out.indexOf(token) + token.length;
    const escaped = token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const later = new RegExp(` ?(["'\`]?)${escaped}\\1`, 'g');
    out = out.slice(0, first) + out.slice(first).replace(later, '');
  }
  return out.replace(/:(?:\s*:)+/g, ':');
}

/**
 * The scheduler's "0/103 nodes are available: 2 node(s) had untolerated taint {…}, 100 Insufficient
 * cpu. preemption: …" with its reasons ordered by how many nodes each rules out, so the reason that
 * matters comes first, and the preemption note after them. Other text is returned as it is.
 */
export function schedulerMessage(text: string): string {
  const m = /^(\d+\/\d+ nodes are available): (.*?)\.(\s+preemption:.*)?$/s.exec(text.trim());
  if (!m) return text;
  const reasons = m[2]!.split(/, (?=\d+ )/).map((r) => ({ r, n: Number.parseInt(r, 10) || 0 }));
  reasons.sort((a, b) => b.n - a.n);
  return `${m[1]}: ${reasons.map((x) => x.r).join(', ')}.${m[3] ?? ''}`;
}

/**
 * A status or event message cut to `max` characters keeping its beginning and its end. Kubernetes
 * writes the cause last (`Back-off pulling image "r/x:1": ErrImagePull: … manifest unknown`,
 * `0/9 nodes are available: … Insufficient cpu`), so a cut that keeps only the beginning loses
 * the very thing a person needs. The text is redacted whole before it is cut: a cut could
 * otherwise separate a secret from the key that marks it. Neither part ends or starts inside a
 * word or holds an unmatched quote.
 */
export function clipMessage(text: string | undefined, max: number, redact = defaultRedactor): string {
  let flat = redact((text ?? '').replace(/\s+/g, ' ').trim());
  if (flat.length <= max) return flat;
  flat = dropRepeats(schedulerMessage(flat));
  if (flat.length <= max) return flat;
  const gap = ' … ';
  const tailBudget = Math.floor((max - gap.length) * 0.55);
  const head = clipLine(flat, max - gap.length - tailBudget + 1).replace(/…$/, '');
  let tail = flat.slice(flat.length - tailBudget);
  const space = tail.indexOf(' ');
  tail = space >= 0 && space < tail.length - 1 ? tail.slice(space + 1) : '';
  for (const q of ["'", '"', '`']) {
    if ((tail.split(q).length - 1) % 2 === 1) tail = tail.slice(tail.indexOf(q) + 1).trimStart();
  }
  return tail ? `${head.trimEnd()}${gap}${tail}` : `${head.trimEnd()}…`;
}
