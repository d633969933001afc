/**
 * The data directory's schema version: `<dataDir>/VERSION.json`, `{ "schema": <n>, "skiffVersion",
 * "updatedAt" }`, written (atomically) by the start that made or migrated the data directory. A data
 * directory with databases and no VERSION.json was made before versions existed: version 0.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../../shared/errors.js';
import { PACKAGE_ROOT } from '../../shared/paths.js';

export const VERSION_FILE = 'VERSION.json';

export interface DataDirVersion {
  schema: number;
  skiffVersion: string;
  updatedAt: string;
}

/** The version of this Skiff (package.json). */
export function skiffVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The schema a data directory is at: undefined for a fresh one (no VERSION.json, no registry). */
export function readSchema(dataDir: string): number | undefined {
  const file = path.join(dataDir, VERSION_FILE);
  if (!existsSync(file)) return existsSync(path.join(dataDir, 'registry.db')) ? 0 : undefined;
  let schema: unknown;
  try {
    schema = (JSON.parse(readFileSync(file, 'utf8')) as Partial<DataDirVersion>).schema;
  } catch {
    schema = undefined;
  }
  if (typeof schema !== 'number' || !Number.isSafeInteger(schema) || schema < 0) {
    throw new SkiffError(
      'SKIFF_E_DATA_DIR_INVALID',
      `${file} holds no schema version ({ "schema": <whole number> }); restore it, or the data directory from a backup`,
    );
  }
  return schema;
}

/** Records `schema` as the data directory's version (a temp file renamed into place). */
export function writeSchema(dataDir: string, schema: number): void {
  const file = path.join(dataDir, VERSION_FILE);
  const body: DataDirVersion = { schema, skiffVersion: skiffVersion(), updatedAt: new Date().toISOString() };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** Refuses a schema newer than `known` (a data directory or a backup of a newer Skiff). */
export function refuseNewer(schema: number, known: number, what: string): void {
  if (schema > known) {
    throw new SkiffError(
      'SKIFF_E_DATA_DIR_TOO_NEW',
      `${what} has schema version ${schema}, newer than the ${known} this Skiff (${skiffVersion()}) knows: it was written by a newer release; run that release (nothing was changed)`,
    );
  }
}
