/**
 * Per-function state on SQLite: `<dataDir>/state.db` (WAL, synchronous=FULL, so an acknowledged set
 * survives a crash of the platform or the machine). One row per key; a table of usage per function
 * (keys, bytes of keys and values) is kept in the same transactions, so the caps cost one row read.
 * A conditional write compares and writes in one transaction: better-sqlite3 runs it synchronously,
 * so no other write of this process comes between.
 */
import Database from 'better-sqlite3';
import {
  DEFAULT_STATE_LIST_LIMIT,
  MAX_STATE_LIST_LIMIT,
  prefixUpperBound,
  stateKeyProblem,
  type FunctionState,
  type StateCondition,
  type StateContentType,
  type StateDelete,
  type StateEntry,
  type StateLimits,
  type StateList,
  type StateListOptions,
  type StateUsage,
  type StateWrite,
} from '../model/state.js';
import { retryOnDiskFull } from '../shared/disk.js';
import { SkiffError } from '../shared/errors.js';
import { humanSize as size } from '../shared/sizes.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS state (
  function TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  content_type TEXT NOT NULL,
  version INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (function, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state_usage (
  function TEXT PRIMARY KEY,
  keys INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);
`;

interface Row {
  key: string;
  value: Buffer;
  content_type: StateContentType;
  version: number;
  bytes: number;
  updated_at: string;
}

export interface StateStoreOptions {
  limits: StateLimits;
  /** False when writing this many bytes would eat into the disk's reserve (then 507 SKIFF_E_DISK_FULL). */
  diskRoom?: (bytes: number) => boolean;
  /** The clock, for tests. */
  now?: () => Date;
}

const MiB = 1024 * 1024;

function checkKey(key: string): void {
  const problem = stateKeyProblem(key);
  if (problem !== undefined) throw new SkiffError('SKIFF_E_INVALID_STATE_KEY', problem);
}

function checkCondition(condition: StateCondition): void {
  const v = condition.ifVersion;
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0))
    throw new SkiffError(
      'SKIFF_E_INVALID_REQUEST',
      `a version to compare with is a whole number from 0, not ${v}`,
    );
}

export class StateStore implements FunctionState {
  readonly limits: StateLimits;
  private readonly db: Database.Database;
  private readonly diskRoom: (bytes: number) => boolean;
  private readonly now: () => Date;

  constructor(file: string, options: StateStoreOptions) {
    this.limits = options.limits;
    this.diskRoom = options.diskRoom ?? (() => true);
    this.now = options.now ?? (() => new Date());
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // every commit is fsynced: a set that was answered is on disk
    this.db.pragma('synchronous = FULL');
    this.db.pragma('wal_autocheckpoint = 256');
    this.db.pragma(`journal_size_limit = ${MiB}`);
    this.db.exec(SCHEMA);
  }

  async get(fn: string, key: string): Promise<StateEntry | undefined> {
    checkKey(key);
    const row = this.row(fn, key);
    if (row === undefined) return undefined;
    const { value, content_type: contentType, version, updated_at: updatedAt } = row;
    return { key: row.key, value, contentType, version, updatedAt };
  }

  async set(
    fn: string,
    key: string,
    value: Buffer,
    contentType: StateContentType,
    condition: StateCondition = {},
  ): Promise<StateWrite> {
    checkKey(key);
    checkCondition(condition);
    if (value.length > this.limits.maxValueBytes) {
      throw new SkiffError(
        'SKIFF_E_STATE_TOO_LARGE',
        `the value is ${size(value.length)}; a state value may be at most ${size(this.limits.maxValueBytes)} (state.maxValueBytes)`,
        { details: { bytes: value.length, maxValueBytes: this.limits.maxValueBytes } },
      );
    }
    if (contentType === 'application/json') {
      try {
        JSON.parse(value.toString('utf8'));
      } catch {
        throw new SkiffError(
          'SKIFF_E_INVALID_REQUEST',
          'the value is sent as application/json but is not valid JSON',
        );
      }
    }
    const bytes = Buffer.byteLength(key, 'utf8') + value.length;
    if (!this.diskRoom(bytes)) {
      throw new SkiffError(
        'SKIFF_E_DISK_FULL',
        "the data directory's disk is almost full (below disk.reserveBytes free); delete state or functions, or free space",
      );
    }
    return this.db.transaction((): StateWrite => {
      const current = this.row(fn, key);
      const currentVersion = current?.version ?? 0;
      if (condition.ifVersion !== undefined && condition.ifVersion !== currentVersion)
        return { ok: false, currentVersion };
      const usage = this.usageOf(fn);
      const keys = usage.keys + (current === undefined ? 1 : 0);
      const total = usage.bytes - (current?.bytes ?? 0) + bytes;
      if (current === undefined && keys > this.limits.maxKeysPerFunction) {
        throw new SkiffError(
          'SKIFF_E_STATE_FULL',
          `function ${fn} already has ${usage.keys} state keys, the most a function may have (state.maxKeysPerFunction); delete keys it no longer needs first (\`skiff state list ${fn}\`)`,
          { details: { keys: usage.keys, maxKeysPerFunction: this.limits.maxKeysPerFunction } },
        );
      }
      if (total > this.limits.maxBytesPerFunction && total > usage.bytes) {
        throw new SkiffError(
          'SKIFF_E_STATE_FULL',
          `function ${fn}'s state would hold ${size(total)}, over its ${size(this.limits.maxBytesPerFunction)} (state.maxBytesPerFunction); delete at least ${size(total - this.limits.maxBytesPerFunction)} of keys it no longer needs first (\`skiff state list ${fn}\` shows their sizes)`,
          {
            details: {
              bytes: usage.bytes,
              needed: total - this.limits.maxBytesPerFunction,
              maxBytesPerFunction: this.limits.maxBytesPerFunction,
            },
          },
        );
      }
      const version = currentVersion + 1;
      this.db
        .prepare(
          `INSERT INTO state (function, key, value, content_type, version, bytes, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (function, key) DO UPDATE SET value = excluded.value,
               content_type = excluded.content_type, version = excluded.version, bytes = excluded.bytes,
               updated_at = excluded.updated_at`,
        )
        .run(fn, key, value, contentType, version, bytes, this.now().toISOString());
      this.setUsage(fn, { keys, bytes: total });
      return { ok: true, version, created: current === undefined };
    })();
  }

  async delete(fn: string, key: string, condition: StateCondition = {}): Promise<StateDelete> {
    checkKey(key);
    checkCondition(condition);
    // a delete frees space: on a full disk the ballast gives its room and it is tried once more
    return retryOnDiskFull(() =>
      this.db.transaction((): StateDelete => {
        const current = this.row(fn, key);
        const currentVersion = current?.version ?? 0;
        if (condition.ifVersion !== undefined && condition.ifVersion !== currentVersion)
          return { ok: false, currentVersion };
        if (current === undefined) return { ok: true, deleted: false };
        this.db.prepare('DELETE FROM state WHERE function = ? AND key = ?').run(fn, key);
        const usage = this.usageOf(fn);
        this.setUsage(fn, { keys: usage.keys - 1, bytes: usage.bytes - current.bytes });
        return { ok: true, deleted: true };
      })(),
    );
  }

  async list(fn: string, options: StateListOptions = {}): Promise<StateList> {
    const limit = Math.min(Math.max(1, options.limit ?? DEFAULT_STATE_LIST_LIMIT), MAX_STATE_LIST_LIMIT);
    const prefix = options.prefix ?? '';
    const upper = prefixUpperBound(prefix);
    const after = options.after;
    const where = ['function = ?', 'key >= ?'];
    const args: (string | number)[] = [fn, prefix];
    if (upper !== undefined) {
      where.push('key < ?');
      args.push(upper);
    }
    if (after !== undefined) {
      where.push('key > ?');
      args.push(after);
    }
    const rows = this.db
      .prepare(
        `SELECT key, version, length(value) AS size, content_type, updated_at FROM state
         WHERE ${where.join(' AND ')} ORDER BY key LIMIT ?`,
      )
      .all(...args, limit + 1) as (Omit<Row, 'value' | 'bytes'> & { size: number })[];
    const page = rows.slice(0, limit);
    return {
      keys: page.map((r) => ({
        key: r.key,
        version: r.version,
        size: r.size,
        contentType: r.content_type,
        updatedAt: r.updated_at,
      })),
      next: rows.length > limit ? (page[page.length - 1]?.key ?? null) : null,
      usage: this.usageOf(fn),
    };
  }

  async deleteAll(fn: string): Promise<number> {
    return retryOnDiskFull(() =>
      this.db.transaction(() => {
        const { changes } = this.db.prepare('DELETE FROM state WHERE function = ?').run(fn);
        this.db.prepare('DELETE FROM state_usage WHERE function = ?').run(fn);
        return changes;
      })(),
    );
  }

  /** The functions that hold state (to drop the state of functions deleted while it could not be). */
  functions(): string[] {
    const rows = this.db.prepare('SELECT function FROM state_usage ORDER BY function').all() as {
      function: string;
    }[];
    return rows.map((r) => r.function);
  }

  close(): void {
    this.db.close();
  }

  private row(fn: string, key: string): Row | undefined {
    return this.db
      .prepare(
        'SELECT key, value, content_type, version, bytes, updated_at FROM state WHERE function = ? AND key = ?',
      )
      .get(fn, key) as Row | undefined;
  }

  private usageOf(fn: string): StateUsage {
    const row = this.db.prepare('SELECT keys, bytes FROM state_usage WHERE function = ?').get(fn) as
      StateUsage | undefined;
    return row ?? { keys: 0, bytes: 0 };
  }

  private setUsage(fn: string, usage: StateUsage): void {
    if (usage.keys === 0) {
      this.db.prepare('DELETE FROM state_usage WHERE function = ?').run(fn);
      return;
    }
    this.db
      .prepare(
        `INSERT INTO state_usage (function, keys, bytes) VALUES (?, ?, ?)
         ON CONFLICT (function) DO UPDATE SET keys = excluded.keys, bytes = excluded.bytes`,
      )
      .run(fn, usage.keys, usage.bytes);
  }
}
