/** How long the durable queue keeps final records: by age per outcome, then by a count and a byte cap. */
import type Database from 'better-sqlite3';
import type { QueueAccounting } from './queue-accounting.js';

/** What final records may keep: older ones, and the oldest beyond the caps, are deleted. */
export interface RetentionPolicy {
  /** `succeeded` records that finished before this epoch ms. */
  succeededBefore: number;
  /** `failed` and `expired` records (the dead letters) that finished before this epoch ms. */
  failedBefore: number;
  maxRecords: number;
  maxBytes: number;
}

/**
 * Deletes one batch (at most `batch` rows) of final records that `policy` no longer keeps, in one
 * transaction: expired by age first, then the oldest beyond the count and byte caps. Returns how many
 * it deleted.
 */
export function pruneFinal(
  db: Database.Database,
  counters: QueueAccounting,
  policy: RetentionPolicy,
  batch: number,
): number {
  const run = (where: string, limit: number, ...args: (string | number)[]): number => {
    if (limit <= 0) return 0;
    const rows = db
      .prepare(
        `DELETE FROM invocations WHERE id IN (SELECT id FROM invocations WHERE finished_at IS NOT NULL ${where}
           ORDER BY finished_at LIMIT ?) RETURNING bytes`,
      )
      .all(...args, limit) as { bytes: number }[];
    counters.deleted(rows);
    return rows.length;
  };
  return db.transaction(() => {
    let n = run(`AND finished_at < ? AND status = 'succeeded'`, batch, policy.succeededBefore);
    n += run(`AND finished_at < ? AND status IN ('failed', 'expired')`, batch - n, policy.failedBefore);
    const overCount = counters.finalCount - policy.maxRecords;
    if (overCount > 0) n += run('', Math.min(batch - n, overCount));
    while (n < batch && counters.finalBytes > policy.maxBytes && counters.finalCount > 0) {
      const deleted = run('', Math.min(batch - n, 16));
      if (deleted === 0) break;
      n += deleted;
    }
    return n;
  })();
}
