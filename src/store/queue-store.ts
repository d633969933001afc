/**
 * The durable queue of asynchronous invocations: one SQLite file (WAL, synchronous=FULL), so an
 * invocation is on disk before its 202 is sent (docs/guarantees.md G1), and every accepted one has exactly
 * one terminal record (G2): `succeeded`, `failed` (the dead letters) or `expired`.
 *
 * Every attempt is counted on disk before it is dispatched (`claim`), so an attempt the platform died
 * during still counts: at the next start such a record is queued again, or dead-lettered once its
 * attempts are used up (`interrupted`), and a poisoned invocation cannot crash the platform forever.
 * The bytes of waiting and of final records are kept as counters (queue-accounting.ts), for the queue
 * quota and retention (queue-retention.ts).
 */
import type Database from 'better-sqlite3';
import type { HeaderPairs } from '../model/invocation.js';
import { QueueAccounting, requestBytes } from './queue-accounting.js';
import { insertRequest } from './queue-insert.js';
import { childIds, countChildren, listRecords, readRecord, type ListFilter } from './queue-reads.js';
import { pruneFinal, type RetentionPolicy } from './queue-retention.js';
import { dueRows, nextDueAt } from './queue-claim.js';
import {
  openQueueDb,
  ROW_OVERHEAD_BYTES,
  toRecord,
  type AsyncAttempt,
  type AsyncRecord,
  type AsyncRequest,
} from './queue-schema.js';

export {
  TERMINAL,
  type AsyncAttempt,
  type AsyncChain,
  type AsyncRecord,
  type AsyncRequest,
  type AsyncStatus,
} from './queue-schema.js';
export type { ListFilter } from './queue-reads.js';

/** The error of an invocation whose every attempt was cut short by the platform stopping. */
export const CRASHED_CODE = 'SKIFF_E_INSTANCE_CRASHED';

export class QueueStore {
  private readonly db: Database.Database;
  private readonly counters = new QueueAccounting();

  constructor(file: string) {
    this.db = openQueueDb(file);
    this.counters.recount(this.db);
  }

  /** Bytes of the invocations not final yet (queued or running): what the queue quota limits. */
  get queuedBytes(): number {
    return this.counters.waitingBytes;
  }

  /** Bytes of one function's invocations not final yet: what the per-function share limits. */
  queuedBytesOf(fn: string): number {
    return this.counters.waitingBytesOf(fn);
  }

  /** Final records kept, and their bytes: what retention limits. */
  get finished(): { count: number; bytes: number } {
    return { count: this.counters.finalCount, bytes: this.counters.finalBytes };
  }

  /** Stores a new invocation as queued; returns once it is on disk. */
  accept(req: AsyncRequest, now = Date.now()): void {
    this.acceptAll([req], now);
  }

  /**
   * Writes several invocations in one transaction (one fsync): all of them, or none. Returns their ids
   * in order: a request whose `castKey` is already queued is not written again, and gets that one's id.
   */
  acceptAll(reqs: readonly AsyncRequest[], now = Date.now()): string[] {
    const written: AsyncRequest[] = [];
    const counted = this.db.prepare(
      `INSERT INTO chains (root_id, casts, updated_at) VALUES (?, 1, ?)
       ON CONFLICT (root_id) DO UPDATE SET casts = casts + 1, updated_at = excluded.updated_at`,
    );
    const ids = this.db.transaction(() =>
      reqs.map((req) => {
        if (req.castKey != null) {
          const known = this.db.prepare(`SELECT id FROM invocations WHERE cast_key = ?`).get(req.castKey) as
            { id: string } | undefined;
          if (known !== undefined) return known.id;
        }
        insertRequest(this.db, req, now);
        if (req.chain != null) counted.run(req.chain.rootId, now);
        written.push(req);
        return req.id;
      }),
    )();
    for (const req of written) this.counters.accepted(shareOf(req), requestBytes(req));
    return ids;
  }

  /** Whether an invocation with this cast key is queued (or was, and is kept). */
  hasCastKey(key: string): boolean {
    return this.db.prepare(`SELECT 1 FROM invocations WHERE cast_key = ?`).get(key) !== undefined;
  }

  /**
   * How many casts the chain under `rootId` has made in all (also those whose records retention
   * pruned since), up to `cap`.
   */
  chainSize(rootId: string, cap: number): number {
    const row = this.db.prepare(`SELECT casts FROM chains WHERE root_id = ?`).get(rootId) as
      { casts: number } | undefined;
    return Math.min(cap, row?.casts ?? 0);
  }

  /**
   * Records left running by a platform that stopped without finishing them (all of them at a start,
   * or the given ids): each such attempt counted. One with attempts left is queued again (delivery is
   * at-least-once); one without is dead-lettered as `failed` with SKIFF_E_INSTANCE_CRASHED.
   */
  interrupted(ids?: readonly string[], now = Date.now()): { requeued: number; failed: string[] } {
    return this.db.transaction(() => {
      const rows = (
        ids === undefined
          ? this.db
              .prepare(
                `SELECT id, attempts, max_retries, running_since FROM invocations WHERE status = 'running'`,
              )
              .all()
          : ids.flatMap((id) => {
              const row = this.db
                .prepare(
                  `SELECT id, attempts, max_retries, running_since FROM invocations WHERE id = ? AND status = 'running'`,
                )
                .get(id);
              return row === undefined ? [] : [row];
            })
      ) as { id: string; attempts: number; max_retries: number; running_since: number | null }[];
      const failed: string[] = [];
      let requeued = 0;
      for (const row of rows) {
        const attempt = JSON.stringify({ at: row.running_since ?? now, outcome: CRASHED_CODE });
        if (row.attempts < row.max_retries + 1) {
          this.db
            .prepare(
              `UPDATE invocations SET status = 'queued', next_at = ?, running_since = NULL,
                 history = json_insert(history, '$[#]', json(?)) WHERE id = ?`,
            )
            .run(now, attempt, row.id);
          requeued++;
          continue;
        }
        const message = `the platform stopped during the attempt ${row.attempts} ${row.attempts === 1 ? 'time' : 'times'}`;
        this.terminate(row.id, {
          status: 'failed',
          now,
          uncount: false,
          attempt,
          error: { code: CRASHED_CODE, message },
        });
        failed.push(row.id);
      }
      return { requeued, failed };
    })();
  }

  /**
   * Takes up to `limit` due invocations, oldest first: each is marked running and its attempt counted
   * in the same fsynced transaction, before it is dispatched. The records come back with that count.
   */
  claim(limit: number, now = Date.now(), perFunction = Number.MAX_SAFE_INTEGER): AsyncRecord[] {
    return this.db.transaction(() => {
      const rows = dueRows(this.db, limit, now, perFunction);
      const mark = this.db.prepare(
        `UPDATE invocations SET status = 'running', attempts = attempts + 1, running_since = ?
         WHERE id = ? AND status = 'queued'`,
      );
      for (const row of rows) mark.run(now, row.id);
      return rows.map((r) => ({ ...toRecord(r), status: 'running' as const, attempts: r.attempts + 1 }));
    })();
  }

  /** At a graceful stop: attempts still in flight go back to the queue uncounted (their outcome is dropped). */
  release(ids: readonly string[]): number {
    const stmt = this.db.prepare(
      `UPDATE invocations SET status = 'queued', attempts = max(attempts - 1, 0), running_since = NULL
       WHERE id = ? AND status = 'running'`,
    );
    return this.db.transaction(() => ids.reduce((n, id) => n + stmt.run(id).changes, 0))();
  }

  /**
   * When the next queued invocation is due (null: nothing queued), leaving out the shares at
   * `perFunction` running: those are claimed when one of their attempts ends, which wakes the worker.
   */
  nextDue(perFunction = Number.MAX_SAFE_INTEGER): number | null {
    return nextDueAt(this.db, perFunction);
  }

  /**
   * Back to the queue for another try at `nextAt`; `counted` when the function ran (otherwise the
   * attempt counted at the claim is taken back). False when it was not running any more.
   */
  retry(id: string, nextAt: number, attempt: AsyncAttempt, counted: boolean): boolean {
    return (
      this.db
        .prepare(
          `UPDATE invocations SET status = 'queued', next_at = ?, attempts = max(attempts - ?, 0),
             running_since = NULL, history = json_insert(history, '$[#]', json(?))
           WHERE id = ? AND status = 'running'`,
        )
        .run(nextAt, counted ? 0 : 1, JSON.stringify(attempt), id).changes === 1
    );
  }

  /**
   * The one terminal transition of an invocation; false when it was not running (already final, or
   * released by a stop). `counted` false takes back the attempt counted at the claim. The request
   * body is dropped: a final record keeps only its outcome.
   */
  finish(
    id: string,
    status: 'succeeded' | 'failed' | 'expired',
    outcome: {
      attempt?: AsyncAttempt;
      counted: boolean;
      result?: { status: number; headers: HeaderPairs; body: Buffer };
      error?: { code: string; message: string };
    },
    now = Date.now(),
  ): boolean {
    return this.db.transaction(() =>
      this.terminate(id, {
        status,
        now,
        uncount: !outcome.counted,
        attempt: outcome.attempt === undefined ? null : JSON.stringify(outcome.attempt),
        ...(outcome.result === undefined ? {} : { result: outcome.result }),
        ...(outcome.error === undefined ? {} : { error: outcome.error }),
      }),
    )();
  }

  private terminate(
    id: string,
    o: {
      status: 'succeeded' | 'failed' | 'expired';
      now: number;
      uncount: boolean;
      attempt: string | null;
      result?: { status: number; headers: HeaderPairs; body: Buffer };
      error?: { code: string; message: string };
    },
  ): boolean {
    const before = this.db
      .prepare(`SELECT bytes, function, caller FROM invocations WHERE id = ? AND status = 'running'`)
      .get(id) as { bytes: number; function: string; caller: string | null } | undefined;
    if (before === undefined) return false;
    const resultHeaders = o.result === undefined ? null : JSON.stringify(o.result.headers);
    const after = this.db
      .prepare(
        `UPDATE invocations SET status = ?, finished_at = ?, attempts = max(attempts - ?, 0), running_since = NULL,
           result_status = ?, result_headers = ?, result_body = ?, error_code = ?, error_message = ?,
           body = x'',
           history = CASE WHEN ? IS NULL THEN history ELSE json_insert(history, '$[#]', json(?)) END,
           bytes = ${ROW_OVERHEAD_BYTES} + coalesce(length(?), 0) + coalesce(length(?), 0)
             + coalesce(length(?), 0) + length(history) + 64
         WHERE id = ? AND status = 'running' RETURNING bytes`,
      )
      .get(
        o.status,
        o.now,
        o.uncount ? 1 : 0,
        o.result?.status ?? null,
        resultHeaders,
        o.result?.body ?? null,
        o.error?.code ?? null,
        o.error?.message ?? null,
        o.attempt,
        o.attempt,
        o.result?.body ?? null,
        resultHeaders,
        o.error?.message ?? null,
        id,
      ) as { bytes: number } | undefined;
    if (after === undefined) return false;
    this.counters.finished(before.caller ?? before.function, before.bytes, after.bytes);
    return true;
  }

  /**
   * Deletes one batch (at most `batch` rows) of final records that retention no longer keeps: expired
   * by age first, then the oldest beyond the count and byte caps. Returns how many it deleted; call
   * again (after yielding to the event loop) until it returns 0.
   */
  prune(policy: RetentionPolicy, batch: number, now = Date.now()): number {
    // a chain's count is forgotten only long after it could still cast (a cast may wait 24 h, then
    // run for up to the maximum event age)
    this.db
      .prepare(
        `DELETE FROM chains WHERE root_id IN (SELECT root_id FROM chains WHERE updated_at < ? LIMIT ?)`,
      )
      .run(now - CHAIN_MEMORY_MS, batch);
    // and the table is capped like the records (one row per chain that cast, so requests could grow it):
    // beyond `maxRecords` chains the oldest are forgotten first
    this.db
      .prepare(
        `DELETE FROM chains WHERE root_id IN (SELECT root_id FROM chains ORDER BY updated_at
           LIMIT min(?, max(0, (SELECT COUNT(*) FROM chains) - ?)))`,
      )
      .run(batch, policy.maxRecords);
    return pruneFinal(this.db, this.counters, policy, batch);
  }

  /**
   * Copies the WAL into the database and empties it (TRUNCATE). On a full disk this is what gives the
   * WAL's space back, once the ballast made room for the database to take the pages. False when it
   * could not be done now.
   */
  checkpoint(): boolean {
    try {
      const [row] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      return row?.busy === 0;
    } catch {
      return false;
    }
  }

  setCallbackStatus(id: string, status: number): void {
    this.db.prepare('UPDATE invocations SET callback_status = ? WHERE id = ?').run(status, id);
  }

  get(id: string): AsyncRecord | undefined {
    return readRecord(this.db, id);
  }

  /**
   * Records by status among queued, running and failed (the dead letters kept), and the bytes of
   * those not final yet: one count over the status index, cheap enough for each metrics scrape and
   * `GET /v1/status`.
   */
  backlog(): { queued: number; running: number; failed: number; bytes: number } {
    const rows = this.db
      .prepare(
        `SELECT status, COUNT(*) AS n FROM invocations WHERE status IN ('queued', 'running', 'failed') GROUP BY status`,
      )
      .all() as { status: 'queued' | 'running' | 'failed'; n: number }[];
    const out = { queued: 0, running: 0, failed: 0, bytes: this.counters.waitingBytes };
    for (const row of rows) out[row.status] = row.n;
    return out;
  }

  /** How many invocations `parentId` cast (all of them, beyond what `children` lists). */
  childrenCount(parentId: string): number {
    return countChildren(this.db, parentId);
  }

  /** The ids of the casts an invocation made (its children in the invocation tree), oldest first. */
  children(parentId: string, limit: number): string[] {
    return childIds(this.db, parentId, limit);
  }

  /**
   * Newest first; filtered by function and status when given. Without the bodies (request and result):
   * a list of many records with large results would otherwise be as large as all of them.
   */
  list(filter: ListFilter): AsyncRecord[] {
    return listRecords(this.db, filter);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Whose share of the queue an invocation takes (async.maxQueuedBytesPerFunction): a cast's, its
 * caster's (so that no function can fill another's share with casts to it); any other, its function's.
 */
export function shareOf(req: Pick<AsyncRequest, 'function' | 'chain'>): string {
  return req.chain?.caller ?? req.function;
}

/** How long after its last cast a chain's count of casts is kept: 7 days. */
export const CHAIN_MEMORY_MS = 7 * 24 * 3_600_000;
