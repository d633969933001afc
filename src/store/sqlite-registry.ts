import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { FunctionSpec } from '../model/spec.js';
import type { ScalingInput } from '../model/scaling.js';
import type {
  FunctionRecord,
  NewVersion,
  Registry,
  SecretInfo,
  TrafficShare,
  VersionInfo,
  VersionRecord,
  VersionStatus,
} from './registry.js';

/** Free pages beyond which an old database (made before auto_vacuum) is compacted once at start. */
const VACUUM_FREE_PAGES = 256;
/** The WAL file is cut back to this after a checkpoint, rather than keeping its largest size. */
const WAL_SIZE_LIMIT = 4 * 1024 * 1024;
/** Every column of a version but its build log, for lists. */
const INFO_COLUMNS = 'function, version, hash, status, spec, entry, build_ms, created_at';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS functions (
  name TEXT PRIMARY KEY,
  live_version INTEGER,
  next_version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
  function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  hash TEXT NOT NULL,
  status TEXT NOT NULL,
  spec TEXT NOT NULL,
  entry TEXT NOT NULL,
  build_log TEXT NOT NULL,
  build_ms INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (function, version)
);
CREATE TABLE IF NOT EXISTS secrets (
  function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (function, name)
);
CREATE TABLE IF NOT EXISTS application_ids (
  function TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
  id TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS traffic (
  function TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
  split TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scaling (
  function TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
  settings TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`;

interface FunctionRow {
  name: string;
  live_version: number | null;
  created_at: string;
  updated_at: string;
}

interface InfoRow {
  function: string;
  version: number;
  hash: string;
  status: string;
  spec: string;
  entry: string;
  build_ms: number;
  created_at: string;
}

interface VersionRow extends InfoRow {
  build_log: string;
}

const toFunction = (r: FunctionRow): FunctionRecord => ({
  name: r.name,
  liveVersion: r.live_version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toInfo = (r: InfoRow): VersionInfo => ({
  function: r.function,
  version: r.version,
  hash: r.hash,
  status: r.status as VersionStatus,
  spec: JSON.parse(r.spec) as FunctionSpec,
  entry: r.entry,
  buildMs: r.build_ms,
  createdAt: r.created_at,
});

const toVersion = (r: VersionRow): VersionRecord => ({ ...toInfo(r), buildLog: r.build_log });

/** The embedded registry: one SQLite file in WAL mode. */
export class SqliteRegistry implements Registry {
  private readonly db: Database.Database;
  /** Prepared statements by their text: a deploy runs about fifteen, each compiled once. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(file: string) {
    this.db = new Database(file);
    // Deleted rows give their pages back to the file system (after incremental_vacuum). The mode can
    // only be chosen before the first table exists; an older file gets it with its one-time VACUUM.
    const fresh = this.sql("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
      n: number;
    };
    if (fresh.n === 0) this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.compactOnce();
  }

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (statement === undefined) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /** An old file without incremental auto_vacuum and much free space is rewritten once, in that mode. */
  private compactOnce(): void {
    const mode = this.db.pragma('auto_vacuum', { simple: true }) as number;
    if (mode === 2) {
      this.shrink();
      return;
    }
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    this.db.pragma('auto_vacuum = INCREMENTAL');
    if (free <= VACUUM_FREE_PAGES) return;
    try {
      this.db.exec('VACUUM');
      // in WAL mode the rewritten file is in the WAL until a checkpoint
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // best effort (it needs room for a copy of the file): the next start tries again
    }
  }

  /** Gives the free pages of the file back to the file system, and cuts the WAL back. */
  private shrink(): void {
    try {
      this.db.pragma('incremental_vacuum');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // best effort: the rows are gone either way, and the pages are reused by the next writes
    }
  }

  listFunctions(): FunctionRecord[] {
    return (this.sql('SELECT * FROM functions ORDER BY name').all() as FunctionRow[]).map(toFunction);
  }

  getFunction(name: string): FunctionRecord | undefined {
    const row = this.sql('SELECT * FROM functions WHERE name = ?').get(name) as FunctionRow | undefined;
    return row === undefined ? undefined : toFunction(row);
  }

  listVersions(name: string): VersionInfo[] {
    const rows = this.sql(`SELECT ${INFO_COLUMNS} FROM versions WHERE function = ? ORDER BY version`).all(
      name,
    );
    return (rows as InfoRow[]).map(toInfo);
  }

  liveVersions(): VersionInfo[] {
    const rows = this.sql(
      `SELECT ${INFO_COLUMNS} FROM versions WHERE (function, version) IN (SELECT name, live_version FROM functions) ORDER BY function`,
    ).all();
    return (rows as InfoRow[]).map(toInfo);
  }

  getVersion(name: string, version: number): VersionRecord | undefined {
    const row = this.sql('SELECT * FROM versions WHERE function = ? AND version = ?').get(name, version);
    return row === undefined ? undefined : toVersion(row as VersionRow);
  }

  nextVersion(name: string): number {
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      this.sql(
        'INSERT INTO functions (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING',
      ).run(name, now, now);
      const row = this.sql(
        'UPDATE functions SET next_version = next_version + 1 WHERE name = ? RETURNING next_version - 1 AS v',
      ).get(name) as { v: number };
      return row.v;
    })();
  }

  addVersion(name: string, version: number, record: NewVersion, live: boolean): VersionRecord {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.sql(
        `INSERT INTO versions (function, version, hash, status, spec, entry, build_log, build_ms, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        name,
        version,
        record.hash,
        record.status,
        JSON.stringify(record.spec),
        record.entry,
        record.buildLog,
        record.buildMs,
        now,
      );
      if (live && record.status === 'ready') {
        this.sql('UPDATE functions SET live_version = ?, updated_at = ? WHERE name = ?').run(
          version,
          now,
          name,
        );
        this.sql('DELETE FROM traffic WHERE function = ?').run(name);
      }
    })();
    return { ...record, function: name, version, createdAt: now };
  }

  setLiveVersion(name: string, version: number): boolean {
    return this.setTraffic(name, version, null);
  }

  getTraffic(name: string): TrafficShare[] | null {
    const row = this.sql('SELECT split FROM traffic WHERE function = ?').get(name) as
      { split: string } | undefined;
    return row === undefined ? null : (JSON.parse(row.split) as TrafficShare[]);
  }

  setTraffic(name: string, live: number, split: TrafficShare[] | null): boolean {
    const ready = this.sql("SELECT 1 FROM versions WHERE function = ? AND version = ? AND status = 'ready'");
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      const versions = [live, ...(split ?? []).map((s) => s.version)];
      if (versions.some((v) => ready.get(name, v) === undefined)) return false;
      this.sql('UPDATE functions SET live_version = ?, updated_at = ? WHERE name = ?').run(live, now, name);
      if (split === null) this.sql('DELETE FROM traffic WHERE function = ?').run(name);
      else {
        this.sql(
          `INSERT INTO traffic (function, split, updated_at) VALUES (?, ?, ?)
             ON CONFLICT(function) DO UPDATE SET split = excluded.split, updated_at = excluded.updated_at`,
        ).run(name, JSON.stringify(split), now);
      }
      return true;
    })();
  }

  deleteVersions(name: string, versions: number[]): number {
    if (versions.length === 0) return 0;
    const del = this.sql(
      `DELETE FROM versions WHERE function = ? AND version = ?
       AND version IS NOT (SELECT live_version FROM functions WHERE name = ?)`,
    );
    const removed = this.db.transaction(() => {
      // a version with a share of the calls stays, like the live one
      const kept = new Set((this.getTraffic(name) ?? []).map((s) => s.version));
      const gone = versions.filter((v) => !kept.has(v));
      return gone.reduce((n, version) => n + del.run(name, version, name).changes, 0);
    })();
    if (removed > 0) this.shrink();
    return removed;
  }

  deleteFunction(name: string): boolean {
    const removed = this.sql('DELETE FROM functions WHERE name = ?').run(name).changes > 0;
    if (removed) this.shrink();
    return removed;
  }

  listSecrets(name: string): SecretInfo[] {
    const rows = this.sql('SELECT name, updated_at FROM secrets WHERE function = ? ORDER BY name').all(
      name,
    ) as { name: string; updated_at: string }[];
    return rows.map((r) => ({ name: r.name, updatedAt: r.updated_at }));
  }

  secretValues(name: string): Record<string, string> {
    const rows = this.sql('SELECT name, value FROM secrets WHERE function = ?').all(name) as {
      name: string;
      value: string;
    }[];
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  setSecret(name: string, secret: string, value: string): void {
    this.sql(
      `INSERT INTO secrets (function, name, value, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(function, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    ).run(name, secret, value, new Date().toISOString());
  }

  deleteSecret(name: string, secret: string): boolean {
    return this.sql('DELETE FROM secrets WHERE function = ? AND name = ?').run(name, secret).changes > 0;
  }

  getScaling(name: string): ScalingInput | null {
    const row = this.sql('SELECT settings FROM scaling WHERE function = ?').get(name) as
      { settings: string } | undefined;
    return row === undefined ? null : (JSON.parse(row.settings) as ScalingInput);
  }

  setScaling(name: string, settings: ScalingInput | null): void {
    if (settings === null) {
      this.sql('DELETE FROM scaling WHERE function = ?').run(name);
      return;
    }
    this.sql(
      `INSERT INTO scaling (function, settings, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(function) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
    ).run(name, JSON.stringify(settings), new Date().toISOString());
  }

  applicationId(name: string): string | undefined {
    const row = this.sql('SELECT id FROM application_ids WHERE function = ?').get(name) as
      { id: string } | undefined;
    return row?.id;
  }

  ensureApplicationId(name: string): string {
    this.sql(
      `INSERT INTO application_ids (function, id, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(function) DO NOTHING`,
    ).run(name, randomUUID(), new Date().toISOString());
    return this.applicationId(name) as string;
  }

  rotateApplicationId(name: string): string {
    const id = randomUUID();
    this.sql(
      `INSERT INTO application_ids (function, id, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(function) DO UPDATE SET id = excluded.id, updated_at = excluded.updated_at`,
    ).run(name, id, new Date().toISOString());
    return id;
  }

  close(): void {
    this.db.close();
  }
}
