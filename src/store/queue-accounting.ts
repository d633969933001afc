/**
 * The byte and record counters of the durable queue, kept in memory beside the table: the bytes of
 * invocations not final yet (overall and per function), which the queue quota limits, and the count
 * and bytes of final records, which retention limits. Counted at open from the table, then updated by
 * the queue's transitions.
 */
import type Database from 'better-sqlite3';
import { ROW_OVERHEAD_BYTES, type AsyncRequest } from './queue-schema.js';

/** What a waiting invocation weighs against the queue quota. */
export function requestBytes(req: AsyncRequest): number {
  return (
    ROW_OVERHEAD_BYTES +
    req.body.length +
    Buffer.byteLength(JSON.stringify(req.headers)) +
    Buffer.byteLength(req.function) +
    Buffer.byteLength(req.path) +
    Buffer.byteLength(req.query) +
    Buffer.byteLength(req.host) +
    Buffer.byteLength(req.callbackUrl ?? '') +
    (req.trace?.state?.length ?? 0)
  );
}

export class QueueAccounting {
  /** Bytes of the invocations not final yet (queued or running). */
  waitingBytes = 0;
  /** The same per share: per function, a cast counted to its caster (only shares with something waiting). */
  private readonly waitingByFunction = new Map<string, number>();
  finalBytes = 0;
  finalCount = 0;

  waitingBytesOf(fn: string): number {
    return this.waitingByFunction.get(fn) ?? 0;
  }

  /** A new invocation of `fn` weighing `bytes` waits. */
  accepted(fn: string, bytes: number): void {
    this.waitingBytes += bytes;
    this.countWaiting(fn, bytes);
  }

  /** An invocation of `fn` became final: it weighed `waiting` bytes, its final record weighs `final`. */
  finished(fn: string, waiting: number, final: number): void {
    this.waitingBytes -= waiting;
    this.countWaiting(fn, -waiting);
    this.finalBytes += final;
    this.finalCount += 1;
  }

  /** Final records of these sizes were deleted. */
  deleted(rows: readonly { bytes: number }[]): void {
    this.finalCount -= rows.length;
    this.finalBytes -= rows.reduce((sum, r) => sum + r.bytes, 0);
  }

  /** Recomputes every counter from the table (at open). */
  recount(db: Database.Database): void {
    const waiting = db
      .prepare(`SELECT coalesce(SUM(bytes), 0) AS b FROM invocations WHERE status IN ('queued', 'running')`)
      .get() as { b: number };
    const final = db
      .prepare(
        `SELECT coalesce(SUM(bytes), 0) AS b, COUNT(*) AS n FROM invocations WHERE finished_at IS NOT NULL`,
      )
      .get() as { b: number; n: number };
    this.waitingBytes = waiting.b;
    this.waitingByFunction.clear();
    const byFunction = db
      .prepare(
        `SELECT coalesce(caller, function) AS fn, SUM(bytes) AS b FROM invocations
           WHERE status IN ('queued', 'running') GROUP BY coalesce(caller, function)`,
      )
      .all() as { fn: string; b: number }[];
    for (const row of byFunction) this.countWaiting(row.fn, row.b);
    this.finalBytes = final.b;
    this.finalCount = final.n;
  }

  private countWaiting(fn: string, bytes: number): void {
    const left = (this.waitingByFunction.get(fn) ?? 0) + bytes;
    if (left <= 0) this.waitingByFunction.delete(fn);
    else this.waitingByFunction.set(fn, left);
  }
}
