import { describe, expect, it } from 'vitest';
import { eachListItem } from '../../tools/clients/kube-raw.js';

/** Splits a list's JSON with eachListItem: the items parsed one by one, and the envelope parsed. */
function split(text: string): { items: unknown[]; envelope: unknown } {
  const body = Buffer.from(text, 'utf8');
  const items: unknown[] = [];
  const rest = eachListItem(body, (start, end) => items.push(JSON.parse(body.toString('utf8', start, end))));
  return { items, envelope: JSON.parse(rest) };
}

describe('eachListItem', () => {
  it('finds every item of a list as JSON.parse reads it, whatever their strings hold', () => {
    const list = {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '42', continue: 'eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ', remainingItemCount: 7 },
      items: [
        { metadata: { name: 'a', annotations: { note: 'braces } { and brackets ] [ in a string' } } },
        { metadata: { name: 'b', labels: { q: 'an escaped quote \\" and "quotes"', items: '[' } } },
        { metadata: { name: 'c' }, data: { slash: 'ends in a backslash \\', tab: '\t', nl: '\n' } },
        { metadata: { name: 'd', annotations: { zh: '巡检报告 — ünïcödé 🚀', items: ['x', { y: [] }] } } },
        { spec: { containers: [{ name: 'main', args: ['{"json":"in a string"}'] }] } },
      ],
    };
    const { items, envelope } = split(JSON.stringify(list));
    expect(items).toEqual(list.items);
    expect(envelope).toEqual({ ...list, items: [] });
  });

  it('keeps fields that come after the items, and lists whose items are empty or null', () => {
    expect(split('{"items":[{"a":1}],"metadata":{"continue":"x"}}')).toEqual({
      items: [{ a: 1 }],
      envelope: { items: [], metadata: { continue: 'x' } },
    });
    expect(split('{"kind":"List","items":[]}')).toEqual({ items: [], envelope: { kind: 'List', items: [] } });
    expect(split('{"kind":"List","items":null}')).toEqual({
      items: [],
      envelope: { kind: 'List', items: null },
    });
  });

  it('does not take a nested "items" or a value "items" for the list', () => {
    const text = '{"kind":"items","metadata":{"items":[{"no":1}]},"items":[{"yes":1}]}';
    expect(split(text).items).toEqual([{ yes: 1 }]);
  });

  it('refuses bodies whose brackets or strings do not close', () => {
    const cut = JSON.stringify({ items: [{ a: 'b' }, { c: 'd' }] }).slice(0, -5);
    expect(() => eachListItem(Buffer.from(cut), () => {})).toThrow();
    expect(() => eachListItem(Buffer.from('{"items":[{"a":"unterminated}]}'), () => {})).toThrow();
    expect(() => eachListItem(Buffer.from('{"items":[]}}'), () => {})).toThrow();
  });
});
