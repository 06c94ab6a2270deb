import { describe, expect, it } from 'vitest';
import { toPlainText } from '../../bots/core/plain.js';
import { splitText } from '../../bots/core/split.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('splitText', () => {
  it('keeps a short text whole', () => {
    expect(splitText('扩容完成', 100)).toEqual(['扩容完成']);
  });

  it('cuts between paragraphs, keeping each citation line whole', () => {
    const p1 = `原因：${'内存不足。'.repeat(20)}`;
    const p2 = '来源 Sources:\n- runbooks/oom.md#内存\n- pods_list payments';
    const parts = splitText(`${p1}\n\n${p2}`, bytes(p1) + 10);
    expect(parts).toEqual([p1, p2]);
  });

  it('falls back to lines, then to characters, never past the limit or inside a character', () => {
    const line = '副本'.repeat(50); // 300 bytes
    const parts = splitText(`${line}\n${line}`, 120);
    expect(parts.every((p) => bytes(p) <= 120)).toBe(true);
    expect(parts.join('')).toBe(line + line);
    expect(parts.join('')).not.toContain('\uFFFD');
  });

  it('cuts a long line after a space or a sentence mark, never inside a citation', () => {
    const line = Array.from(
      { length: 30 },
      (_, i) => `磁盘将在 24 小时内写满 [F-${(0x1a2b3c00 + i).toString(16)}]，请扩容。`,
    ).join('');
    const parts = splitText(line, 200);
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.every((p) => bytes(p) <= 200)).toBe(true);
    expect(parts.join('')).toBe(line);
    for (const p of parts) {
      // Every bracket a part opens it closes: no citation is cut in two.
      expect(p.split('[').length).toBe(p.split(']').length);
      expect(p).toMatch(/[，。 ]$|\]$/);
    }
    const cited = parts.flatMap((p) => [...p.matchAll(/\[F-[0-9a-f]{8}\]/g)].map((m) => m[0]));
    expect(cited).toHaveLength(30);
  });
});

describe('toPlainText', () => {
  it("drops the core's whole-line emphasis, keeps names and code spans", () => {
    expect(toPlainText('_Working on it… (pods_list)_')).toBe('Working on it… (pods_list)');
    expect(toPlainText('*Sources:* runbooks/oom.md\nuse `my_var` and a*b')).toBe(
      'Sources: runbooks/oom.md\nuse `my_var` and a*b',
    );
  });
});
