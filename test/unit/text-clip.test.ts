// Cutting status and event messages: the cause Kubernetes writes last must survive the cut.
import { describe, expect, it } from 'vitest';
import { clipMessage, dropRepeats, schedulerMessage } from '../../tools/shared/text.js';

describe('clipMessage', () => {
  it.each([
    ['quay.internal/ops/reporting-batch-exporter:2024.11.3', 'manifest unknown'],
    ['ghcr.example.org/acme/frontend-web-gateway-service:v0.0.0-does-not-exist', 'not found'],
  ])('keeps the cause at the end of an image pull error for %s', (image, cause) => {
    const msg = `Back-off pulling image "${image}": ErrImagePull: failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: ${cause}`;
    const out = clipMessage(msg, 200);
    expect(out.length).toBeLessThanOrEqual(200);
    expect(out.endsWith(cause)).toBe(true);
    expect(out).toContain(image);
  });

  it('keeps beginning and end of long text, cut between words with no open quote', () => {
    const msg = `readiness probe failed: ${'word '.repeat(80)}"quoted start of a value that runs on ${'x '.repeat(40)} and the cause: connection refused`;
    const out = clipMessage(msg, 160);
    expect(out.length).toBeLessThanOrEqual(160);
    expect(out.startsWith('readiness probe failed: word')).toBe(true);
    expect(out.endsWith('connection refused')).toBe(true);
    expect(out).toContain(' … ');
    expect((out.match(/"/g) ?? []).length % 2).toBe(0);
  });

  it('redacts the whole message before cutting, so a cut never separates a secret from its key', () => {
    const secret = 'Zx81kQ0pLmN4rT7v';
    const msg = `auth failed for dsn postgres://app:${secret}@db.internal:5432/ledger password=${secret} ${'filler '.repeat(60)} end`;
    for (const max of [60, 90, 120, 200]) expect(clipMessage(msg, max)).not.toContain(secret);
  });

  it('leaves short messages as they are, whitespace flattened', () => {
    expect(clipMessage('  0/3 nodes are\n available: 3 Insufficient cpu. ', 200)).toBe(
      '0/3 nodes are available: 3 Insufficient cpu.',
    );
  });
});

describe('message helpers', () => {
  it('orders scheduler reasons by the number of nodes each rules out', () => {
    expect(
      schedulerMessage(
        '0/58 nodes are available: 1 node(s) were unschedulable, 2 node(s) had untolerated taint {x: }, 55 Insufficient memory. preemption: not helpful',
      ),
    ).toBe(
      '0/58 nodes are available: 55 Insufficient memory, 2 node(s) had untolerated taint {x: }, 1 node(s) were unschedulable. preemption: not helpful',
    );
    expect(schedulerMessage('Back-off restarting failed container')).toBe(
      'Back-off restarting failed container',
    );
  });

  it('drops later copies of a long token only', () => {
    expect(
      dropRepeats('pull "registry.a/b/c:1.2.3-rc1": resolve "registry.a/b/c:1.2.3-rc1": short short'),
    ).toBe('pull "registry.a/b/c:1.2.3-rc1": resolve: short short');
  });
});
