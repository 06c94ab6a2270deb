import { createHash } from 'node:crypto';
import type { Principal } from '../policies/types.js';

export interface TokenEntry {
  /** A label for the token, shown in logs and audit, never the token itself. */
  name: string;
  /** Hex SHA-256 of the token; the token itself is never stored. */
  sha256: string;
  principal: { id: string; groups: string[] };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Resolves bearer tokens to principals by their hash. */
export class TokenAuthenticator {
  private readonly byHash = new Map<string, TokenEntry>();

  constructor(entries: TokenEntry[]) {
    for (const e of entries) this.byHash.set(e.sha256.toLowerCase(), e);
  }

  get configured(): boolean {
    return this.byHash.size > 0;
  }

  /** Returns the principal for an Authorization header value, or undefined. */
  authenticate(header: string | undefined): Principal | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) return undefined;
    const entry = this.byHash.get(hashToken(match[1]!));
    if (!entry) return undefined;
    return { id: entry.principal.id, groups: [...entry.principal.groups], source: 'mcp-http' };
  }
}

export interface OriginPolicy {
  /** Hostnames (without port) accepted in the Host header. */
  allowedHosts: string[];
  /** Full origins (scheme://host[:port]) accepted in the Origin header; requests without Origin pass. */
  allowedOrigins: string[];
}

/**
 * The hostname of a Host header (`name`, `name:port`, `[v6]` or `[v6]:port`), or undefined when the
 * header is anything else: `127.0.0.1:evil.example` names no host, it does not name 127.0.0.1.
 */
function hostname(hostHeader: string): string | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]@/\s]+)(?::\d{1,5})?$/.exec(hostHeader);
  return m?.[1];
}

/** DNS-rebinding protection: returns a reason to refuse, or undefined when the request may pass. */
export function checkOrigin(
  policy: OriginPolicy,
  host: string | undefined,
  origin: string | undefined,
): string | undefined {
  const name = host ? hostname(host) : undefined;
  if (!name || !policy.allowedHosts.includes(name.toLowerCase())) {
    return `Host '${host ?? ''}' is not allowed; add its hostname to server.allowedHosts`;
  }
  if (origin !== undefined && !policy.allowedOrigins.includes(origin)) {
    return `Origin '${origin}' is not allowed; add it to server.allowedOrigins`;
  }
  return undefined;
}
