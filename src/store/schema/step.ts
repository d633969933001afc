/** What a migration step is given: the databases of the data directory, opened on demand. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export interface StepDatabases {
  /** Runs `work` on `<dataDir>/<file>` when that database exists (an older data directory may lack it). */
  withDatabase(file: string, work: (db: Database.Database) => void): void;
  /** Adds a column unless the table already has it (or the database or table does not exist yet). */
  addColumn(file: string, table: string, column: string, type: string): void;
}

export type Step = (db: StepDatabases) => void;

const NAME = /^[a-z_][a-z0-9_]*$/;

/** The databases of `dataDir` for one step; each opened database is closed before it returns. */
export function stepDatabases(dataDir: string): StepDatabases {
  const withDatabase = (file: string, work: (db: Database.Database) => void): void => {
    const full = path.join(dataDir, file);
    if (!existsSync(full)) return;
    const db = new Database(full, { fileMustExist: true });
    try {
      db.transaction(() => work(db))();
    } finally {
      db.close();
    }
  };
  return {
    withDatabase,
    addColumn(file, table, column, type) {
      if (!NAME.test(table) || !NAME.test(column))
        throw new Error(`bad table or column name ${table}.${column}`);
      withDatabase(file, (db) => {
        const columns = db.pragma(`table_info(${table})`) as { name: string }[];
        if (columns.length === 0 || columns.some((c) => c.name === column)) return;
        db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
      });
    },
  };
}
