/**
 * The core writes its own messages in a small markup (Slack's: `_italic_`, `*bold*`, `code`).
 * Platforms that show Kubemate's text as plain text (Feishu plain_text, WeCom text) drop the
 * emphasis marks around a line and keep code spans, which read well as they are. Only whole-line
 * emphasis is removed: an underscore or star inside a name (`my_var`, `a*b`) stays.
 */
export function toPlainText(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/^_(\S(?:.*\S)?)_$/, '$1').replace(/^\*(\S(?:.*\S)?)\*(:?)/, '$1$2'))
    .join('\n');
}
