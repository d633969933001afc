/**
 * The executor's runtimes on SQLite, `<dataDir>/openruntimes.db` (upstream keeps them in memory only:
 * here they survive a restart, with the functions they stand for). One row per runtime; the whole
 * record as JSON beside its id and function name.
 */
import Database from 'better-sqlite3';

/** A runtime's load failure, answered to each of its executions as upstream's runtime does. */
export interface LoadFailure {
  statusCode: number;
  error: string;
}

export interface RuntimeRecord {
  runtimeId: string;
  /** The Skiff function the runtime is. */
  fn: string;
  image: string;
  language: 'node' | 'python';
  version: string;
  /** Unix seconds. */
  created: number;
  updated: number;
  /** Sent to the function as `x-open-runtimes-secret` (never returned by the API). */
  secret: string;
  entrypoint: string;
  cpus: number;
  memory: number;
  variables: Record<string, string>;
  /** Set when the code cannot load: executions answer it. */
  failure: LoadFailure | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runtimes (
  id TEXT PRIMARY KEY,
  fn TEXT NOT NULL UNIQUE,
  record TEXT NOT NULL
) WITHOUT ROWID;
`;

export class RuntimeStore {
  private readonly db: Database.Database;
  private readonly cache = new Map<string, RuntimeRecord>();

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    for (const row of this.db.prepare('SELECT record FROM runtimes').all() as { record: string }[]) {
      const record = JSON.parse(row.record) as RuntimeRecord;
      this.cache.set(record.runtimeId, record);
    }
  }

  get(runtimeId: string): RuntimeRecord | undefined {
    return this.cache.get(runtimeId);
  }

  /** The runtime that is function `fn`, if any. */
  byFunction(fn: string): RuntimeRecord | undefined {
    for (const record of this.cache.values()) if (record.fn === fn) return record;
    return undefined;
  }

  list(): RuntimeRecord[] {
    return [...this.cache.values()].sort((a, b) => a.created - b.created);
  }

  get size(): number {
    return this.cache.size;
  }

  put(record: RuntimeRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO runtimes (id, fn, record) VALUES (?, ?, ?)')
      .run(record.runtimeId, record.fn, JSON.stringify(record));
    this.cache.set(record.runtimeId, record);
  }

  delete(runtimeId: string): void {
    this.db.prepare('DELETE FROM runtimes WHERE id = ?').run(runtimeId);
    this.cache.delete(runtimeId);
  }

  close(): void {
    this.db.close();
  }
}
