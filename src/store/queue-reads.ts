/**
 * What the queue store reads for the management API: one record, a filtered list (without bodies),
 * and the casts an invocation made.
 */
import type Database from 'better-sqlite3';
import { toRecord, type AsyncRecord, type AsyncStatus, type Row } from './queue-schema.js';

/** The columns a list reads: every one but the request and result bodies (read as empty). */
const LIST_COLUMNS = `id, function, trigger, status, attempts, max_retries, method, path, query, headers,
  x'' AS body, host, callback_url, created_at, next_at, expires_at, finished_at, result_status,
  result_headers, x'' AS result_body, error_code, error_message, history, callback_status, caller,
  parent_id, root_id, depth, trace`;

export interface ListFilter {
  function?: string | undefined;
  status?: AsyncStatus | undefined;
  /** Only the invocations of this chain: the root itself (if it has a record) and all below it. */
  rootId?: string | undefined;
  limit: number;
}

export function readRecord(db: Database.Database, id: string): AsyncRecord | undefined {
  const row = db.prepare('SELECT * FROM invocations WHERE id = ?').get(id) as Row | undefined;
  return row === undefined ? undefined : toRecord(row);
}

export function countChildren(db: Database.Database, parentId: string): number {
  const row = db.prepare(`SELECT COUNT(*) AS n FROM invocations WHERE parent_id = ?`).get(parentId) as {
    n: number;
  };
  return row.n;
}

export function childIds(db: Database.Database, parentId: string, limit: number): string[] {
  const rows = db
    .prepare(`SELECT id FROM invocations WHERE parent_id = ? ORDER BY created_at, rowid LIMIT ?`)
    .all(parentId, limit) as { id: string }[];
  return rows.map((r) => r.id);
}

export function listRecords(db: Database.Database, filter: ListFilter): AsyncRecord[] {
  // only the filters given, so that SQLite can use the index of each (a `? IS NULL OR …` uses none)
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.function !== undefined) {
    where.push('function = ?');
    params.push(filter.function);
  }
  if (filter.status !== undefined) {
    where.push('status = ?');
    params.push(filter.status);
  }
  if (filter.rootId !== undefined) {
    where.push('(root_id = ? OR id = ?)');
    params.push(filter.rootId, filter.rootId);
  }
  const rows = db
    .prepare(
      `SELECT ${LIST_COLUMNS} FROM invocations ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
       ORDER BY created_at DESC LIMIT ?`,
    )
    .all(...params, filter.limit) as Row[];
  return rows.map(toRecord);
}
