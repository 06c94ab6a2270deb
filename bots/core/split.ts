/**
 * Splits a long answer into parts of at most `maxBytes` UTF-8 bytes for platforms with small message
 * limits (WeCom text: 2048 bytes). Cuts fall between paragraphs where possible, then between lines,
 * so a citation, a list item or a plan line stays whole; only a single line longer than the limit
 * is cut inside, and then at a character boundary (never inside a multi-byte character).
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
        parts.push(take);
        rest = rest.slice(take.length);
      }
    }
    flush();
  }
  flush();
  return parts;
}
