/**
 * The deadlines of a connection's invocations in flight, on one timer: it is set for the earliest
 * deadline; when it fires, the owner times out every invocation past its deadline and names the next
 * deadline, for which it is set again. An invocation that settles leaves nothing to clear (the owner's
 * sweep skips what is no longer in flight), so a request costs a comparison here rather than a timer
 * made and cleared. Times are on the monotonic clock (`performance.now()`): a step of the wall
 * clock moves no timeout.
 */

/** setTimeout's longest delay; a later deadline is looked at again then. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class DeadlineSweep {
  private timer: NodeJS.Timeout | undefined;
  /** The due time the timer is set for; Infinity when it is not set. */
  private at = Infinity;

  /**
   * `sweep(now)` times out what is due at `now` (`performance.now()`) and returns the earliest due
   * time left (Infinity: none).
   */
  constructor(private readonly sweep: (now: number) => number) {}

  /** An invocation is due at `deadline` (`performance.now()` + its timeout; `now`: when it was read). */
  add(deadline: number, now: number): void {
    if (deadline < this.at) this.set(deadline, now);
  }

  /** Nothing is in flight any more (the connection ended). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Infinity;
  }

  private set(deadline: number, now: number): void {
    clearTimeout(this.timer);
    this.at = deadline;
    this.timer = setTimeout(() => this.fire(), Math.min(MAX_DELAY_MS, Math.max(0, deadline - now)));
    // what is in flight keeps its connection's stream open: the timer need not hold the process
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.at = Infinity;
    const now = performance.now();
    const next = this.sweep(now);
    if (next < this.at) this.set(next, now);
  }
}
