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
