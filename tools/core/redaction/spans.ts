/**
 * Character ranges to mask. Every detector reads the original text and adds ranges here; the text
 * is rebuilt once at the end. Detectors therefore never see each other's output, so the order in
 * which they run does not matter and a mask cannot be re-read as something else.
 */
/** Positions fit in 2^26 (texts are capped well below), so a (start, end) pair packs into one number. */
const SHIFT = 2 ** 26;

export class Spans {
  private packed: number[] = [];

  add(start: number, end: number): void {
    if (end > start) this.packed.push(start * SHIFT + end);
  }

  /**
   * The text with every range (overlapping or touching ranges merged) replaced by `mask`. With
   * `keepLines`, a range over several lines is masked line by line, so the text keeps its lines.
   */
  apply(text: string, mask: string, keepLines = false): string {
    if (this.packed.length === 0) return text;
    const sorted = Float64Array.from(this.packed).sort();
    const parts: string[] = [];
    let pos = 0;
    let i = 0;
    while (i < sorted.length) {
      const start = Math.floor(sorted[i]! / SHIFT);
      let end = sorted[i]! % SHIFT;
      i++;
      while (i < sorted.length && Math.floor(sorted[i]! / SHIFT) <= end) {
        end = Math.max(end, sorted[i]! % SHIFT);
        i++;
      }
      const from = Math.max(pos, start);
      parts.push(text.slice(pos, from));
      if (keepLines) parts.push(maskLines(text, from, end, mask));
      else parts.push(mask);
      pos = Math.max(pos, end);
    }
    parts.push(text.slice(pos));
    return parts.join('');
  }
}

/** `mask` for each line's part of [from, to), the newlines kept. */
function maskLines(text: string, from: number, to: number, mask: string): string {
  const parts: string[] = [];
  let pos = from;
  for (let nl = text.indexOf('\n', pos); nl >= 0 && nl < to; nl = text.indexOf('\n', pos)) {
    const piece = text.slice(pos, nl);
    parts.push(piece.trim() === '' || piece === '\r' ? piece : mask, '\n');
    pos = nl + 1;
  }
  if (pos < to) parts.push(mask);
  return parts.join('');
}
