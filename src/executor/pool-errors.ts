/** The errors a pool answers with, and the few it keeps for the function's status. */
import { SkiffError, type ErrorCode } from '../shared/errors.js';
import type { Scaling } from '../model/scaling.js';

export interface RecentError {
  at: string;
  code: ErrorCode;
  message: string;
}

const RECENT_ERRORS = 10;
/** Errors worth showing in a function's status: the platform's view of its health. */
const NOTEWORTHY = new Set<ErrorCode>([
  'SKIFF_E_INSTANCE_CRASHED',
  'SKIFF_E_OUT_OF_MEMORY',
  'SKIFF_E_INSTANCE_START_FAILED',
  'SKIFF_E_START_TIMEOUT',
  'SKIFF_E_TIMEOUT',
  'SKIFF_E_QUEUE_TIMEOUT',
  'SKIFF_E_TOO_MANY_REQUESTS',
]);

/** Keeps an error worth showing in the function's status in `list` (the last few); returns it. */
export function recordRecent(list: RecentError[], error: SkiffError): SkiffError {
  if (NOTEWORTHY.has(error.code)) {
    list.push({ at: new Date().toISOString(), code: error.code, message: error.message });
    if (list.length > RECENT_ERRORS) list.shift();
  }
  return error;
}

/** Every slot taken and the queue full: answered at once. */
export function atCapacity(fn: string, scaling: Scaling): SkiffError {
  return new SkiffError(
    'SKIFF_E_TOO_MANY_REQUESTS',
    `${fn} is at capacity (${scaling.maxInstances} instances × ${scaling.concurrency} concurrent, ${scaling.maxQueue} queued); retry later`,
    { retryAfterSec: 1 },
  );
}

export function crashLoop(fn: string, failures: number, backoffMs: number): SkiffError {
  return new SkiffError(
    'SKIFF_E_CRASH_LOOP',
    `${fn} keeps crashing (${failures} failures in a row); the next start is in ${Math.ceil(backoffMs / 1000)} s. See \`skiff logs ${fn}\``,
    { retryAfterSec: backoffMs / 1000 },
  );
}

/** A queued call's wait ended: its caller's deadline passed, or maxQueueWaitMs (`noRoom`: in the budget). */
export function queueTimeout(fn: string, waitMs: number, byDeadline: boolean, noRoom: boolean): SkiffError {
  if (byDeadline) {
    return new SkiffError(
      'SKIFF_E_TIMEOUT',
      `the caller's deadline passed while the call waited for a free instance of ${fn}`,
    );
  }
  return new SkiffError(
    'SKIFF_E_QUEUE_TIMEOUT',
    noRoom
      ? `no instance of ${fn} could start within ${waitMs} ms: the platform's instance budget (executor.budget) is taken by instances with work in flight; retry later`
      : `no instance of ${fn} was free within ${waitMs} ms; retry later or raise its maxInstances`,
    { retryAfterSec: 1 },
  );
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** How long a pool waits before starting again after `failures` failed starts in a row (2 or more). */
export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 2));
}
