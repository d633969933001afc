/**
 * Restores a backup archive (create.ts) into a data directory that no platform runs on. The archive is
 * untrusted: it is unpacked by the uploads' safe extractor (src/store/archive: only files and folders,
 * no link, no path outside, capped entries and bytes) into a fresh folder beside the target, its
 * manifest is checked (every file listed with its size and sha256, nothing unlisted, only paths a
 * backup holds), and only then is the folder renamed into place. A backup of a newer schema is
 * refused; an older one is restored as it is and migrated by the next start (after its own backup).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readFile, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '../../shared/errors.js';
import { extractArchive } from '../archive/extract.js';
import type { ArchiveLimits } from '../archive/limits.js';
import { SCHEMA_VERSION } from '../schema/steps.js';
import { refuseNewer, writeSchema } from '../schema/version.js';
import { checkDatabases } from './check-databases.js';
import { BACKUPS_DIR } from './create.js';
import { isBackupPath, MANIFEST_FILE, manifestSchema, MAX_PATH_DEPTH, type Manifest } from './manifest.js';

const MiB = 1024 * 1024;

/** The caps of a restore: far above a function upload's, still bounded. */
export const RESTORE_LIMITS: ArchiveLimits = {
  maxPackedBytes: 1024 * MiB,
  maxUnpackedBytes: 4096 * MiB,
  maxEntries: 500_000,
  maxDepth: MAX_PATH_DEPTH,
  maxCompressionRatio: 100,
  ratioMinBytes: MiB,
};
const MAX_MANIFEST_BYTES = 128 * MiB;
/** What only a data directory holds: --force replaces a folder with one of them. */
const DATA_DIR_MARKS = ['registry.db', 'VERSION.json', 'admin-token'];

export interface RestoreOptions {
  /** Replace a data directory that is not empty (what is there moves to backups/replaced-<time>/). */
  force?: boolean;
  limits?: Partial<ArchiveLimits>;
}

export interface Restored {
  manifest: Manifest;
  dataDir: string;
  /** Where the replaced data directory was moved (with --force). */
  replaced?: string;
}

const invalid = (message: string): SkiffError => new SkiffError('SKIFF_E_BACKUP_INVALID', message);

async function sha256(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream()) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

/** Owner-only modes (the extractor makes 0644 files): the start shares the code again (data-dir.ts). */
async function ownerOnly(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const mode = entry.isDirectory() ? 0o700 : ((await lstat(full)).mode & 0o100) !== 0 ? 0o700 : 0o600;
    await chmod(full, mode);
  }
}

async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  const st = await lstat(file).catch(() => undefined);
  if (st === undefined || !st.isFile())
    throw invalid(`the archive holds no ${MANIFEST_FILE}: it is not a Skiff backup`);
  if (st.size > MAX_MANIFEST_BYTES) throw invalid(`${MANIFEST_FILE} is over ${MAX_MANIFEST_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw invalid(`${MANIFEST_FILE} is not valid JSON`);
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw invalid(
      `${MANIFEST_FILE} is not a backup manifest: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
    );
  }
  return result.data;
}

/** Every file of the unpacked archive is in the manifest, with its size and sha256, and the reverse. */
async function verify(dir: string, manifest: Manifest): Promise<void> {
  const listed = new Map<string, { size: number; sha256: string }>();
  for (const f of manifest.files) {
    if (!isBackupPath(f.path))
      throw invalid(`the manifest names ${JSON.stringify(f.path)}, which a backup never holds`);
    if (listed.has(f.path)) throw invalid(`the manifest names ${f.path} twice`);
    listed.set(f.path, f);
  }
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  // a folder no listed file is in (an empty `backups/`, `logs/`, `endpoints.json/`) is refused too:
  // it would land in the data directory unchecked, or clash with what stays there
  const folders = new Set<string>();
  for (const rel of listed.keys())
    for (let d = path.posix.dirname(rel); d !== '.'; d = path.posix.dirname(d)) folders.add(d);
  for (const entry of entries.filter((e) => e.isDirectory())) {
    const rel = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    if (!folders.has(rel))
      throw invalid(`the folder ${rel} is in the archive, but no file of its manifest is in it`);
  }
  const found = entries.filter((e) => !e.isDirectory());
  for (const entry of found) {
    const rel = path.relative(dir, path.join(entry.parentPath, entry.name));
    if (rel === MANIFEST_FILE) continue;
    if (!entry.isFile() || !listed.has(rel))
      throw invalid(`${rel} is in the archive but not in its manifest`);
  }
  for (const [rel, want] of listed) {
    const full = path.join(dir, rel);
    const st = await lstat(full).catch(() => undefined);
    if (st === undefined || !st.isFile()) throw invalid(`${rel} is in the manifest but not in the archive`);
    if (st.size !== want.size) throw invalid(`${rel} is ${st.size} bytes, the manifest says ${want.size}`);
    if ((await sha256(full)) !== want.sha256)
      throw invalid(`${rel} does not match its sha256 in the manifest`);
  }
}

/**
 * Moves what was in `target` to backups/replaced-<time>/ (when `replace`), then the staging folder's
 * entries into `target`. A rename that fails half-way (a full disk, a folder that appeared) undoes
 * the renames made so far, so the data directory is never left with only part of either.
 */
async function moveIntoPlace(target: string, staging: string, replace: boolean): Promise<string | undefined> {
  const done: [from: string, to: string][] = [];
  const move = async (from: string, to: string): Promise<void> => {
    await rename(from, to);
    done.push([from, to]);
  };
  let replaced: string | undefined;
  try {
    if (replace) {
      // what was there goes to backups/replaced-<time>/ (backups/ itself stays where it is)
      replaced = path.join(target, BACKUPS_DIR, `replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      await mkdir(replaced, { recursive: true, mode: 0o700 });
      for (const name of await readdir(target)) {
        if (name === BACKUPS_DIR || name === path.basename(staging)) continue;
        await move(path.join(target, name), path.join(replaced, name));
      }
    }
    for (const name of await readdir(staging)) await move(path.join(staging, name), path.join(target, name));
    return replaced;
  } catch (err) {
    for (const [from, to] of done.reverse()) await rename(to, from).catch(() => undefined);
    // only when empty: whatever could not be moved back stays there, never removed
    if (replaced !== undefined) await rmdir(replaced).catch(() => undefined);
    throw err;
  }
}

export async function restoreBackup(
  archive: string,
  dataDir: string,
  options: RestoreOptions = {},
): Promise<Restored> {
  const target = path.resolve(dataDir);
  const nonEmpty = existsSync(target) && readdirSync(target).length > 0;
  if (nonEmpty && options.force !== true) {
    throw new SkiffError(
      'SKIFF_E_RESTORE_NOT_EMPTY',
      `${target} is not empty: restore into a new folder, or stop its platform and add --force (what is there moves to backups/replaced-<time>/)`,
    );
  }
  // --force replaces a data directory, never another folder (a home, /tmp) that happens to be named
  if (nonEmpty && !DATA_DIR_MARKS.some((f) => existsSync(path.join(target, f)))) {
    throw new SkiffError(
      'SKIFF_E_RESTORE_NOT_EMPTY',
      `${target} is not empty and is not a Skiff data directory (no ${DATA_DIR_MARKS.join(', ')}): --force only replaces one; restore into a new folder`,
    );
  }
  const limits = { ...RESTORE_LIMITS, ...options.limits };
  const size = (await lstat(archive)).size;
  if (size > limits.maxPackedBytes) {
    throw new SkiffError(
      'SKIFF_E_ARCHIVE_TOO_LARGE',
      `${archive} is ${size} bytes, more than the ${limits.maxPackedBytes} accepted`,
    );
  }
  const data = await readFile(archive);
  if (data.length < 2 || data[0] !== 0x1f || data[1] !== 0x8b)
    throw invalid(`${archive} is not a tar.gz archive`);
  const made = !existsSync(target);
  await mkdir(target, { recursive: true, mode: 0o700 });
  // inside the target: the platform's user may write there, not always beside it (/var/lib)
  const staging = path.join(target, `.restore-${randomUUID()}`);
  await mkdir(staging, { mode: 0o700 });
  try {
    await extractArchive(data, staging, limits);
    const manifest = await readManifest(staging);
    refuseNewer(manifest.schema, SCHEMA_VERSION, `the backup ${archive}`);
    await verify(staging, manifest);
    // the registry's rows become paths at the start: they are checked like the archive's own
    checkDatabases(
      staging,
      manifest.files.map((f) => f.path).filter((p) => !p.includes('/') && p.endsWith('.db')),
    );
    await rm(path.join(staging, MANIFEST_FILE));
    await ownerOnly(staging);
    // the schema it was made at: the next start migrates it (after a backup) when it is older
    writeSchema(staging, manifest.schema);
    const replaced = await moveIntoPlace(target, staging, nonEmpty);
    return { manifest, dataDir: target, ...(replaced === undefined ? {} : { replaced }) };
  } catch (err) {
    // a target this restore made goes again: a refused archive leaves nothing behind
    if (made) await rm(target, { recursive: true, force: true });
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
