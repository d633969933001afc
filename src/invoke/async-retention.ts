/**
 * Housekeeping of the async queue: deletes final records (results and dead letters) past their
 * retention time, and the oldest beyond the count and byte caps; at start, periodically, and soon
 * after an attempt ends while a cap is exceeded. It deletes in small batches and yields to the event
 * loop between them, so a large backlog never blocks the platform. Each round also lets the disk
 * ballast be written again once there is room.
 */
import type { Logger } from '../shared/logger.js';
import type { QueueStore } from '../store/queue-store.js';

export interface RetentionSettings {
  succeededMs: number;
  failedMs: number;
  maxRecords: number;
  maxBytes: number;
}

const BATCH = 200;
/** Batches in one round at most; the next round goes on. */
const MAX_BATCHES = 500;
const MAX_INTERVAL_MS = 60_000;
const MIN_INTERVAL_MS = 100;

export class QueueRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly intervalMs: number;

  constructor(
    private readonly deps: {
      store: QueueStore;
      settings: RetentionSettings;
      logger: Logger;
      /** Called at every round (the disk ballast). */
      onRound?: () => void;
    },
  ) {
    const { succeededMs, failedMs } = deps.settings;
    this.intervalMs = Math.max(
      MIN_INTERVAL_MS,
      Math.min(MAX_INTERVAL_MS, Math.floor(Math.min(succeededMs, failedMs) / 2)),
    );
  }

  /** A round now, then one every interval. */
  start(): void {
    void this.round();
  }

  /** A round soon when a cap is exceeded (after an attempt ended). */
  kick(): void {
    const { count, bytes } = this.deps.store.finished;
    if (count > this.deps.settings.maxRecords || bytes > this.deps.settings.maxBytes) void this.round();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One round; a call during a round makes one more follow it. */
  round(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    clearTimeout(this.timer);
    this.running = this.prune().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        void this.round();
        return;
      }
      this.timer = setTimeout(() => void this.round(), this.intervalMs);
      this.timer.unref();
    });
    return this.running;
  }

  private async prune(): Promise<void> {
    const { store, settings, logger } = this.deps;
    try {
      this.deps.onRound?.();
    } catch (err) {
      logger.warn({ err }, 'disk housekeeping failed');
    }
    let deleted = 0;
    try {
      for (let i = 0; i < MAX_BATCHES && !this.stopped; i++) {
        const now = Date.now();
        const n = store.prune(
          {
            succeededBefore: now - settings.succeededMs,
            failedBefore: now - settings.failedMs,
            maxRecords: settings.maxRecords,
            maxBytes: settings.maxBytes,
          },
          BATCH,
        );
        deleted += n;
        if (n < BATCH) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      logger.warn({ err }, 'pruning old async invocation records failed; trying again later');
    }
    if (deleted > 0) logger.debug({ deleted }, 'old async invocation records deleted');
  }
}
