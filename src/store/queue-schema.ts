/** The database file of the async queue (queue.db): its settings, table, row type and the mapping to records. */
import Database from 'better-sqlite3';
import type { HeaderPairs } from '../model/invocation.js';
import type { QueuedTrace } from '../model/trace.js';

export type AsyncStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'expired';
export const TERMINAL: readonly AsyncStatus[] = ['succeeded', 'failed', 'expired'];

export interface AsyncRequest {
  id: string;
  function: string;
  /** What queued it: `async` (an HTTP call with X-Skiff-Async), `cron`, `mqtt`, `cast` (ctx.cast). */
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
  /** Epoch ms before which it does not run (a delayed cast); when it is accepted if absent. */
  nextAt?: number;
  /** A cast: the function that cast it, the invocation that did, and that one's chain. */
  chain?: AsyncChain | null;
  /**
   * A cast: which cast of its parent it is (`<parent id>#<n>#<target>`). A second request with the same
   * key (the parent's retried attempt casting again) gets the first one's invocation, not a new one.
   */
  castKey?: string | null;
  /**
   * The trace its runs continue (W3C Trace Context): the accepting request's `traceparent`, a cast's
   * caster's span, or a new trace. Null for a row written before traces were kept.
   */
  trace?: QueuedTrace | null;
}

/** Where in an invocation tree a cast sits (docs/composition.md, "Casts"). */
export interface AsyncChain {
  /** The casting function. */
  caller: string;
  /** The invocation that made the cast. */
  parentId: string;
  /** The first invocation of the chain (no function made it). */
  rootId: string;
  /** How many calls or casts deep the cast's run is (1 for a cast made by a root). */
  depth: number;
}

export interface AsyncAttempt {
  at: number;
  outcome: string;
}

export interface AsyncRecord extends AsyncRequest {
  nextAt: number;
  chain: AsyncChain | null;
  status: AsyncStatus;
  /**
   * Attempts that ran the function, counting one the platform stopped during (a platform-side
   * refusal is not one). An attempt is counted on disk before it is dispatched.
   */
  attempts: number;
  createdAt: number;
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
  callback_status INTEGER,
  -- the JSON of the row's QueuedTrace (schema 2; NULL for rows made before)
  trace TEXT
);
CREATE INDEX IF NOT EXISTS invocations_due ON invocations (status, next_at);
-- casts made per chain (root invocation) in all: what functions.maxChainCasts counts; kept apart from the
-- rows (retention prunes those) for CHAIN_MEMORY_MS after a chain's last cast
CREATE TABLE IF NOT EXISTS chains (
  root_id TEXT PRIMARY KEY,
  casts INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chains_updated ON chains (updated_at);
CREATE INDEX IF NOT EXISTS invocations_function ON invocations (function, created_at);
`;

/** What a row weighs beyond its variable fields (keys, integers, index entries). */
export const ROW_OVERHEAD_BYTES = 256;

/** Columns added after the first release: added to an older queue.db when it is opened. */
const ADDED_COLUMNS: Record<string, string> = {
  // the row's trace context (also schema step 1 → 2, src/store/schema/steps.ts)
  trace: 'TEXT',
  // the bytes the row holds: the request while it waits, the result once it is final
  bytes: 'INTEGER NOT NULL DEFAULT 0',
  // when the attempt in flight was dispatched; set while running
  running_since: 'INTEGER',
  // a cast (trigger `cast`): where it sits in its invocation tree
  caller: 'TEXT',
  parent_id: 'TEXT',
  root_id: 'TEXT',
  cast_key: 'TEXT',
  depth: 'INTEGER NOT NULL DEFAULT 0',
};

/** Opens (or creates) the queue's database file with its durability settings, and migrates the table. */
export function openQueueDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // every commit is fsynced: a 202 is only sent for what is on disk
  db.pragma('synchronous = FULL');
  // a small WAL (checkpointed every 256 pages, cut back to 1 MiB after): little space held twice,
  // which is what a nearly full disk cannot give
  db.pragma('wal_autocheckpoint = 256');
  db.pragma(`journal_size_limit = ${1024 * 1024}`);
  migrate(db);
  return db;
}

/** Creates or upgrades the table. */
export function migrate(db: Database.Database): void {
  db.exec(SCHEMA);
  const have = new Set((db.pragma('table_info(invocations)') as { name: string }[]).map((c) => c.name));
  for (const [column, type] of Object.entries(ADDED_COLUMNS)) {
    if (have.has(column)) continue;
    db.exec(`ALTER TABLE invocations ADD COLUMN ${column} ${type}`);
    if (column === 'bytes') {
      db.exec(
        `UPDATE invocations SET bytes = ${ROW_OVERHEAD_BYTES} + length(body) + length(headers) +
           length(path) + length(query) + coalesce(length(result_body), 0) + length(history)`,
      );
    }
  }
  db.exec(
    `CREATE INDEX IF NOT EXISTS invocations_finished ON invocations (finished_at) WHERE finished_at IS NOT NULL`,
  );
  db.exec(
    `CREATE INDEX IF NOT EXISTS invocations_parent ON invocations (parent_id) WHERE parent_id IS NOT NULL`,
  );
  db.exec(`CREATE INDEX IF NOT EXISTS invocations_root ON invocations (root_id) WHERE root_id IS NOT NULL`);
  // the newest first, for a list without a filter
  db.exec(`CREATE INDEX IF NOT EXISTS invocations_created ON invocations (created_at)`);
  db.exec(
    `CREATE UNIQUE INDEX IF NOT EXISTS invocations_cast_key ON invocations (cast_key) WHERE cast_key IS NOT NULL`,
  );
}

/** A row's stored trace, or null (none stored, or not readable). */
function traceOf(text: string | null | undefined): QueuedTrace | null {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text) as QueuedTrace;
  } catch {
    return null;
  }
}

export interface Row {
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
  caller: string | null;
  parent_id: string | null;
  root_id: string | null;
  depth: number;
  trace?: string | null;
}

export const toRecord = (r: Row): AsyncRecord => ({
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
  chain:
    r.parent_id === null
      ? null
      : { caller: r.caller ?? '', parentId: r.parent_id, rootId: r.root_id ?? r.parent_id, depth: r.depth },
  trace: traceOf(r.trace),
});
