/** The FIFO queue of a pool's invocations waiting for a free slot. */
import { SkiffError } from '../shared/errors.js';
import type { Invocation, Result } from '../model/invocation.js';
import { probes, probeStart, publishSince } from '../shared/probes.js';

export interface Waiter {
  inv: Invocation;
  resolve: (result: Result) => void;
  reject: (err: SkiffError) => void;
  timer: NodeJS.Timeout;
  /** When it was queued (performance.now()), 0 when nobody observes queue waits. */
  since: number;
}

/** The oldest waiter, out of the queue, its timer cleared and its wait published (shared/probes.ts). */
export function takeWaiter(queue: Waiter[], fn: string): Waiter {
  const waiter = queue.shift() as Waiter;
  clearTimeout(waiter.timer);
  publishSince(probes.queueWait, waiter.since, fn, {});
  return waiter;
}

function remove(queue: Waiter[], waiter: Waiter): boolean {
  const at = queue.indexOf(waiter);
  if (at < 0) return false;
  queue.splice(at, 1);
  return true;
}

/**
 * Puts `inv` at the end of `queue` until the pool hands it to a slot (and settles it), `waitMs` pass
 * or the caller's deadline does (then it fails with `timedOut(byDeadline)`), or its caller ends.
 */
export function waitInQueue(
  queue: Waiter[],
  inv: Invocation,
  waitMs: number,
  timedOut: (byDeadline: boolean) => SkiffError,
): Promise<Result> {
  // a call waits no longer than its caller's deadline: then nobody waits for its answer
  const untilDeadline = inv.deadline > 0 ? Math.max(0, inv.deadline - Date.now()) : Infinity;
  return new Promise<Result>((resolve, reject) => {
    const waiter: Waiter = {
      inv,
      resolve,
      reject,
      timer: setTimeout(
        () => {
          remove(queue, waiter);
          reject(timedOut(untilDeadline < waitMs));
        },
        Math.min(waitMs, untilDeadline),
      ),
      since: probeStart(probes.queueWait),
    };
    queue.push(waiter);
    // its caller ended while it waited: it leaves the queue
    inv.signal?.addEventListener(
      'abort',
      () => {
        if (!remove(queue, waiter)) return;
        clearTimeout(waiter.timer);
        reject(
          new SkiffError('SKIFF_E_CANCELLED', 'the invocation was cancelled while queued: its caller ended'),
        );
      },
      { once: true },
    );
  });
}
