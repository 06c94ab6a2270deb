import { pino } from 'pino';

export type Logger = pino.Logger;

/** Logs always go to stderr: stdout belongs to the MCP stdio transport and to CLI output. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'kubemate' } }, pino.destination(2));
}

export const silentLogger: Logger = pino({ level: 'silent' });
