/** The one statement that writes a new asynchronous invocation into the queue, as `queued`. */
import type Database from 'better-sqlite3';
import { requestBytes } from './queue-accounting.js';
import type { AsyncRequest } from './queue-schema.js';

export function insertRequest(db: Database.Database, req: AsyncRequest, now: number): void {
  db.prepare(
    `INSERT INTO invocations (id, function, trigger, status, max_retries, method, path, query, headers, body,
       host, callback_url, created_at, next_at, expires_at, bytes, caller, parent_id, root_id, depth, cast_key, trace)
     VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
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
    req.nextAt ?? now,
    req.expiresAt,
    requestBytes(req),
    req.chain?.caller ?? null,
    req.chain?.parentId ?? null,
    req.chain?.rootId ?? null,
    req.chain?.depth ?? 0,
    req.castKey ?? null,
    req.trace == null ? null : JSON.stringify(req.trace),
  );
}
