/**
 * Asynchronous invocations: accepted into the durable queue (on disk before the 202), delivered by a
 * worker at least once, retried after a function error (`retries`, exponential back-off) and after a
 * platform-side refusal (until the maximum event age), then dead-lettered (`failed`) or `expired`.
 * docs/guarantees.md G1-G5 and G10.
 *
 * An attempt is counted on disk before it is dispatched, so one the platform died during still counts:
 * an invocation that kills the platform is dead-lettered after `retries + 1` such attempts instead of
 * crashing it at every start. The bytes waiting are capped (`maxQueuedBytes`): over it, 503
 * SKIFF_E_QUEUE_FULL before anything is written; a full disk gives 507 SKIFF_E_DISK_FULL, never a 202.
 */
import { incomingTrace } from '../shared/trace-context.js';
import { randomUUID } from 'node:crypto';
import type { Channel } from 'node:diagnostics_channel';
import { SkiffError, toSkiffError } from '../shared/errors.js';
import { probes, publishPlatformRefusal, type AsyncDeadLetter, type AsyncRetry } from '../shared/probes.js';
import { requestBytes } from '../store/queue-accounting.js';
import { shareOf, type AsyncRecord, type AsyncRequest } from '../store/queue-store.js';
import type { Result } from '../model/invocation.js';
import {
  PERMANENT,
  PLATFORM_REFUSALS,
  postCallback,
  QUEUE_FULL_RETRY_AFTER_SEC,
  REFUSAL_BACKOFF_MAX_MS,
  STORE_RETRY_MS,
  toInvocation,
} from './async-attempts.js';
import type { AsyncQueueDeps, NewAsync } from './async-settings.js';

export type { AsyncQueueDeps, AsyncSettings, NewAsync } from './async-settings.js';

export class AsyncQueue {
  private running = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Attempts in flight, by invocation id. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Attempts whose outcome could not be written (a full disk): recorded as interrupted later. */
  private readonly unrecorded = new Set<string>();

  constructor(private readonly deps: AsyncQueueDeps) {}

  /**
   * Deals with what a previous run left running (the platform stopped during those attempts: each
   * counts; queued again, or dead-lettered when none is left) and starts delivering.
   */
  start(): void {
    const { requeued, failed } = this.deps.store.interrupted();
    if (requeued > 0)
      this.deps.logger.warn({ requeued }, 'async invocations interrupted by a stop are queued again');
    this.deadLettered(failed);
    this.wake();
  }

  /**
   * Writes the invocation to disk (fsynced) and returns its id: only then may a 202 be sent. Throws
   * SKIFF_E_QUEUE_FULL (nothing written) over `maxQueuedBytes`, SKIFF_E_DISK_FULL on a full disk.
   */
  accept(req: NewAsync): string {
    const [outcome] = this.acceptGroups([[req]]);
    if (outcome instanceof Error || outcome === undefined) throw outcome ?? new Error('nothing accepted');
    return outcome[0] as string;
  }

  /**
   * Writes several groups of invocations in one transaction (one fsync for all): each group whole or
   * not at all (a cast to several targets queues all of them or none). Returns per group its ids, or
   * the SkiffError it was refused with (SKIFF_E_QUEUE_FULL, SKIFF_E_DISK_FULL); the caps count what
   * the groups before it take.
   */
  acceptGroups(groups: readonly (readonly NewAsync[])[]): (string[] | SkiffError)[] {
    const { retries, maxEventAgeMs, maxQueuedBytes } = this.deps.settings;
    const perShare = this.deps.settings.maxQueuedBytesPerFunction ?? Math.floor(maxQueuedBytes / 4);
    let total = this.deps.store.queuedBytes;
    const shares = new Map<string, number>();
    const outcomes: (string[] | SkiffError)[] = [];
    const records: AsyncRequest[] = [];
    const taken: number[] = [];
    for (const group of groups) {
      const now = Date.now();
      const built = group.map((req) => {
        const { delayMs, ...request } = req;
        const nextAt = now + Math.max(0, delayMs ?? 0);
        return {
          ...request,
          id: randomUUID(),
          trigger: req.trigger ?? 'async',
          // the trace its runs continue is fixed at accept: the request's traceparent, or a new one
          trace: req.trace ?? incomingTrace(req.headers),
          maxRetries: retries,
          nextAt,
          expiresAt: nextAt + maxEventAgeMs,
        };
      });
      const bytes = built.reduce((sum, r) => sum + requestBytes(r), 0);
      const refusal = this.refusal(built, bytes, total, shares, perShare);
      if (refusal !== undefined) {
        if (refusal.code === 'SKIFF_E_QUEUE_FULL') publishPlatformRefusal('async_queue_full');
        outcomes.push(refusal);
        continue;
      }
      total += bytes;
      for (const r of built) shares.set(shareOf(r), (shares.get(shareOf(r)) ?? 0) + requestBytes(r));
      records.push(...built);
      taken.push(outcomes.length);
      outcomes.push(built.map((r) => r.id));
    }
    if (records.length === 0) return outcomes;
    let ids: string[];
    try {
      ids = this.deps.store.acceptAll(records);
    } catch (err) {
      const error = this.storeFailed(err);
      for (const i of taken) outcomes[i] = error;
      return outcomes;
    }
    // a cast already queued by an earlier attempt of its parent answers with that invocation's id
    let at = 0;
    for (const i of taken) {
      const group = outcomes[i] as string[];
      outcomes[i] = group.map(() => ids[at++] as string);
    }
    this.wake();
    return outcomes;
  }

  /** Why a group of `bytes` cannot be queued on top of what is waiting and being added, or undefined. */
  private refusal(
    group: readonly AsyncRequest[],
    bytes: number,
    total: number,
    adding: ReadonlyMap<string, number>,
    perShare: number,
  ): SkiffError | undefined {
    const { maxQueuedBytes } = this.deps.settings;
    if (total + bytes > maxQueuedBytes) {
      return new SkiffError(
        'SKIFF_E_QUEUE_FULL',
        `the async queue is full (async.maxQueuedBytes ${maxQueuedBytes} bytes waiting); retry later`,
        { retryAfterSec: QUEUE_FULL_RETRY_AFTER_SEC },
      );
    }
    const byShare = new Map<string, number>();
    for (const r of group) byShare.set(shareOf(r), (byShare.get(shareOf(r)) ?? 0) + requestBytes(r));
    for (const [share, more] of byShare) {
      if (this.deps.store.queuedBytesOf(share) + (adding.get(share) ?? 0) + more <= perShare) continue;
      const what = group.some((r) => r.chain?.caller === share)
        ? `the casts function ${share} has made`
        : `function ${share}`;
      return new SkiffError(
        'SKIFF_E_QUEUE_FULL',
        `the async queue holds as much for ${what} as one function may have waiting (async.maxQueuedBytesPerFunction ${perShare} bytes; a function's casts count against its own share); retry later`,
        { retryAfterSec: QUEUE_FULL_RETRY_AFTER_SEC },
      );
    }
    if (this.deps.diskRoom?.(bytes) === false) {
      return new SkiffError(
        'SKIFF_E_DISK_FULL',
        "the data directory's disk is almost full (below disk.reserveBytes free); retry later",
      );
    }
    return undefined;
  }

  get(id: string): AsyncRecord | undefined {
    return this.deps.store.get(id);
  }

  /**
   * Stops taking work and waits (up to graceMs) for the attempts in flight. Those still running then
   * go back to the queue uncounted (a graceful stop is not the function's fault); their outcome, if
   * one still comes, is dropped, and they run again at the next start.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.race([
      Promise.all(this.inFlight.values()),
      new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
    ]);
    if (this.inFlight.size === 0) return;
    try {
      this.deps.store.release([...this.inFlight.keys()]);
    } catch (err) {
      // left running: counted as interrupted at the next start
      this.deps.logger.warn({ err }, 'async invocations in flight could not be released at the stop');
    }
  }

  /** One share's most attempts at once (null: half of the slots, at least one). */
  private get perFunction(): number {
    const { concurrency, maxConcurrencyPerFunction } = this.deps.settings;
    return maxConcurrencyPerFunction ?? Math.max(1, Math.floor(concurrency / 2));
  }

  /** Claims what is due, up to the concurrency, and sleeps until the next due time. */
  private wake(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    let next: number | null;
    try {
      this.recordUnrecorded();
      const free = this.deps.settings.concurrency - this.running;
      if (free > 0) {
        for (const record of this.deps.store.claim(free, Date.now(), this.perFunction)) this.track(record);
      }
      if (this.running >= this.deps.settings.concurrency) return; // an attempt that ends wakes us
      // what waits at its share's cap is claimed when one of its attempts ends (that wakes us)
      next = this.deps.store.nextDue(this.perFunction);
    } catch (err) {
      // the store refused a write (a full disk): nothing is lost, the worker tries again soon
      const error = this.storeFailed(err);
      this.deps.logger.warn({ err, code: error.code }, 'the async queue cannot claim work; retrying');
      next = Date.now() + STORE_RETRY_MS;
    }
    if (next === null) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, next - Date.now()));
    this.timer.unref();
  }

  /**
   * A write of the store failed: as a SkiffError. On a full disk (the ballast has just been deleted
   * by the report) the WAL is checkpointed and emptied, so the worker can record outcomes again.
   */
  private storeFailed(err: unknown): SkiffError {
    const error = toSkiffError(err);
    if (error.code === 'SKIFF_E_DISK_FULL') this.deps.store.checkpoint();
    return error;
  }

  private track(record: AsyncRecord): void {
    const p = this.deliver(record).catch((err: unknown) => {
      // the outcome could not be written (a full disk, or a store closed under a stop): the record
      // stays running; it is recorded as an interrupted attempt when the store takes writes again
      this.deps.logger.warn({ err, invocation: record.id }, 'async delivery interrupted');
      this.storeFailed(err);
      if (!this.stopped) this.unrecorded.add(record.id);
    });
    this.running++;
    this.inFlight.set(record.id, p);
    void p.finally(() => {
      this.running--;
      this.inFlight.delete(record.id);
      this.deps.onSettled?.();
      this.wake();
    });
  }

  /** Attempts whose outcome was lost to a failed write: counted, queued again or dead-lettered. */
  private recordUnrecorded(): void {
    if (this.unrecorded.size === 0) return;
    const ids = [...this.unrecorded];
    const { failed } = this.deps.store.interrupted(ids);
    this.unrecorded.clear();
    this.deadLettered(failed);
  }

  private deadLettered(ids: readonly string[]): void {
    for (const id of ids) {
      this.deps.logger.warn(
        { invocation: id },
        'async invocation failed: the platform stopped during every attempt',
      );
      void this.callback(id);
    }
  }

  private async deliver(record: AsyncRecord): Promise<void> {
    const { store, settings } = this.deps;
    const now = Date.now();
    if (now > record.expiresAt) {
      const expired = store.finish(record.id, 'expired', {
        counted: false,
        error: { code: 'SKIFF_E_EXPIRED', message: `not delivered within ${settings.maxEventAgeMs} ms` },
      });
      if (expired) publishAsync(probes.asyncDeadLetter, { function: record.function, reason: 'expired' });
      return expired ? this.callback(record.id) : undefined;
    }
    const inv = toInvocation(record);
    let result: Result;
    try {
      this.deps.admit?.(record);
      result = await this.deps.invoke(inv);
    } catch (err) {
      return this.failed(record, toSkiffError(err), now);
    }
    const done = store.finish(record.id, 'succeeded', {
      counted: true,
      attempt: { at: now, outcome: `status ${result.status}` },
      result,
    });
    // false: released by a stop meanwhile; it runs again at the next start (at-least-once)
    if (done) await this.callback(record.id);
  }

  /** An attempt that failed: retried, or dead-lettered when no retry is left. */
  private async failed(record: AsyncRecord, error: SkiffError, at: number): Promise<void> {
    const { store, settings, logger } = this.deps;
    const attempt = { at, outcome: error.code };
    if (PLATFORM_REFUSALS.has(error.code)) {
      // not the function's fault: try again later, without using up a retry
      const wait = Math.min(REFUSAL_BACKOFF_MAX_MS, Math.max(error.retryAfterSec ?? 1, 0.1) * 1000);
      store.retry(record.id, Date.now() + wait, attempt, false);
      publishAsync(probes.asyncRetry, { function: record.function, refused: true });
      return;
    }
    // the attempt was counted when it was claimed
    const ran = record.attempts;
    if (!PERMANENT.has(error.code) && ran <= record.maxRetries) {
      const wait = settings.retryBaseMs * 2 ** (ran - 1);
      store.retry(record.id, Date.now() + wait, attempt, true);
      publishAsync(probes.asyncRetry, { function: record.function, refused: false });
      return;
    }
    logger.warn({ invocation: record.id, fn: record.function, code: error.code }, 'async invocation failed');
    const done = store.finish(record.id, 'failed', {
      counted: !PERMANENT.has(error.code),
      attempt,
      error: { code: error.code, message: error.message },
    });
    if (done) publishAsync(probes.asyncDeadLetter, { function: record.function, reason: 'failed' });
    if (done) await this.callback(record.id);
  }

  /** POSTs the final record to its callback URL, if it has one (async-attempts.ts). */
  private callback(id: string): Promise<void> {
    return postCallback(this.deps, id);
  }
}

/** Publishes a queue event for observers while one listens (shared/probes.ts). */
function publishAsync(ch: Channel, message: AsyncRetry | AsyncDeadLetter): void {
  if (ch.hasSubscribers) ch.publish(message);
}
