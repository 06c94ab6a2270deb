/**
 * Where a line longer than a part is cut: after the last space or sentence mark, and never inside a
 * bracketed citation (`[F-1a2b3c4d]`, `[runbooks/oom.md]`): an unclosed `[` moves the cut before it.
 */
function cutPoint(take: string): number {
  const open = take.lastIndexOf('[');
  const limit = open > take.lastIndexOf(']') ? open : take.length;
  for (let i = limit - 1; i > 0; i--) if (/[\s。，；！？、,;]/.test(take[i]!)) return i + 1;
  return limit > 0 ? limit : take.length;
}

/**
 * Splits a long answer into parts of at most `maxBytes` UTF-8 bytes for platforms with small message
 * limits (WeCom text: 2048 bytes). Cuts fall between paragraphs where possible, then between lines,
 * so a citation, a list item or a plan line stays whole; only a single line longer than the limit
 * is cut inside, after a space or a sentence mark where it has one and never inside a bracketed
 * citation, else at a character boundary (never inside a multi-byte character).
 */
export function splitText(text: string, maxBytes: number): string[] {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  if (bytes(text) <= maxBytes) return [text];
  const parts: string[] = [];
  let current = '';
  const flush = () => {
    if (current.trim() !== '') parts.push(current.replace(/\n+$/, ''));
    current = '';
  };
  const add = (piece: string, sep: string) => {
    const joined = current ? current + sep + piece : piece;
    if (bytes(joined) <= maxBytes) {
      current = joined;
      return true;
    }
    return false;
  };
  for (const paragraph of text.split(/\n{2,}/)) {
    if (add(paragraph, '\n\n')) continue;
    flush();
    if (add(paragraph, '')) continue;
    for (const line of paragraph.split('\n')) {
      if (add(line, '\n')) continue;
      flush();
      if (add(line, '')) continue;
      let rest = line;
      while (rest) {
        let take = '';
        for (const ch of rest) {
          if (bytes(take + ch) > maxBytes) break;
          take += ch;
        }
        if (take.length < rest.length) take = take.slice(0, cutPoint(take));
        parts.push(take);
        rest = rest.slice(take.length);
      }
    }
    flush();
  }
  flush();
  return parts;
}
