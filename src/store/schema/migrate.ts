/**
 * Brings a data directory to this Skiff's schema version at start, before any store opens it:
 *
 * - a fresh data directory is stamped with the current version (the stores create the newest tables);
 * - one of a newer version is refused (SKIFF_E_DATA_DIR_TOO_NEW) before anything in it is written;
 * - an older one is backed up first (its databases, with SQLite's online backup, into
 *   `<dataDir>/backups/pre-migrate-<from>-<to>-<time>/`), then the steps of steps.ts run in order,
 *   VERSION.json recording the version after each step.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { copyDatabases } from '../backup/sqlite-copy.js';
import { stepDatabases, type Step } from './step.js';
import { MIGRATIONS } from './steps.js';
import { readSchema, refuseNewer, writeSchema } from './version.js';

export interface Migrated {
  from: number | undefined;
  to: number;
  /** The folder of the pre-migration backup, when steps ran. */
  backup?: string;
}

/** Refuses a data directory this Skiff cannot read, without writing anything. */
export function checkDataDir(dataDir: string, steps: readonly Step[] = MIGRATIONS): number | undefined {
  const schema = readSchema(dataDir);
  if (schema !== undefined) refuseNewer(schema, steps.length, `the data directory ${dataDir}`);
  return schema;
}

export async function migrateDataDir(
  dataDir: string,
  logger: Logger,
  steps: readonly Step[] = MIGRATIONS,
): Promise<Migrated> {
  const to = steps.length;
  const from = checkDataDir(dataDir, steps);
  if (from === undefined) {
    writeSchema(dataDir, to);
    return { from, to };
  }
  if (from === to) return { from, to };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const backup = path.join(dataDir, 'backups', `pre-migrate-${from}-${to}-${stamp}`);
  mkdirSync(backup, { recursive: true, mode: 0o700 });
  const copied = await copyDatabases(dataDir, backup);
  logger.info(
    { from, to, backup, databases: copied },
    `migrating the data directory from schema ${from} to ${to}`,
  );
  const db = stepDatabases(dataDir);
  for (let version = from; version < to; version++) {
    try {
      steps[version]?.(db);
    } catch (err) {
      throw new SkiffError(
        'SKIFF_E_DATA_DIR_INVALID',
        `migration step ${version} → ${version + 1} failed (${err instanceof Error ? err.message : String(err)}); the data directory stays at ${version}, and ${backup} holds the databases from before`,
        { cause: err },
      );
    }
    writeSchema(dataDir, version + 1);
  }
  return { from, to, backup };
}
