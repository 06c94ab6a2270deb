// One connection to Milvus for MilvusStore: every call runs under a deadline and every failure, thrown
// or reported in a status object, becomes a MilvusStoreError that names Milvus and the address.
import { type ClientConfig, MilvusClient, type SearchResultData } from '@zilliz/milvus2-sdk-node';

export type MilvusStoreErrorCode =
  | 'unavailable'
  | 'dimension_mismatch'
  | 'incompatible_collection'
  | 'invalid_input'
  | 'backend_error';

export class MilvusStoreError extends Error {
  constructor(
    readonly code: MilvusStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MilvusStoreError';
  }
}

export interface ConnectionOptions {
  address: string;
  token?: string;
  username?: string;
  password?: string;
  database?: string;
  tls?: { rootCertPath?: string; certChainPath?: string; privateKeyPath?: string; serverName?: string };
  timeoutMs: number;
}

type Status = { error_code?: string | number; code?: number; reason?: string };

export class MilvusConnection {
  private client: MilvusClient | undefined;

  constructor(private readonly options: ConnectionOptions) {}

  get address(): string {
    return this.options.address;
  }

  /**
   * One call under the deadline. The SDK reports most failures in a status object instead of
   * throwing; both paths end as a MilvusStoreError. Our deadline bounds the whole call: the SDK's
   * retry interceptor gives each of its (up to 3) retries a fresh gRPC deadline.
   */
  async call<T>(what: string, fn: (client: MilvusClient) => Promise<T>): Promise<T> {
    this.client ??= this.connect();
    const client = this.client;
    const ms = this.options.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    let res: T;
    try {
      res = await Promise.race([fn(client), deadline]);
    } catch (err) {
      throw this.wrap(what, err);
    } finally {
      clearTimeout(timer);
    }
    const status = failedStatus(res);
    if (status) {
      const reason = status.reason || `error ${status.error_code ?? status.code}`;
      throw new MilvusStoreError('backend_error', `Milvus at ${this.address}: ${what} failed: ${reason}`);
    }
    return res;
  }

  /** Any failure here means no usable server at the address, whatever shape the SDK gave it. */
  async checkHealth(): Promise<void> {
    let health: Awaited<ReturnType<MilvusClient['checkHealth']>> | undefined;
    try {
      health = await this.call('health check', (c) => c.checkHealth());
    } catch (err) {
      const cause = err instanceof MilvusStoreError ? (err.cause ?? err) : err;
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new MilvusStoreError('unavailable', `cannot reach Milvus at ${this.address}: ${detail}`, {
        cause,
      });
    }
    if (!health?.isHealthy) {
      const reasons = health?.reasons?.join('; ') || 'no reason given';
      throw new MilvusStoreError('unavailable', `Milvus at ${this.address} is unhealthy: ${reasons}`);
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.closeConnection();
  }

  private connect(): MilvusClient {
    const { address, token, username, password, database, tls, timeoutMs } = this.options;
    const config: ClientConfig = { address, timeout: timeoutMs, logLevel: 'error' };
    if (token) config.token = token;
    if (username) config.username = username;
    if (password) config.password = password;
    if (database) config.database = database;
    if (tls) {
      config.ssl = true;
      config.tls = tls;
    }
    const client = new MilvusClient(config);
    // The SDK connects eagerly; an unreachable server must surface from our calls (with the address
    // in the message), not as an unhandled rejection of this promise.
    client.connectPromise.catch(() => {});
    return client;
  }

  private wrap(what: string, err: unknown): MilvusStoreError {
    if (err instanceof MilvusStoreError) return err;
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: unknown }).code;
    // gRPC 14 UNAVAILABLE and 4 DEADLINE_EXCEEDED, or our own deadline.
    const unreachable =
      code === 14 || code === 4 || /no answer within|UNAVAILABLE|DEADLINE|ECONN|EHOST/.test(message);
    return new MilvusStoreError(
      unreachable ? 'unavailable' : 'backend_error',
      unreachable
        ? `cannot reach Milvus at ${this.address} (${what}): ${message}`
        : `Milvus at ${this.address}: ${what} failed: ${message}`,
      { cause: err },
    );
  }
}

/**
 * The failed status inside an SDK response, or undefined when the call succeeded. Every call we make
 * answers with a status; the SDK turns UNIMPLEMENTED into an empty "OK" response, so a response with
 * no status at all means the server lacks the call.
 */
function failedStatus(res: unknown): Status | undefined {
  const unimplemented = { reason: 'the server does not implement this call' };
  if (!res || typeof res !== 'object') return unimplemented;
  const status = ('status' in res ? (res as { status: unknown }).status : res) as Status | undefined;
  if (!status || typeof status !== 'object') return unimplemented;
  if (status.code === undefined && status.error_code === undefined) return unimplemented;
  const failedCode = status.code !== undefined && status.code !== 0;
  const failedError =
    status.error_code !== undefined && status.error_code !== 'Success' && status.error_code !== 0;
  return failedCode || failedError ? status : undefined;
}

/** The hits of a one-query search (the SDK nests them one level deeper when it takes it for several). */
export function hitsOf(results: SearchResultData[] | SearchResultData[][]): SearchResultData[] {
  const first = results[0];
  return Array.isArray(first) ? first : (results as SearchResultData[]);
}
