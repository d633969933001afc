/** What the async queue is configured with and given (server.ts), and what callers hand it. */
import type { Logger } from '../shared/logger.js';
import type { OutboundPolicy } from '../shared/outbound.js';
import type { AsyncRecord, AsyncRequest, QueueStore } from '../store/queue-store.js';
import type { Invocation, Result } from '../model/invocation.js';

export interface AsyncSettings {
  /** Retries after a function error, 0-2 (AWS Lambda's default: 2). */
  retries: number;
  /** First retry after this long; each next one waits twice as long. */
  retryBaseMs: number;
  /** An invocation not delivered within this long after it was accepted expires. */
  maxEventAgeMs: number;
  /** Invocations delivered at once, over all functions. */
  concurrency: number;
  /** Of those, at most this many of one function (null or absent: half of `concurrency`, at least 1). */
  maxConcurrencyPerFunction?: number | null;
  /** Largest async request body. */
  maxBodyBytes: number;
  /** Bytes of invocations not final yet (queued or running) beyond which new ones are refused. */
  maxQueuedBytes: number;
  /**
   * Bytes of one function's invocations not final yet beyond which new ones for it are refused, so
   * that one caller cannot take the whole queue (null or absent: a quarter of maxQueuedBytes).
   */
  maxQueuedBytesPerFunction?: number | null;
}

export interface AsyncQueueDeps {
  store: QueueStore;
  settings: AsyncSettings;
  /** Runs one attempt (the router); the invocation id is the accepted id on every attempt. */
  invoke(inv: Invocation): Promise<Result>;
  logger: Logger;
  /** Where callbacks may go (`outbound.allowPrivate`); private destinations are refused without it. */
  outbound?: OutboundPolicy;
  /** Told after each attempt ends (retention checks its caps). */
  onSettled?: () => void;
  /** False when writing this many bytes would eat into the disk's reserve (then 507). */
  diskRoom?: (bytes: number) => boolean;
  /**
   * Asked before each attempt: throws a SkiffError when the invocation may no longer run (its target
   * was deleted and made again since, or no longer accepts casts from its caster). Such an error is
   * final: the invocation is dead-lettered with it.
   */
  admit?: (record: AsyncRecord) => void;
}

export type NewAsync = Omit<AsyncRequest, 'id' | 'maxRetries' | 'expiresAt' | 'trigger' | 'nextAt'> & {
  /** What queued it; `async` when omitted (an HTTP call with X-Skiff-Async). */
  trigger?: 'async' | 'cron' | 'mqtt' | 'cast';
  /**
   * Milliseconds before it may run (a delayed cast): its first due time, kept on disk, so it runs no
   * earlier also after a restart. The maximum event age counts from that due time.
   */
  delayMs?: number;
};
