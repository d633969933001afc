/**
 * A backup of a data directory, made while the platform runs (docs/operations.md): into a
 * folder of its own under `<dataDir>/backups/`, every database is copied with SQLite's online backup
 * (each a consistent moment of itself), the versions' code and the kept files (manifest.ts) are
 * linked (or copied: a version's files never change once it is in place), and a manifest lists every
 * file with its size and sha256. The folder is then packed as a tar.gz stream (the `tar` package) and
 * removed once the stream ends or is dropped.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, rmSync } from 'node:fs';
import { copyFile, link, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create } from 'tar';
import { copyDatabases } from './sqlite-copy.js';
import {
  BACKUP_FORMAT,
  isBackupPath,
  KEPT_FILES,
  MANIFEST_FILE,
  type Manifest,
  type ManifestFile,
} from './manifest.js';
import { SCHEMA_VERSION } from '../schema/steps.js';
import { skiffVersion } from '../schema/version.js';

export const BACKUPS_DIR = 'backups';

export interface BackupStream {
  /** The tar.gz bytes. */
  stream: AsyncIterable<Buffer>;
  manifest: Manifest;
  /** Removes the work folder (once the stream ended or was dropped; safe to call again). */
  cleanup(): Promise<void>;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** A hard link where the file system allows one (same folder tree), else a copy. */
async function place(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

/** The files of the versions' code (relative to dataDir), and the links left out. */
function codeFiles(dataDir: string): { files: string[]; skipped: string[] } {
  const root = path.join(dataDir, 'functions');
  const files: string[] = [];
  const skipped: string[] = [];
  if (!existsSync(root)) return { files, skipped };
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const rel = path.relative(dataDir, path.join(entry.parentPath, entry.name));
    // a file a restore would refuse (a backslash in its name, too deep: a build may write them) is
    // left out like a link, rather than making the whole backup unrestorable
    const posix = rel.split(path.sep).join('/');
    if (entry.isFile() && isBackupPath(posix)) files.push(rel);
    else if (!entry.isDirectory()) skipped.push(rel);
  }
  return { files: files.sort(), skipped: skipped.sort() };
}

export async function createBackup(dataDir: string): Promise<BackupStream> {
  const work = path.join(dataDir, BACKUPS_DIR, `tmp-${randomUUID()}`);
  await mkdir(work, { recursive: true, mode: 0o700 });
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => (cleaned ??= rm(work, { recursive: true, force: true }));
  try {
    // the databases first: code a version's row names is in place before its row is committed
    const names = await copyDatabases(dataDir, work);
    const { files: code, skipped } = codeFiles(dataDir);
    for (const rel of [...KEPT_FILES, ...code]) {
      try {
        await place(path.join(dataDir, rel), path.join(work, rel));
        names.push(rel);
      } catch (err) {
        // a kept file the platform never made, or a version deleted since the listing
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    const files: ManifestFile[] = [];
    for (const rel of names) {
      const full = path.join(work, rel);
      files.push({ path: rel, size: (await stat(full)).size, sha256: await sha256(full) });
    }
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      schema: SCHEMA_VERSION,
      skiffVersion: skiffVersion(),
      createdAt: new Date().toISOString(),
      files,
      skipped,
    };
    await writeFile(path.join(work, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, {
      mode: 0o600,
    });
    const stream = create({ gzip: true, cwd: work, portable: true }, [
      MANIFEST_FILE,
      ...files.map((f) => f.path),
    ]) as AsyncIterable<Buffer>;
    return { stream, manifest, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Writes a backup of `dataDir` to `out` (a file, an HTTP answer), and removes its work folder. */
export async function writeBackup(
  dataDir: string,
  out: NodeJS.WritableStream,
  onManifest?: (m: Manifest) => void,
): Promise<Manifest> {
  const backup = await createBackup(dataDir);
  try {
    onManifest?.(backup.manifest);
    await pipeline(Readable.from(backup.stream), out);
    return backup.manifest;
  } finally {
    await backup.cleanup();
  }
}

/** Removes the work folders (`backups/tmp-*`) of backups that a crash cut short. */
export function removeStaleWork(dataDir: string): void {
  const dir = path.join(dataDir, BACKUPS_DIR);
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('tmp-')) rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}
