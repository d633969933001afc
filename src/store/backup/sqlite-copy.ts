/**
 * Copies of the data directory's SQLite databases made with SQLite's online backup API
 * (better-sqlite3 `db.backup()`): each copy is one consistent moment of its database, taken while the
 * platform may be writing to it (WAL mode: readers and the backup do not block writers for long).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** The databases of a data directory: every `*.db` file at its top (registry, state, queue, …). */
export function databaseFiles(dataDir: string): string[] {
  return readdirSync(dataDir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.db'))
    .map((e) => e.name)
    .sort();
}

/** Copies every database of `dataDir` into `destDir` (which exists), under the same names. */
export async function copyDatabases(dataDir: string, destDir: string): Promise<string[]> {
  const files = databaseFiles(dataDir);
  for (const file of files) {
    const db = new Database(path.join(dataDir, file), { fileMustExist: true });
    try {
      // a busy database is waited for, not failed
      db.pragma('busy_timeout = 5000');
      await db.backup(path.join(destDir, file));
    } finally {
      db.close();
    }
  }
  return files;
}
