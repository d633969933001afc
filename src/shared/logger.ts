import { pino, type Logger } from 'pino';

export type { Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The platform logger; pass it down explicitly and take a child per request or invocation. */
export function createLogger(level: LogLevel, destination?: number | NodeJS.WritableStream): Logger {
  const options = { level, base: { svc: 'skiff' } };
  if (destination === undefined) return pino(options);
  return pino(options, typeof destination === 'number' ? pino.destination(destination) : destination);
}
