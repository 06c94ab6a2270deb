import type { ChatMessage, ToolSpec } from './providers/types.js';

/** About four characters a token, as the pipeline's output shaping counts. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function messageTokens(m: ChatMessage): number {
  const calls = m.role === 'assistant' && m.toolCalls?.length ? JSON.stringify(m.toolCalls) : '';
  return estimateTokens(m.content) + estimateTokens(calls) + 4;
}

export function toolsTokens(tools: ToolSpec[]): number {
  return tools.length ? estimateTokens(JSON.stringify(tools)) : 0;
}

export function promptTokens(messages: ChatMessage[], tools: ToolSpec[]): number {
  return messages.reduce((n, m) => n + messageTokens(m), 0) + toolsTokens(tools);
}

/** Cuts one text to about `tokens` tokens, saying so. */
export function cutToTokens(text: string, tokens: number, what: string): string {
  const max = tokens * 4;
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n… (${what} cut here to fit the token budget: ${estimateTokens(text) - tokens} more tokens left out)`;
}

const TRIMMED = /^\[result of \S+ trimmed/;

export interface FitResult {
  tokens: number;
  /** Tool results replaced by a short note. */
  trimmedResults: number;
  /** Earlier turns of the thread dropped. */
  droppedTurns: number;
  /** Still over the budget after everything that may go has gone. */
  over: boolean;
}

/**
 * Makes the prompt fit the budget, in this order: tool results of earlier rounds become a one-line
 * note (oldest first), then remembered turns of the thread go (oldest first), then the largest
 * result of the newest round is cut, then the newest results become notes too. The system prompt
 * and the question always stay. `memory` is how many messages after the system prompt are
 * remembered turns. Mutates `messages`.
 */
export function fitToBudget(
  messages: ChatMessage[],
  tools: ToolSpec[],
  budget: number,
  memory: { count: number },
): FitResult {
  const result: FitResult = {
    tokens: promptTokens(messages, tools),
    trimmedResults: 0,
    droppedTurns: 0,
    over: false,
  };
  if (result.tokens <= budget) return result;

  const trim = (from: number, to: number) => {
    for (let i = from; i < to && result.tokens > budget; i++) {
      const m = messages[i]!;
      if (m.role !== 'tool' || TRIMMED.test(m.content)) continue;
      const before = messageTokens(m);
      const note = `[result of ${m.name} trimmed to fit the token budget (was about ${before} tokens); call the tool again if you still need it]`;
      messages[i] = { ...m, content: note };
      result.tokens -= before - messageTokens(messages[i]!);
      result.trimmedResults++;
    }
  };
  const newestRound = () => messages.findLastIndex((m) => m.role === 'assistant' && !!m.toolCalls?.length);

  trim(0, Math.max(0, newestRound()));
  while (result.tokens > budget && memory.count > 0) {
    // Remembered turns are user/assistant pairs right after the system prompt.
    const removed = messages.splice(1, Math.min(2, memory.count));
    memory.count -= removed.length;
    result.tokens -= removed.reduce((n, m) => n + messageTokens(m), 0);
    result.droppedTurns++;
  }
  if (result.tokens > budget) {
    let largest = -1;
    for (let i = Math.max(0, newestRound()); i < messages.length; i++) {
      const m = messages[i]!;
      if (m.role === 'tool' && (largest < 0 || messageTokens(m) > messageTokens(messages[largest]!)))
        largest = i;
    }
    if (largest >= 0) {
      const m = messages[largest] as Extract<ChatMessage, { role: 'tool' }>;
      const before = messageTokens(m);
      const keep = before - (result.tokens - budget) - 40;
      if (keep >= 100) {
        messages[largest] = { ...m, content: cutToTokens(m.content, keep, `result of ${m.name}`) };
        result.tokens -= before - messageTokens(messages[largest]!);
      }
    }
  }
  trim(0, messages.length);
  result.over = result.tokens > budget;
  return result;
}
