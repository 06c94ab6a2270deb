import type { OutputImage, ResultStatus, ToolOutput } from './types.js';

/** About four characters a token: the usual rule of thumb for English text and JSON. */
export const CHARS_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

export interface ShapedOutput {
  status: ResultStatus;
  text: string;
  structured?: Record<string, unknown>;
  /** Passed through as they are: images are not text and do not count against the token budget. */
  images?: OutputImage[];
}

/** Aligns columns like kubectl's table printer. */
export function renderTable(columns: string[], rows: string[][]): string[] {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map(line)];
}

/**
 * Fits a tool's output into the token budget. Text and structured content both count, since a
 * client may hand either to the model. Totals in the header are exact whatever is cut, and the
 * caller is told how many items were left out and how to narrow the query.
 */
export function shapeOutput(output: ToolOutput, maxTokens: number): ShapedOutput {
  if (output.kind === 'doc') {
    const status = output.status ?? 'success';
    const budgetChars = maxTokens * CHARS_PER_TOKEN;
    const structuredChars = output.structured ? JSON.stringify(output.structured).length : 0;
    let text = output.text;
    const room = budgetChars - Math.min(structuredChars, budgetChars / 2);
    if (text.length > room) {
      const cut = text.slice(0, Math.max(0, room - 120));
      text = `${cut}\n… output truncated at ${maxTokens} tokens (${text.length - cut.length} characters left out); ask for a narrower view.`;
    }
    return {
      status,
      text,
      ...(output.structured ? { structured: output.structured } : {}),
      ...(output.images?.length ? { images: output.images } : {}),
    };
  }

  const { items } = output;
  const budgetChars = maxTokens * CHARS_PER_TOKEN;
  const header = output.header;
  const fixedChars =
    header.length + (output.footer?.length ?? 0) + JSON.stringify(output.totals).length + 400;
  let used = fixedChars;
  const rows: string[][] = [];
  const structuredItems: Record<string, unknown>[] = [];
  for (const item of items) {
    const row = output.row(item);
    const structured = output.toStructured(item);
    const cost = row.reduce((n, c) => n + c.length + 2, 1) + JSON.stringify(structured).length + 1;
    if (used + cost > budgetChars) break;
    used += cost;
    rows.push(row);
    structuredItems.push(structured);
  }
  const render = (shown: number) => {
    const omitted = items.length - shown;
    const lines = [header];
    if (shown > 0) lines.push('', ...renderTable(output.columns, rows.slice(0, shown)));
    if (omitted > 0) {
      lines.push(
        '',
        `… ${omitted} more not shown (showing ${shown} of ${items.length}, most important first). To narrow: ${output.narrow}`,
      );
    }
    if (output.footer) lines.push('', output.footer);
    const structured: Record<string, unknown> = {
      ...output.totals,
      items: structuredItems.slice(0, shown),
      shown,
      omitted,
      ...(omitted > 0 ? { narrow: output.narrow } : {}),
    };
    return { text: lines.join('\n'), structured };
  };
  // Column padding is only known once rows are laid out: trim until the rendered answer fits.
  let shown = rows.length;
  let out = render(shown);
  while (shown > 0 && out.text.length + JSON.stringify(out.structured).length > budgetChars) {
    shown = Math.max(0, shown - Math.max(1, Math.ceil(shown / 10)));
    out = render(shown);
  }
  const { text, structured } = out;
  return {
    status: output.status ?? (items.length === 0 ? 'no_data' : 'success'),
    text,
    structured,
    ...(output.images?.length ? { images: output.images } : {}),
  };
}
