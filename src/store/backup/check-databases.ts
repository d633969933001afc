/**
 * What a restore checks inside the databases of a backup before they go into place
 * (docs/operations/backups.md): the archive is untrusted, and the platform turns registry rows into
 * paths (a version's code folder, the folder removed with old versions). A sha256 in the manifest
 * only says the file is the one its author packed, not that a Skiff wrote it, so:
 *
 * - every database is a SQLite file that passes `PRAGMA quick_check`;
 * - no database holds a trigger or a view (Skiff's tables have none; a trigger would change rows after
 *   this check, at the platform's next write);
 * - every function name of registry.db is a function name, every version a whole number with a hex
 *   hash (the entry is not a host path: it is read inside the sandbox, or handed to a custom runtime).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { NAME_PATTERN } from '../../model/spec.js';
import { SkiffError } from '../../shared/errors.js';

const invalid = (message: string): SkiffError => new SkiffError('SKIFF_E_BACKUP_INVALID', message);

const HASH = /^[0-9a-f]{0,64}$/;

function checkRegistry(db: Database.Database): void {
  const tables = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
      (t) => t.name,
    ),
  );
  const names = (table: string, column: string): unknown[] =>
    tables.has(table) ? db.prepare(`SELECT ${column} AS v FROM ${table}`).pluck().all() : [];
  const badName = [
    ...names('functions', 'name'),
    ...['versions', 'secrets', 'application_ids', 'traffic', 'scaling'].flatMap((t) => names(t, 'function')),
  ].find((n) => typeof n !== 'string' || !NAME_PATTERN.test(n));
  if (badName !== undefined)
    throw invalid(
      `registry.db names a function ${JSON.stringify(String(badName).slice(0, 100))}: not a function name`,
    );
  if (!tables.has('versions')) return;
  for (const row of db.prepare('SELECT function, version, hash FROM versions').iterate()) {
    const { function: fn, version, hash } = row as Record<string, unknown>;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)
      throw invalid(
        `registry.db holds a version of ${String(fn)} numbered ${JSON.stringify(String(version).slice(0, 30))}`,
      );
    if (typeof hash !== 'string' || !HASH.test(hash))
      throw invalid(`registry.db holds version ${version} of ${String(fn)} with a hash that no deploy makes`);
  }
}

/** Checks the databases `files` (names relative to `dir`); throws SKIFF_E_BACKUP_INVALID. */
export function checkDatabases(dir: string, files: readonly string[]): void {
  for (const file of files) {
    let db: Database.Database;
    try {
      db = new Database(path.join(dir, file), { readonly: true, fileMustExist: true });
    } catch {
      throw invalid(`${file} is not a SQLite database`);
    }
    try {
      let ok: unknown;
      try {
        // the schema is not trusted: no function of it runs while it is read
        db.pragma('trusted_schema = OFF');
        ok = db.pragma('quick_check', { simple: true });
      } catch (err) {
        throw invalid(`${file} is not a readable SQLite database (${(err as Error).message})`);
      }
      if (ok !== 'ok') throw invalid(`${file} is damaged (${String(ok).slice(0, 200)})`);
      const extra = db
        .prepare("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view')")
        .get() as { type: string; name: string } | undefined;
      if (extra !== undefined)
        throw invalid(
          `${file} holds a ${extra.type} (${JSON.stringify(extra.name.slice(0, 100))}), which Skiff never makes`,
        );
      if (file === 'registry.db') checkRegistry(db);
    } catch (err) {
      if (err instanceof SkiffError) throw err;
      throw invalid(`${file} cannot be read as a Skiff database (${(err as Error).message})`);
    } finally {
      db.close();
      // a read of a WAL database leaves its (empty) side files: the restore brings only the databases
      for (const side of ['-wal', '-shm']) rmSync(path.join(dir, `${file}${side}`), { force: true });
    }
  }
}
