/**
 * Asynchronous invocations: accepted into the durable queue (on disk before the 202), delivered by a
 * worker at least once, retried after a function error (`retries`, exponential back-off) and after a
 * platform-side refusal (until the maximum event age), then dead-lettered (`failed`) or `expired`.
 * RELIABILITY.md G1-G5 and G10.
 */
import { randomUUID } from 'node:crypto';
import { SkiffError, toSkiffError, type ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { outboundRequest, type OutboundPolicy } from '../shared/outbound.js';
import type { AsyncRecord, AsyncRequest, QueueStore } from '../store/queue-store.js';
import type { Invocation, Result } from './types.js';

export interface AsyncSettings {
  /** Retries after a function error, 0-2 (AWS Lambda's default: 2). */
  retries: number;
  /** First retry after this long; each next one waits twice as long. */
  retryBaseMs: number;
  /** An invocation not delivered within this long after it was accepted expires. */
  maxEventAgeMs: number;
  /** Invocations delivered at once, over all functions. */
  concurrency: number;
  /** Largest async request body. */
  maxBodyBytes: number;
}

export interface AsyncQueueDeps {
  store: QueueStore;
  settings: AsyncSettings;
  /** Runs one attempt (the router); the invocation id is the accepted id on every attempt. */
  invoke(inv: Invocation): Promise<Result>;
  logger: Logger;
  /** Where callbacks may go (`outbound.allowPrivate`); private destinations are refused without it. */
  outbound?: OutboundPolicy;
}

/** Refusals of the platform (capacity, shutdown): retried until the event is too old, never counted. */
const PLATFORM_REFUSALS = new Set<ErrorCode>([
  'SKIFF_E_TOO_MANY_REQUESTS',
  'SKIFF_E_QUEUE_TIMEOUT',
  'SKIFF_E_CRASH_LOOP',
  'SKIFF_E_SHUTTING_DOWN',
  'SKIFF_E_INTERNAL',
]);
/** Errors no retry can fix. */
const PERMANENT = new Set<ErrorCode>(['SKIFF_E_FUNCTION_NOT_FOUND', 'SKIFF_E_PAYLOAD_TOO_LARGE']);
const REFUSAL_BACKOFF_MAX_MS = 30_000;

export type NewAsync = Omit<AsyncRequest, 'id' | 'maxRetries' | 'expiresAt' | 'trigger'> & {
  /** What queued it; `async` when omitted (an HTTP call with X-Skiff-Async). */
  trigger?: 'async' | 'cron' | 'mqtt';
};

export class AsyncQueue {
  private running = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: AsyncQueueDeps) {}

  /** Requeues what a previous run left running and starts delivering. */
  start(): void {
    const requeued = this.deps.store.requeueRunning();
    if (requeued > 0)
      this.deps.logger.warn({ requeued }, 'async invocations interrupted by a stop are queued again');
    this.wake();
  }

  /** Writes the invocation to disk (fsynced) and returns its id: only then may a 202 be sent. */
  accept(req: NewAsync): string {
    const id = randomUUID();
    const { retries, maxEventAgeMs } = this.deps.settings;
    this.deps.store.accept({
      ...req,
      id,
      trigger: req.trigger ?? 'async',
      maxRetries: retries,
      expiresAt: Date.now() + maxEventAgeMs,
    });
    this.wake();
    return id;
  }

  get(id: string): AsyncRecord | undefined {
    return this.deps.store.get(id);
  }

  /** Stops taking work and waits (up to graceMs) for the attempts in flight; the rest stays queued. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.race([
      Promise.all(this.inFlight),
      new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
    ]);
  }

  /** Claims what is due, up to the concurrency, and sleeps until the next due time. */
  private wake(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const free = this.deps.settings.concurrency - this.running;
    if (free > 0) {
      for (const record of this.deps.store.claim(free)) {
        // a store that closed under a stop leaves the record running: queued again at the next start
        this.track(
          this.deliver(record).catch((err: unknown) =>
            this.deps.logger.warn({ err, invocation: record.id }, 'async delivery interrupted'),
          ),
        );
      }
    }
    if (this.running >= this.deps.settings.concurrency) return; // an attempt that ends wakes us
    const next = this.deps.store.nextDue();
    if (next === null) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, next - Date.now()));
    this.timer.unref();
  }

  private track(p: Promise<void>): void {
    this.running++;
    this.inFlight.add(p);
    void p.finally(() => {
      this.running--;
      this.inFlight.delete(p);
      this.wake();
    });
  }

  private async deliver(record: AsyncRecord): Promise<void> {
    const { store, settings, logger } = this.deps;
    const now = Date.now();
    if (now > record.expiresAt) {
      store.finish(record.id, 'expired', {
        counted: false,
        error: { code: 'SKIFF_E_EXPIRED', message: `not delivered within ${settings.maxEventAgeMs} ms` },
      });
      return this.callback(record.id);
    }
    const inv: Invocation = {
      id: record.id,
      function: record.function,
      trigger: record.trigger === 'cron' || record.trigger === 'mqtt' ? record.trigger : 'async',
      method: record.method,
      path: record.path,
      query: record.query,
      headers: record.headers,
      body: record.body,
      deadline: 0,
      host: record.host,
    };
    try {
      const result = await this.deps.invoke(inv);
      store.finish(record.id, 'succeeded', {
        counted: true,
        attempt: { at: now, outcome: `status ${result.status}` },
        result,
      });
    } catch (err) {
      const error = toSkiffError(err);
      const attempt = { at: now, outcome: error.code };
      if (PLATFORM_REFUSALS.has(error.code)) {
        // not the function's fault: try again later, without using up a retry
        const wait = Math.min(REFUSAL_BACKOFF_MAX_MS, Math.max(error.retryAfterSec ?? 1, 0.1) * 1000);
        store.retry(record.id, Date.now() + wait, attempt, false);
        return;
      }
      const ran = record.attempts + 1;
      if (!PERMANENT.has(error.code) && ran <= record.maxRetries) {
        const wait = settings.retryBaseMs * 2 ** (ran - 1);
        store.retry(record.id, Date.now() + wait, attempt, true);
        return;
      }
      logger.warn(
        { invocation: record.id, fn: record.function, code: error.code },
        'async invocation failed',
      );
      store.finish(record.id, 'failed', {
        counted: !PERMANENT.has(error.code),
        attempt,
        error: { code: error.code, message: error.message },
      });
    }
    return this.callback(record.id);
  }

  /**
   * POSTs the final record to the callback URL given at accept, once (best effort, 10 s), under the
   * outbound policy: the address is checked again on what DNS gives now, no redirect is followed (a
   * 3xx is recorded as the callback's status) and the answer is read up to 64 KiB.
   */
  private async callback(id: string): Promise<void> {
    const record = this.deps.store.get(id);
    if (record?.callbackUrl == null) return;
    try {
      const res = await outboundRequest(
        record.callbackUrl,
        'X-Callback-Url',
        this.deps.outbound ?? { allowPrivate: false },
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-skiff-invocation-id': id },
          body: JSON.stringify(asyncView(record)),
          timeoutMs: 10_000,
          maxResponseBytes: 64 * 1024,
        },
      );
      this.deps.store.setCallbackStatus(id, res.status);
    } catch (err) {
      this.deps.logger.warn({ err, invocation: id }, 'async callback failed');
      this.deps.store.setCallbackStatus(id, 0);
    }
  }
}

/** The JSON view of an async invocation (API and callback): the body as base64. */
export function asyncView(r: AsyncRecord) {
  return {
    id: r.id,
    function: r.function,
    trigger: r.trigger,
    status: r.status,
    attempts: r.attempts,
    createdAt: new Date(r.createdAt).toISOString(),
    finishedAt: r.finishedAt === null ? null : new Date(r.finishedAt).toISOString(),
    result:
      r.result === null
        ? null
        : { status: r.result.status, headers: r.result.headers, body: r.result.body.toString('base64') },
    error: r.error,
    history: r.history.map((h) => ({ at: new Date(h.at).toISOString(), outcome: h.outcome })),
    callbackStatus: r.callbackStatus,
  };
}

export function asyncNotFound(id: string): SkiffError {
  return new SkiffError(
    'SKIFF_E_INVOCATION_NOT_FOUND',
    `no asynchronous invocation with id ${JSON.stringify(id)}`,
  );
}
