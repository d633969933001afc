/** The `async` section of the configuration: the durable queue of asynchronous invocations. */
import { z } from 'zod';
import { bytes, MiB, millis } from './config-fields.js';

/** Asynchronous invocations (`X-Skiff-Async: true` or `Prefer: respond-async`): the durable queue. */
export const asyncConfigSchema = z
  .object({
    retries: z.number().int().min(0).max(2).default(2),
    retryBaseMs: millis(1_000),
    maxEventAgeMs: millis(6 * 3_600_000),
    concurrency: z.number().int().min(1).max(1_000).default(32),
    /**
     * Of those, at most this many of one function at once, so that one function's backlog leaves
     * room for the others (null: half of concurrency, at least 1).
     */
    maxConcurrencyPerFunction: z.number().int().min(1).max(1_000).nullable().default(null),
    /** 256 KiB by default, at most 1 MiB (docs/guarantees.md). */
    maxBodyBytes: bytes(256 * 1024, MiB),
    /** Bytes of invocations not final yet; one more gets 503 SKIFF_E_QUEUE_FULL. */
    maxQueuedBytes: bytes(256 * MiB, Number.MAX_SAFE_INTEGER),
    /**
     * Bytes of one function's invocations not final yet; one more for it gets 503
     * SKIFF_E_QUEUE_FULL while other functions are still accepted (null: a quarter of
     * maxQueuedBytes).
     */
    maxQueuedBytesPerFunction: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().default(null),
    /** How long final records (results and dead letters) are kept, and how many. */
    retention: z
      .object({
        succeededMs: millis(24 * 3_600_000),
        /** `failed` (the dead letters) and `expired` records. */
        failedMs: millis(7 * 24 * 3_600_000),
        maxRecords: z.number().int().min(1).default(100_000),
        maxBytes: bytes(1024 * MiB, Number.MAX_SAFE_INTEGER),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});
