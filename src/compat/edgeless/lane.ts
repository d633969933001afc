/**
 * One attached instance's lane: the events for it run one at a time, in the order they reached the
 * lane, each to its end before the next starts (a pending Call holds later events back), as an
 * EDGELESS node delivers to an instance. The lane is bounded: past `max` waiting jobs a new one is
 * refused with SKIFF_E_TOO_MANY_REQUESTS (the async queue tries a refused cast again later).
 */
import { SkiffError } from '../../shared/errors.js';

export class Lane {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly max: number,
    private readonly label: string,
  ) {}

  /** Runs `job` after every job given before it has ended (fulfilled or not). */
  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.waiting >= this.max) {
      return Promise.reject(
        new SkiffError(
          'SKIFF_E_TOO_MANY_REQUESTS',
          `${this.label} has ${this.waiting} events waiting, compat.edgeless.maxPendingPerInstance; try again later`,
          { retryAfterSec: 1 },
        ),
      );
    }
    this.waiting++;
    const result = this.tail.then(job);
    this.tail = result.then(
      () => this.waiting--,
      () => this.waiting--,
    );
    return result;
  }
}
