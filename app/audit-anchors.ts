import { Gauge, type Registry } from 'prom-client';
import { GENESIS_HASH } from '../policies/audit-chain.js';

type Head = { seq: number; hash: string; mac?: string } | undefined;
/** The audit log's head, read synchronously (SQLite) or not (PostgreSQL). */
export interface HeadSource {
  head(): Head | Promise<Head>;
}

import type { Logger } from '../tools/core/logger.js';

export interface PublishedAnchor {
  seq: number;
  hash: string;
  mac?: string;
  at: string;
}

/**
 * Publishes the audit chain's head (seq and hash) where whoever can rewrite the database cannot
 * reach: the server's log (one line at start, then whenever the head moved, every interval) and
 * /metrics, which a Prometheus outside the host scrapes and keeps. `kubemate audit verify --anchor
 * seq:hash` with any published head then catches records cut off after it and a chain rewritten
 * before it, with or without a MAC key.
 */
export class AuditAnchors {
  private timer: NodeJS.Timeout | undefined;
  private last: PublishedAnchor | undefined;
  private readonly seqGauge: Gauge;
  private readonly info: Gauge<'seq' | 'hash'>;
  private readonly publishedAt: Gauge;

  constructor(
    private readonly log: HeadSource,
    private readonly logger: Logger,
    registry: Registry,
    private readonly intervalMs: number,
  ) {
    this.seqGauge = new Gauge({
      name: 'kubemate_audit_head_seq',
      help: 'Sequence number of the newest audit record when the head was last published (0: empty log).',
      registers: [registry],
    });
    this.info = new Gauge({
      name: 'kubemate_audit_head_info',
      help: 'The published audit chain head: always 1, labelled with its seq and hash (an anchor for `kubemate audit verify --anchor seq:hash`).',
      labelNames: ['seq', 'hash'] as const,
      registers: [registry],
    });
    this.publishedAt = new Gauge({
      name: 'kubemate_audit_head_published_timestamp_seconds',
      help: 'When the audit chain head was last published, in Unix seconds.',
      registers: [registry],
    });
  }

  /** Publishes once now, then every interval; the timer never keeps the process alive. */
  start(): void {
    this.publish();
    this.timer ??= setInterval(() => this.publish(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The head as last published. */
  get current(): PublishedAnchor | undefined {
    return this.last;
  }

  /**
   * Reads the head and publishes it; logs only when it moved since the last publication. A log read
   * asynchronously (PostgreSQL) publishes once the head arrives; until then the last one stands.
   */
  publish(): PublishedAnchor | undefined {
    let head: Head | Promise<Head>;
    try {
      head = this.log.head();
    } catch (e) {
      this.cannotRead(e);
      return this.last;
    }
    if (head instanceof Promise) {
      head.then(
        (h) => this.apply(h),
        (e) => this.cannotRead(e),
      );
      return this.last;
    }
    return this.apply(head);
  }

  private cannotRead(e: unknown): void {
    this.logger.warn({ error: (e as Error).message }, 'cannot read the audit chain head to publish it');
  }

  private apply(head: Head): PublishedAnchor {
    const anchor: PublishedAnchor = {
      seq: head?.seq ?? 0,
      hash: head?.hash ?? GENESIS_HASH,
      ...(head?.mac ? { mac: head.mac } : {}),
      at: new Date().toISOString(),
    };
    const moved = !this.last || this.last.seq !== anchor.seq || this.last.hash !== anchor.hash;
    this.seqGauge.set(anchor.seq);
    this.info.reset();
    this.info.set({ seq: String(anchor.seq), hash: anchor.hash }, 1);
    this.publishedAt.set(Date.parse(anchor.at) / 1000);
    if (moved) {
      this.logger.info(
        {
          auditHead: {
            seq: anchor.seq,
            hash: anchor.hash,
            ...(anchor.mac ? { mac: anchor.mac } : {}),
            // What `kubemate audit verify --anchor` takes; an empty log has nothing to anchor yet.
            ...(anchor.seq > 0 ? { anchor: `${anchor.seq}:${anchor.hash}` } : {}),
          },
        },
        'audit chain head',
      );
    }
    this.last = anchor;
    return anchor;
  }
}
