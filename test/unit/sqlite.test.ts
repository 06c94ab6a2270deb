// Every SQLite database Kubemate keeps is opened by one function with the same settings.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../../state/sqlite.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('openSqlite', () => {
  it('creates the folder and opens with WAL, the asked sync level and a lock wait', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kubemate-sqlite-')), 'a', 'b', 'x.db');
    const db = openSqlite(file, { synchronous: 'FULL', busyTimeoutMs: 1234 });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    } finally {
      db.close();
    }
    const normal = openSqlite(':memory:');
    expect(normal.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(normal.pragma('busy_timeout', { simple: true })).toBe(5000);
    normal.close();
  });

  it('is the only place product code opens a database', () => {
    const opened = ['app', 'tools', 'mcp', 'policies', 'rag', 'agent', 'bots']
      .flatMap(sources)
      .filter((f) => /new Database\(/.test(readFileSync(f, 'utf8')));
    expect(opened).toEqual([]);
  });
});
