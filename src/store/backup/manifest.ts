/**
 * The manifest of a backup archive, `skiff-backup.json` at its top: what Skiff and which data
 * directory schema made it, when, and every file with its size and sha256. A restore reads it as
 * untrusted input (restore.ts): every field is checked, every path must be one a backup holds.
 */
import { z } from 'zod';

export const MANIFEST_FILE = 'skiff-backup.json';
export const BACKUP_FORMAT = 1;
/** Most files a manifest may list (a platform with many versions of many functions stays far below). */
export const MAX_MANIFEST_FILES = 500_000;

/**
 * What a backup holds, besides the databases (every `*.db` at the top of the data directory) and the
 * versions' code (`functions/`): the admin token, the private functions' key and namespace id and the
 * MQTT listener's credentials. A dialect's own files outside the databases are not kept.
 */
export const KEPT_FILES = [
  'admin-token',
  'access/signing-key.pem',
  'access/namespace-id',
  'mqtt-credentials.json',
] as const;

/**
 * The deepest path (in components) a backup holds and a restore accepts: a version's code may be 64
 * deep below its folder (the upload limit) and deeper where a build wrote it (pip install), under
 * `functions/<name>/<version>/`. A deeper file is left out of the backup (listed in `skipped`), so that
 * no tenant can make the whole backup unrestorable.
 */
export const MAX_PATH_DEPTH = 128;

/** Whether a manifest path is one a backup may hold (and so one a restore may write). */
export function isBackupPath(p: string): boolean {
  if ((KEPT_FILES as readonly string[]).includes(p)) return true;
  if (/^[a-z][a-z0-9-]*\.db$/.test(p)) return true;
  // functions/<name>/<version>/<file…>: plain relative components, no `.` or `..`
  const parts = p.split('/');
  return (
    parts.length >= 4 &&
    parts.length <= MAX_PATH_DEPTH &&
    p.length <= 4096 &&
    parts[0] === 'functions' &&
    parts.every((c) => c !== '' && c !== '.' && c !== '..' && !/[\0\\]/.test(c))
  );
}

const fileSchema = z.strictObject({
  path: z.string().min(1).max(4096),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const manifestSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  schema: z.number().int().min(0),
  skiffVersion: z.string().max(100),
  createdAt: z.string().max(100),
  files: z.array(fileSchema).max(MAX_MANIFEST_FILES),
  /** Entries of the data directory left out (links inside a version's code), for the operator to see. */
  skipped: z.array(z.string().max(4096)).max(MAX_MANIFEST_FILES),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof fileSchema>;
