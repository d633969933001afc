/**
 * Which queued invocations the async worker takes next: due ones, oldest first, but no share beyond
 * `perShare` running at once. A share is a function's own invocations, or all the casts one function
 * made whatever their targets: one backlog (or one caster's casts) leaves room for the others.
 */
import type Database from 'better-sqlite3';
import type { Row } from './queue-schema.js';

/** Up to `limit` rows due at `now`, oldest first, within the shares' caps. */
export function dueRows(db: Database.Database, limit: number, now: number, perShare: number): Row[] {
  const running = runningByShare(db);
  const pick = db.prepare(
    `SELECT * FROM invocations WHERE status = 'queued' AND next_at <= ?
       AND coalesce(caller, function) NOT IN (SELECT value FROM json_each(?))
     ORDER BY next_at, created_at LIMIT ?`,
  );
  const out: Row[] = [];
  // each round leaves out the shares at their cap; a share that reaches it drops out next round
  for (let round = 0; round < 8 && out.length < limit; round++) {
    const rows = pick.all(now, JSON.stringify(full(running, perShare)), limit - out.length) as Row[];
    if (rows.length === 0) break;
    let capped = false;
    for (const row of rows) {
      const share = row.caller ?? row.function;
      const n = running.get(share) ?? 0;
      if (n >= perShare) {
        capped = true;
        continue;
      }
      running.set(share, n + 1);
      out.push(row);
    }
    if (!capped) break;
  }
  return out;
}

/** When the next queued row of a share not at its cap is due, or null. */
export function nextDueAt(db: Database.Database, perShare: number): number | null {
  const row = db
    .prepare(
      `SELECT MIN(next_at) AS t FROM invocations WHERE status = 'queued'
         AND coalesce(caller, function) NOT IN (SELECT value FROM json_each(?))`,
    )
    .get(JSON.stringify(full(runningByShare(db), perShare))) as { t: number | null };
  return row.t;
}

function full(running: ReadonlyMap<string, number>, perShare: number): string[] {
  return [...running].filter(([, n]) => n >= perShare).map(([share]) => share);
}

/** Attempts running now by share (a cast's caster, else the function). */
function runningByShare(db: Database.Database): Map<string, number> {
  const running = new Map<string, number>();
  const rows = db
    .prepare(
      `SELECT coalesce(caller, function) AS share, COUNT(*) AS n FROM invocations
         WHERE status = 'running' GROUP BY coalesce(caller, function)`,
    )
    .all() as { share: string; n: number }[];
  for (const r of rows) running.set(r.share, r.n);
  return running;
}
