import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import type { FeishuServer } from './feishu-server.js';

/**
 * Feishu/Lark's long connection, server side, on the local Feishu server: POST
 * /callback/ws/endpoint (app id and secret) answers a socket URL and the client config; on the
 * socket, binary protobuf frames of Feishu's `pbbp2.Frame` (written here from its field numbers:
 * 1 SeqID, 2 LogID, 3 service, 4 method, 5 headers {1 key, 2 value}, 6 payload_encoding,
 * 7 payload_type, 8 payload, 9 LogIDNew). Method 0 is control (ping / pong), 1 is data: an event
 * frame carries `type: event`, `message_id`, `sum`, `seq` and `trace_id` headers and the event's JSON;
 * the client answers with the same frame, its payload `{code, data?}` (data: the handler's result,
 * base64 JSON).
 */
export interface PbFrame {
  SeqID: number;
  LogID: number;
  service: number;
  method: number;
  headers: Array<{ key: string; value: string }>;
  payload?: Buffer;
}

const SERVICE_ID = 7;
const CLIENT_CONFIG = { PingInterval: 120, ReconnectCount: -1, ReconnectInterval: 120, ReconnectNonce: 30 };

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt(Math.max(n, 0));
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}
const field = (no: number, wire: number) => varint((no << 3) | wire);
const bytesField = (no: number, b: Buffer) => Buffer.concat([field(no, 2), varint(b.length), b]);

export function encodeFrame(f: PbFrame): Buffer {
  const parts = [
    field(1, 0),
    varint(f.SeqID),
    field(2, 0),
    varint(f.LogID),
    field(3, 0),
    varint(f.service),
    field(4, 0),
    varint(f.method),
    ...f.headers.map((h) =>
      bytesField(5, Buffer.concat([bytesField(1, Buffer.from(h.key)), bytesField(2, Buffer.from(h.value))])),
    ),
  ];
  if (f.payload) parts.push(bytesField(8, f.payload));
  return Buffer.concat(parts);
}

function readVarint(b: Buffer, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const x = b[at++];
    if (x === undefined) throw new Error('truncated varint');
    v |= BigInt(x & 0x7f) << shift;
    if (!(x & 0x80)) return [v, at];
    shift += 7n;
  }
}

function fields(b: Buffer, each: (no: number, value: bigint | Buffer) => void): void {
  let at = 0;
  while (at < b.length) {
    const [tag, next] = readVarint(b, at);
    at = next;
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, n] = readVarint(b, at);
      at = n;
      each(no, v);
    } else if (wire === 2) {
      const [len, n] = readVarint(b, at);
      at = n + Number(len);
      each(no, b.subarray(n, at));
    } else throw new Error(`unexpected wire type ${wire}`);
  }
}

export function decodeFrame(b: Buffer): PbFrame {
  const f: PbFrame = { SeqID: 0, LogID: 0, service: 0, method: 0, headers: [] };
  fields(b, (no, v) => {
    if (no === 1) f.SeqID = Number(v);
    else if (no === 2) f.LogID = Number(v);
    else if (no === 3) f.service = Number(v);
    else if (no === 4) f.method = Number(v);
    else if (no === 5 && Buffer.isBuffer(v)) {
      const h = { key: '', value: '' };
      fields(v, (n, x) => {
        if (n === 1) h.key = String(x);
        if (n === 2) h.value = String(x);
      });
      f.headers.push(h);
    } else if (no === 8 && Buffer.isBuffer(v)) f.payload = Buffer.from(v);
  });
  return f;
}

const header = (f: PbFrame, key: string) => f.headers.find((h) => h.key === key)?.value;

export function attachLongConnection(feishu: FeishuServer) {
  const wss = new WebSocketServer({ noServer: true });
  const tickets = new Set<string>();
  const waiting = new Map<string, (f: PbFrame) => void>();
  const answers: PbFrame[] = [];
  let pings = 0;
  let socket: WebSocket | undefined;
  let onConnect: (() => void) | undefined;
  let seq = 0;
  feishu.serveWsEndpoint(() => {
    const ticket = randomUUID();
    tickets.add(ticket);
    const { port } = feishu.server.address() as AddressInfo;
    return {
      URL: `ws://127.0.0.1:${port}/ws?device_id=dev1&service_id=${SERVICE_ID}&ticket=${ticket}`,
      ClientConfig: CLIENT_CONFIG,
    };
  });
  feishu.server.on('upgrade', (req, sock, head) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== '/ws' || !tickets.delete(url.searchParams.get('ticket') ?? '')) {
      sock.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, sock, head, (ws) => {
      socket = ws;
      ws.on('message', (data) => {
        const f = decodeFrame(data as Buffer);
        if (f.method === 0 && header(f, 'type') === 'ping') {
          pings++;
          ws.send(
            encodeFrame({
              ...f,
              headers: [{ key: 'type', value: 'pong' }],
              payload: Buffer.from(JSON.stringify(CLIENT_CONFIG)),
            }),
          );
          return;
        }
        answers.push(f);
        const id = header(f, 'message_id');
        if (id) waiting.get(id)?.(f);
      });
      onConnect?.();
    });
  });

  /** Sends a 2.0 event as a data frame; resolves with the client's answer `{code, data}`. */
  const push = (event: unknown): Promise<{ code: number; data?: unknown }> => {
    if (!socket) throw new Error('no long connection');
    const id = randomUUID();
    seq++;
    const answered = new Promise<{ code: number; data?: unknown }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer to frame ${id}`)), 5000);
      waiting.set(id, (f) => {
        clearTimeout(t);
        waiting.delete(id);
        const p = JSON.parse(String(f.payload ?? '{}')) as { code: number; data?: string };
        resolve({
          code: p.code,
          ...(p.data ? { data: JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')) } : {}),
        });
      });
    });
    socket.send(
      encodeFrame({
        SeqID: seq,
        LogID: seq,
        service: SERVICE_ID,
        method: 1,
        headers: [
          { key: 'type', value: 'event' },
          { key: 'message_id', value: id },
          { key: 'sum', value: '1' },
          { key: 'seq', value: '0' },
          { key: 'trace_id', value: randomUUID() },
        ],
        payload: Buffer.from(JSON.stringify(event)),
      }),
    );
    return answered;
  };

  return {
    connected: () =>
      socket
        ? Promise.resolve()
        : new Promise<void>((r) => {
            onConnect = r;
          }),
    push,
    answers,
    pings: () => pings,
    close: () => {
      socket?.terminate();
      wss.close();
    },
  };
}
