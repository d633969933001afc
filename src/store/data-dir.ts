/**
 * Who may read the data directory. It holds the admin token, secrets (in registry.db and its WAL),
 * queued payloads, logs and every function's code, so nothing in it is for other local users:
 *
 * - every folder is 0700 and every file loses its group and other bits (an executable stays 0700);
 * - function code (`functions/<name>/<version>/`) is the one exception when sandboxes run as users of
 *   their own (root): its contents belong to the platform and to the sandboxes' group, which may read
 *   and run them but not write (folders 0750, files 0640 or 0750). Sandboxes get the code through a
 *   read-only bind mount of the version folder and never see the data directory's path, and
 *   `functions/` itself stays 0700, so no other local user reaches the code that way either.
 *
 * The platform runs with umask 077, so what it creates is owner-only from the start; `secureDataDir`
 * fixes a data directory written by an older version (0644 files), and `shareCode` sets a new version's
 * code right before it goes live. Neither follows a symbolic link: a link is re-owned, never its target.
 */
import { lstat, readFile, realpath, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mountPoints } from '../shared/mounts.js';
import { SkiffError } from '../shared/errors.js';
import { walkPinned, type PinnedEntry } from '../shared/pinned-walk.js';

/** Who the code of a version is for: the sandboxes' group, or undefined for owner-only code. */
export type CodeGroup = number | undefined;

interface Wanted {
  /** Mode bits for a folder, and for a file given its own mode. */
  dir: number;
  file(mode: number): number;
  gid: number | undefined;
}

const OWNER_ONLY: Wanted = { dir: 0o700, file: (mode) => mode & 0o700, gid: undefined };

function forCode(gid: number): Wanted {
  return {
    dir: 0o750,
    // the group may read, and run what the owner may run
    file: (mode) => (mode & 0o700) | 0o400 | 0o040 | ((mode & 0o100) !== 0 ? 0o010 : 0),
    gid,
  };
}

const root = () => process.getuid?.() === 0;

/** Owner and mode of one entry; links are re-owned (lchown), never their targets, and get no mode. */
async function fixEntry(entry: PinnedEntry, mode: number, wantedGid: number | undefined): Promise<void> {
  const { stat } = entry;
  const uid = root() ? 0 : stat.uid;
  const gid = root() ? (wantedGid ?? 0) : stat.gid;
  if (stat.uid !== uid || stat.gid !== gid) await entry.chown(uid, gid);
  // chown clears setuid/setgid bits, and these modes never set them again
  if (!stat.isSymbolicLink() && (stat.mode & 0o7777) !== mode) await entry.chmod(mode);
}

/** Sets a tree for `wanted` (src/shared/pinned-walk.ts: no link followed, even while it changes). */
async function fix(dir: string, wanted: Wanted, skip: Set<string>): Promise<void> {
  await walkPinned(dir, async (entry) => {
    if (skip.has(entry.path)) return false; // a mount (a code slot's staging bind): not ours to change
    const isDir = entry.stat.isDirectory();
    await fixEntry(entry, isDir ? wanted.dir : wanted.file(entry.stat.mode & 0o7777), wanted.gid);
    return isDir;
  });
}

const PARALLEL_VERSIONS = 8;

function mountsBelow(dir: string): Set<string> {
  return new Set(mountPoints().filter((p) => p.startsWith(`${dir}/`)));
}

/** Sets a version's code folder (before it goes live) for `group`, or owner-only without one. */
export async function shareCode(dir: string, group: CodeGroup): Promise<void> {
  await fix(dir, group === undefined ? OWNER_ONLY : forCode(group), new Set());
}

/**
 * The versions whose code a start already walked, and for which group: `code-verified.json` in the
 * data directory. A version's folder is written once (extracted, built, set by `shareCode`, renamed
 * into place) and never again, so a walk of it at every start finds nothing to change; the versions
 * deployed since the last start, and all of them when the group changed or the file is missing or
 * unreadable, are walked. Everything else in the data directory is walked at every start.
 */
export const VERIFIED_FILE = 'code-verified.json';

interface Verified {
  group: string;
  versions: string[];
}

const groupKey = (group: CodeGroup): string => (group === undefined ? 'owner' : `gid:${group}`);

async function readVerified(dir: string, group: CodeGroup): Promise<Set<string>> {
  try {
    const parsed = JSON.parse(await readFile(path.join(dir, VERIFIED_FILE), 'utf8')) as Partial<Verified>;
    if (parsed.group !== groupKey(group) || !Array.isArray(parsed.versions)) return new Set();
    return new Set(parsed.versions.filter((v): v is string => typeof v === 'string'));
  } catch {
    return new Set(); // none yet (or damaged): every version is walked
  }
}

async function writeVerified(dir: string, group: CodeGroup, versions: string[]): Promise<void> {
  const file = path.join(dir, VERIFIED_FILE);
  const body: Verified = { group: groupKey(group), versions: versions.sort() };
  await writeFile(`${file}.tmp`, JSON.stringify(body), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/**
 * Makes the data directory and everything in it owner-only (code: see `shareCode`; the code of a
 * version an earlier start walked is not walked again, see VERIFIED_FILE). Refuses a folder that is
 * not the platform's alone to change: `/`, or a shared temp folder (sticky bit).
 */
export async function secureDataDir(dataDir: string, group: CodeGroup): Promise<void> {
  const dir = await realpath(dataDir);
  const st = await lstat(dir);
  if (dir === '/' || (st.mode & 0o1000) !== 0 || !st.isDirectory()) {
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `the data directory ${dir} must be a folder of the platform's own (not /, not a shared temp folder)`,
    );
  }
  const skip = mountsBelow(dir);
  const functions = path.join(dir, 'functions');
  /** functions/<name>/<version>: a version's code. */
  const isVersion = (file: string) => path.dirname(path.dirname(file)) === functions;
  const verified = await readVerified(dir, group);
  // every folder and file, the versions' code aside (shareCode walks each version on its own)
  const versions: string[] = [];
  const known: string[] = [];
  // a version walked before is not even opened (its name says what it is)
  const keep = (file: string): boolean => {
    if (!isVersion(file)) return true;
    const rel = path.relative(dir, file);
    if (!verified.has(rel)) return true;
    known.push(rel);
    return false;
  };
  await walkPinned(
    dir,
    async (entry) => {
      if (skip.has(entry.path)) return false;
      const isDir = entry.stat.isDirectory();
      if (isDir && isVersion(entry.path)) {
        versions.push(entry.path);
        return false;
      }
      await fixEntry(entry, isDir ? 0o700 : OWNER_ONLY.file(entry.stat.mode & 0o7777), undefined);
      return isDir;
    },
    keep,
  );
  // a few versions at a time: with many functions, one after another would hold up the start
  for (let i = 0; i < versions.length; i += PARALLEL_VERSIONS) {
    const settled = await Promise.allSettled(
      versions.slice(i, i + PARALLEL_VERSIONS).map((version) => shareCode(version, group)),
    );
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
  }
  // a removed version leaves the list; one walked now joins it
  if (versions.length > 0 || known.length !== verified.size) {
    await writeVerified(dir, group, [...known, ...versions.map((v) => path.relative(dir, v))]);
  }
}
