import type { Principal } from '../../policies/types.js';

/** Where a message lives on a platform: a channel (or DM), and the thread it belongs to, if any. */
export interface Place {
  channel: string;
  /** The thread root's platform id; unset for a message at the top of a channel or DM. */
  thread?: string;
  /**
   * The thread of a message the outbox posted under this key (its platform id is known only once it
   * is out): resolved when delivered, after the root, which goes first in its channel.
   */
  threadOf?: string;
}

/** Who acted, as the platform names them (`U123` on Slack); the core maps them to a person. */
export interface ChatUser {
  platform: string;
  id: string;
}

interface InboundBase {
  /** The platform's own id for this delivery (Slack's event_id, or a hash for actions); dedupe key. */
  eventId: string;
  user: ChatUser;
  place: Place;
  /** The platform's id of the inbound message itself (Slack's ts), when it has one. */
  messageId?: string;
}

/** Every inbound event, normalised: adapters produce these and nothing else. */
export type InboundEvent =
  /**
   * A plain message: in a DM (`direct`), or a reply in a channel thread that mentions nobody; the
   * core takes the latter only in a thread Kubemate was already addressed in.
   */
  | (InboundBase & { kind: 'message'; text: string; direct: boolean })
  | (InboundBase & { kind: 'mention'; text: string })
  | (InboundBase & { kind: 'command'; text: string })
  /** A press on one of a message's own buttons (`OutMessage.actions`), routed to the handler of its action. */
  | (InboundBase & { kind: 'action'; action: string; value: string })
  | (InboundBase & {
      kind: 'button';
      action: 'approve' | 'reject';
      ticketId: string;
      /** The card message the button is on. */
      cardMessageId: string;
    });

/** An approval ticket as a card shows it: always rebuilt from the ticket, never from the press. */
export interface ApprovalCard {
  ticketId: string;
  tool: string;
  call: string;
  plan: string;
  requester: string;
  expiresAt: string;
  status: string;
  approvals: string[];
  required: number;
  /** Set once decided: who, when and what happened. */
  outcome?: string;
  /** Shown under the card for the last press that was refused (own ticket, not allowed…). */
  notice?: string;
}

/**
 * A button on a message that is not an approval card (an alert thread's Acknowledge, say). A press
 * comes back as an `action` event with the same `action` and `value`; what it does is up to the
 * handler registered for the action (`ChatCore.onAction`), as the person who pressed it.
 */
export interface MessageAction {
  /** `alert_ack`: lower case, digits and `_`, at most 40 characters. */
  action: string;
  /** What the press is about (an alert group id): letters, digits and `_.:-`, at most 64 characters. */
  value: string;
  label: string;
  style?: 'primary' | 'danger';
}

export const ACTION_NAME = /^[a-z][a-z0-9_]{0,39}$/;
export const ACTION_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A platform-neutral message; adapters render it (Slack: Block Kit). */
export interface OutMessage {
  text: string;
  card?: ApprovalCard;
  /** Buttons under the text (not on approval cards, which have their own). */
  actions?: MessageAction[];
  /**
   * An interim message that an update will replace ("Working on it…"): a platform that streams
   * replies (WeCom's intelligent robot) keeps it open until the update that is not interim.
   */
  progress?: boolean;
}

/** A file for the thread: a chart a tool drew, say. Stored in the outbox until it is out. */
export interface ChatFile {
  /** File name with extension (`chart-1.png`). */
  name: string;
  /** What the file shows, as its title under the image. */
  title: string;
  mimeType: string;
  /** The bytes, base64. */
  data: string;
}

/** Outbound operations, as the outbox stores them. `key` names a message the outbox posted. */
export type OutboundOp =
  | { op: 'post'; place: Place; message: OutMessage; key: string }
  | { op: 'upload'; place: Place; file: ChatFile; key: string }
  | { op: 'update'; channel: string; key: string; message: OutMessage }
  | { op: 'update-ref'; channel: string; messageId: string; message: OutMessage };

/** A platform refused for now: try again after `retryAfterMs`. Anything else thrown is retried with backoff. */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** A platform refused for good (channel not found, not in channel): the message is dropped and logged. */
export class Undeliverable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Undeliverable';
  }
}

/** Transport only: what an adapter must do for the core. */
export interface ChatTransport {
  readonly platform: string;
  /** Posts; `key` is the outbox's key for it, carried with the message where the platform allows. */
  post(place: Place, message: OutMessage, key?: string): Promise<{ messageId: string }>;
  /**
   * The id of a message already posted under `key` in the place since `sinceMs`, if the platform can
   * tell: asked before posting again what an earlier attempt may have delivered (a crash or a
   * timeout after the platform took it), so a retry never posts twice.
   */
  findPosted?(place: Place, key: string, sinceMs: number): Promise<string | undefined>;
  update(channel: string, messageId: string, message: OutMessage): Promise<void>;
  /** Shares a file in the place (Slack: files.uploadV2 into the thread). */
  upload(place: Place, file: ChatFile): Promise<void>;
  /**
   * Whether this process can send now. A transport bound to one connection (the WeCom intelligent
   * robot answers over its WebSocket) is not ready while another process holds that connection: its
   * outbox then claims nothing and leaves the shared store to the sender that can. Absent: always.
   */
  ready?(): boolean;
}

/** What a channel allows and where its questions point by default. */
export interface ChannelBinding {
  channel: string;
  cluster?: string;
  namespace?: string;
  /** false: no change may be requested or approved from this channel (a public channel, say). */
  allowWrites: boolean;
}

export interface Asker {
  principal: Principal;
  person: string;
}
