/**
 * The chat platforms Kubemate's own posts (alert threads, scheduled reports, canary steps) can go
 * to, and what each one's API allows: threads, files, how long a message may be, how a place is
 * named. Alert routes, inspection plans and canary notices all read this one table.
 */
export const CHAT_PLATFORMS = ['slack', 'feishu', 'dingtalk', 'wecom'] as const;
export type ChatPlatform = (typeof CHAT_PLATFORMS)[number];

export interface PlatformTraits {
  /** Whether a post can go into the thread of another (DingTalk and WeCom cannot). */
  threads: boolean;
  /** Whether a file other than an image (an HTML report) can be shared (DingTalk's robot cannot). */
  files: boolean;
  /**
   * Bytes of one text post Kubemate splits at itself, with room for the platform's own rendering
   * (Slack: 40 sections of 3,000 characters; Feishu: a card's 30 KB; DingTalk: what the transport
   * sends in one text; WeCom: 2,048 bytes of a text message).
   */
  textBytes: number;
  /** How a place on this platform is written, for errors. */
  place: string;
  /** A place on this platform, as written after `<platform>:`. */
  placePattern: RegExp;
  /** Where the platform's bot block is described. */
  docs: string;
}

export const PLATFORM_TRAITS: Record<ChatPlatform, PlatformTraits> = {
  slack: {
    threads: true,
    files: true,
    textBytes: 12_000,
    place: 'a channel id such as slack:C0123ABCD',
    placePattern: /^[CGD][A-Z0-9]{2,}$/,
    docs: 'docs/chat.md',
  },
  feishu: {
    threads: true,
    files: true,
    textBytes: 7_500,
    place: 'a chat id such as feishu:oc_5ad11d72b830411d72b836c20',
    placePattern: /^oc_[A-Za-z0-9]+$/,
    docs: 'docs/chat-feishu.md',
  },
  dingtalk: {
    threads: false,
    files: false,
    textBytes: 5_800,
    place: 'a group openConversationId such as dingtalk:cidXXXXXXXX==, or a person as dingtalk:dm:<staffId>',
    placePattern: /^(cid[A-Za-z0-9+/=_-]+|dm:[A-Za-z0-9_.@-]{1,64})$/,
    docs: 'docs/chat-dingtalk.md',
  },
  wecom: {
    threads: false,
    files: true,
    textBytes: 2_000,
    place: 'a userid such as wecom:zhangsan, or several joined with | (wecom:zhangsan|lisi)',
    placePattern: /^[A-Za-z0-9_.@-]{1,64}(\|[A-Za-z0-9_.@-]{1,64}){0,99}$/,
    docs: 'docs/chat-wecom.md',
  },
};

export const isChatPlatform = (p: string): p is ChatPlatform =>
  (CHAT_PLATFORMS as readonly string[]).includes(p);

/** A place written `<platform>:<id>` (`feishu:oc_…`): the platform and the id, or why it is not one. */
export function parseChatTarget(target: string): { platform: ChatPlatform; id: string } | { error: string } {
  const at = target.indexOf(':');
  const platform = at > 0 ? target.slice(0, at) : '';
  const id = at > 0 ? target.slice(at + 1) : '';
  if (!isChatPlatform(platform))
    return {
      error: `'${target}' names no chat platform: write <platform>:<id> with platform one of ${CHAT_PLATFORMS.join(', ')} (e.g. slack:C0123ABCD, feishu:oc_…, dingtalk:cid…==, wecom:zhangsan)`,
    };
  if (!PLATFORM_TRAITS[platform].placePattern.test(id))
    return { error: `'${target}' is not a ${platform} place: write ${PLATFORM_TRAITS[platform].place}` };
  return { platform, id };
}

/** The chat platform a principal acts on (`feishu:ou_…` asked in Feishu), if it came from one. */
export function platformOfPrincipal(id: string): ChatPlatform | undefined {
  const p = id.slice(0, id.indexOf(':'));
  return isChatPlatform(p) ? p : undefined;
}
