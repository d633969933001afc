/**
 * The durable queue of asynchronous invocations: one SQLite file (WAL, synchronous=FULL), so an
 * invocation is on disk before its 202 is sent (RELIABILITY.md G1), and every accepted one has exactly
 * one terminal record (G2): `succeeded`, `failed` (the dead letters) or `expired`.
 */
import Database from 'better-sqlite3';
import type { HeaderPairs } from '../invoke/types.js';

export type AsyncStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'expired';
export const TERMINAL: readonly AsyncStatus[] = ['succeeded', 'failed', 'expired'];

export interface AsyncRequest {
  id: string;
  function: string;
  /** What queued it: `async` (an HTTP call with X-Skiff-Async), `cron`, `mqtt`. */
  trigger: string;
  method: string;
  path: string;
  query: string;
  headers: HeaderPairs;
  body: Buffer;
  host: string;
  /** Retries after a function error (0-2). */
  maxRetries: number;
  /** Epoch ms after which it is not run any more (expired). */
  expiresAt: number;
  callbackUrl: string | null;
}

export interface AsyncAttempt {
  at: number;
  outcome: string;
}

export interface AsyncRecord extends AsyncRequest {
  status: AsyncStatus;
  /** Attempts that ran the function (a platform-side refusal is not one). */
  attempts: number;
  createdAt: number;
  nextAt: number;
  finishedAt: number | null;
  result: { status: number; headers: HeaderPairs; body: Buffer } | null;
  error: { code: string; message: string } | null;
  history: AsyncAttempt[];
  callbackStatus: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS invocations (
  id TEXT PRIMARY KEY,
  function TEXT NOT NULL,
  trigger TEXT NOT NULL DEFAULT 'async',
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_retries INTEGER NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  query TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  host TEXT NOT NULL,
  callback_url TEXT,
  created_at INTEGER NOT NULL,
  next_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  finished_at INTEGER,
  result_status INTEGER,
  result_headers TEXT,
  result_body BLOB,
  error_code TEXT,
  error_message TEXT,
  history TEXT NOT NULL DEFAULT '[]',
  callback_status INTEGER
);
CREATE INDEX IF NOT EXISTS invocations_due ON invocations (status, next_at);
CREATE INDEX IF NOT EXISTS invocations_function ON invocations (function, created_at);
`;

interface Row {
  id: string;
  function: string;
  trigger: string;
  status: string;
  attempts: number;
  max_retries: number;
  method: string;
  path: string;
  query: string;
  headers: string;
  body: Buffer;
  host: string;
  callback_url: string | null;
  created_at: number;
  next_at: number;
  expires_at: number;
  finished_at: number | null;
  result_status: number | null;
  result_headers: string | null;
  result_body: Buffer | null;
  error_code: string | null;
  error_message: string | null;
  history: string;
  callback_status: number | null;
}

const toRecord = (r: Row): AsyncRecord => ({
  id: r.id,
  function: r.function,
  trigger: r.trigger,
  status: r.status as AsyncStatus,
  attempts: r.attempts,
  maxRetries: r.max_retries,
  method: r.method,
  path: r.path,
  query: r.query,
  headers: JSON.parse(r.headers) as HeaderPairs,
  body: r.body,
  host: r.host,
  callbackUrl: r.callback_url,
  createdAt: r.created_at,
  nextAt: r.next_at,
  expiresAt: r.expires_at,
  finishedAt: r.finished_at,
  result:
    r.result_status === null
      ? null
      : {
          status: r.result_status,
          headers: JSON.parse(r.result_headers ?? '[]') as HeaderPairs,
          body: r.result_body ?? Buffer.alloc(0),
        },
  error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' },
  history: JSON.parse(r.history) as AsyncAttempt[],
  callbackStatus: r.callback_status,
});

export class QueueStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // every commit is fsynced: a 202 is only sent for what is on disk
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
  }

  /** Stores a new invocation as queued; returns once it is on disk. */
  accept(req: AsyncRequest, now = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO invocations (id, function, trigger, status, max_retries, method, path, query, headers, body,
           host, callback_url, created_at, next_at, expires_at)
         VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        req.id,
        req.function,
        req.trigger,
        req.maxRetries,
        req.method,
        req.path,
        req.query,
        JSON.stringify(req.headers),
        req.body,
        req.host,
        req.callbackUrl,
        now,
        now,
        req.expiresAt,
      );
  }

  /** After a crash or a stop: what was running is queued again (delivery is at-least-once). */
  requeueRunning(): number {
    return this.db.prepare(`UPDATE invocations SET status = 'queued' WHERE status = 'running'`).run().changes;
  }

  /** Takes up to `limit` due invocations and marks them running, oldest first. */
  claim(limit: number, now = Date.now()): AsyncRecord[] {
    return this.db.transaction(() => {
      const rows = this.db
        .prepare(
          `SELECT * FROM invocations WHERE status = 'queued' AND next_at <= ? ORDER BY next_at, created_at LIMIT ?`,
        )
        .all(now, limit) as Row[];
      const mark = this.db.prepare(
        `UPDATE invocations SET status = 'running' WHERE id = ? AND status = 'queued'`,
      );
      for (const row of rows) mark.run(row.id);
      return rows.map((r) => ({ ...toRecord(r), status: 'running' as const }));
    })();
  }

  /** The earliest time something queued is due, or null when nothing is queued. */
  nextDue(): number | null {
    const row = this.db
      .prepare(`SELECT MIN(next_at) AS t FROM invocations WHERE status = 'queued'`)
      .get() as {
      t: number | null;
    };
    return row.t;
  }

  /** Back to the queue for another try at `nextAt`; `counted` when the function ran. */
  retry(id: string, nextAt: number, attempt: AsyncAttempt, counted: boolean): void {
    this.db
      .prepare(
        `UPDATE invocations SET status = 'queued', next_at = ?, attempts = attempts + ?,
           history = json_insert(history, '$[#]', json(?))
         WHERE id = ? AND status = 'running'`,
      )
      .run(nextAt, counted ? 1 : 0, JSON.stringify(attempt), id);
  }

  /** The one terminal transition of an invocation; false when it was not running (already final). */
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
    return (
      this.db
        .prepare(
          `UPDATE invocations SET status = ?, finished_at = ?, attempts = attempts + ?,
             result_status = ?, result_headers = ?, result_body = ?, error_code = ?, error_message = ?,
             history = CASE WHEN ? IS NULL THEN history ELSE json_insert(history, '$[#]', json(?)) END
           WHERE id = ? AND status = 'running'`,
        )
        .run(
          status,
          now,
          outcome.counted ? 1 : 0,
          outcome.result?.status ?? null,
          outcome.result === undefined ? null : JSON.stringify(outcome.result.headers),
          outcome.result?.body ?? null,
          outcome.error?.code ?? null,
          outcome.error?.message ?? null,
          outcome.attempt === undefined ? null : 1,
          outcome.attempt === undefined ? null : JSON.stringify(outcome.attempt),
          id,
        ).changes === 1
    );
  }

  setCallbackStatus(id: string, status: number): void {
    this.db.prepare('UPDATE invocations SET callback_status = ? WHERE id = ?').run(status, id);
  }

  get(id: string): AsyncRecord | undefined {
    const row = this.db.prepare('SELECT * FROM invocations WHERE id = ?').get(id) as Row | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  /** Newest first; filtered by function and status when given. */
  list(filter: {
    function?: string | undefined;
    status?: AsyncStatus | undefined;
    limit: number;
  }): AsyncRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM invocations WHERE (? IS NULL OR function = ?) AND (? IS NULL OR status = ?)
         ORDER BY created_at DESC LIMIT ?`,
      )
      .all(
        filter.function ?? null,
        filter.function ?? null,
        filter.status ?? null,
        filter.status ?? null,
        filter.limit,
      ) as Row[];
    return rows.map(toRecord);
  }

  close(): void {
    this.db.close();
  }
}
