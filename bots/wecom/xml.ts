/**
 * The fields of a WeCom callback document: the children of its root element, as text (CDATA
 * unwrapped, XML entities decoded). WeCom's callbacks are flat documents of this shape; a nested
 * child keeps its inner markup as its value. CDATA may hold anything (`</Content>` included).
 * Anything that is not such a document throws.
 */
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

const decodeEntities = (s: string) =>
  s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(Number.parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number(e.slice(1)))
        : ENTITIES[e]!,
  );

const invalid = () => new Error('not a WeCom XML document');

export function xmlFields(xml: string): Record<string, string> {
  const root = xml.trim().match(/^(?:<\?xml[^>]*\?>\s*)?<xml>([\s\S]*)<\/xml>$/);
  if (!root) throw invalid();
  const body = root[1]!;
  const fields: Record<string, string> = {};
  let i = 0;
  const skipSpace = () => {
    while (i < body.length && /\s/.test(body[i]!)) i++;
  };
  for (skipSpace(); i < body.length; skipSpace()) {
    const open = /^<([A-Za-z][A-Za-z0-9_]*)>/.exec(body.slice(i));
    if (!open) throw invalid();
    const name = open[1]!;
    const close = `</${name}>`;
    i += open[0].length;
    let value = '';
    for (;;) {
      if (body.startsWith('<![CDATA[', i)) {
        const end = body.indexOf(']]>', i + 9);
        if (end < 0) throw invalid();
        value += body.slice(i + 9, end);
        i = end + 3;
      } else if (body.startsWith(close, i)) {
        i += close.length;
        break;
      } else {
        const next = body.indexOf('<', i);
        if (next < 0) throw invalid();
        if (next === i) {
          // Nested markup: kept as it is, up to this field's closing tag.
          const end = body.indexOf(close, i);
          if (end < 0) throw invalid();
          value += body.slice(i, end);
          i = end;
        } else {
          value += decodeEntities(body.slice(i, next));
          i = next;
        }
      }
    }
    fields[name] ??= value;
  }
  return fields;
}

/** CDATA for a value we write (the local server's callbacks): `]]>` split so it cannot end early. */
export const cdata = (s: string) => `<![CDATA[${s.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
