import { DWClient, type DWClientDownStream } from 'dingtalk-stream';
import { z } from 'zod';

const endpointSchema = z.looseObject({
  endpoint: z.url({ protocol: /^wss?$/ }),
  ticket: z.string().min(1),
});

/**
 * The official Stream client (`dingtalk-stream`) with one change: the SDK posts the connection
 * request to a fixed https://api.dingtalk.com, so an egress proxy or a test gateway cannot be named.
 * This client sends the same request (POST /v1.0/gateway/connections/open with the client id and
 * secret and the subscriptions) to the configured OpenAPI base; the WebSocket, its frames, pings,
 * reconnects and ACKs are the SDK's own.
 */
export class StreamClient extends DWClient {
  constructor(
    opts: { clientId: string; clientSecret: string },
    private readonly apiBase: string,
  ) {
    super({ ...opts, ua: 'kubemate', keepAlive: true });
  }

  override async getEndpoint(): Promise<this> {
    const { clientId, clientSecret, ua, subscriptions } = this.config;
    const res = await fetch(`${this.apiBase}/v1.0/gateway/connections/open`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ clientId, clientSecret, ua, subscriptions }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = endpointSchema.safeParse(await res.json().catch(() => undefined));
    if (!res.ok || !body.success)
      throw new Error(
        `DingTalk refused the Stream connection (HTTP ${res.status}): check clientId and clientSecret`,
      );
    // The SDK keeps the socket URL in a private field that its own getEndpoint sets.
    (this as unknown as { dw_url: string }).dw_url =
      `${body.data.endpoint}?ticket=${encodeURIComponent(body.data.ticket)}`;
    return this;
  }
}

export type StreamFrame = DWClientDownStream;
