/**
 * A walk of a folder tree that changes owners and modes without ever following a symbolic link, even
 * when something rewrites the tree while the walk runs (a build's processes, a hostile archive).
 *
 * A path-based walk (lstat, then chown) can be redirected twice over: the entry can be swapped for a
 * link between the lstat and the chown (chown follows it), and a folder on the way can be swapped for a
 * link to a host folder between readdir and the change of one of its entries. Here every entry is opened
 * with O_PATH | O_NOFOLLOW (a link yields the link itself, never its target) and changed through
 * `/proc/self/fd/N`, which names the opened inode, not a path; a folder's entries are reached through
 * its own descriptor (`/proc/self/fd/N/name`), so a folder swapped after it was opened changes nothing.
 * A link is re-owned with lchown (which never follows the last part of a path); its mode is left alone.
 */
import { constants, type Stats } from 'node:fs';
import { chmod, chown, lchown, open, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** O_PATH (Linux): a descriptor that pins an inode without opening it for reading. */
const O_PATH = (constants as Partial<Record<string, number>>)['O_PATH'] ?? 0o10000000;

/** Folders deeper than this are refused (a descriptor is held per level). */
export const MAX_WALK_DEPTH = 4096;

export interface PinnedEntry {
  /** The entry's path (for messages and choices; never used to change it). */
  path: string;
  /** Its lstat, taken from the pinned descriptor. */
  stat: Stats;
  /** Changes the owner of this very entry (a link itself, never its target). */
  chown(uid: number, gid: number): Promise<void>;
  /** Changes the mode of this very entry; does nothing for a link. */
  chmod(mode: number): Promise<void>;
}

/** Returns whether to go into the entry (when it is a folder). */
export type Visit = (entry: PinnedEntry) => Promise<boolean>;

/** Entries visited at once in a folder of the first PARALLEL_LEVELS levels. */
const PARALLEL = 8;
const PARALLEL_LEVELS = 2;

const gone = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Returns false for an entry to leave alone without opening it (known by its path alone). */
export type Prune = (path: string) => boolean;

async function visitAt(
  shown: string,
  at: string,
  visit: Visit,
  depth: number,
  keep: Prune | undefined,
): Promise<void> {
  if (keep !== undefined && depth > 0 && !keep(shown)) return;
  let handle: FileHandle;
  try {
    handle = await open(at, O_PATH | constants.O_NOFOLLOW);
  } catch (err) {
    if (gone(err)) return; // removed meanwhile: nothing to change
    throw err;
  }
  try {
    const stat = await handle.stat();
    const pinned = `/proc/self/fd/${handle.fd}`;
    const link = stat.isSymbolicLink();
    const entry: PinnedEntry = {
      path: shown,
      stat,
      // `at` is a name in a pinned folder (or the walk's root): lchown does not follow its last part
      chown: (uid, gid) => (link ? lchown(at, uid, gid) : chown(pinned, uid, gid)),
      chmod: (mode) => (link ? Promise.resolve() : chmod(pinned, mode)),
    };
    if (!(await visit(entry)) || !stat.isDirectory()) return;
    if (depth >= MAX_WALK_DEPTH) throw new Error(`${shown}: folders nested deeper than ${MAX_WALK_DEPTH}`);
    const names = await readdir(pinned);
    // near the root a few entries at a time (a data folder holds a folder per function); the open
    // handles stay bounded: PARALLEL per level, on PARALLEL_LEVELS levels at most
    const batch = depth < PARALLEL_LEVELS ? PARALLEL : 1;
    for (let i = 0; i < names.length; i += batch) {
      const settled = await Promise.allSettled(
        names
          .slice(i, i + batch)
          .map((name) => visitAt(path.join(shown, name), `${pinned}/${name}`, visit, depth + 1, keep)),
      );
      for (const s of settled) if (s.status === 'rejected') throw s.reason;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Visits `root` and everything below it, parents first (siblings near the root in no fixed order),
 * without following links. `root` itself is
 * opened with O_NOFOLLOW too: when it is a link, only the link is visited. An entry below `root` for
 * which `keep` says false is neither opened nor visited, nor anything below it.
 */
export function walkPinned(root: string, visit: Visit, keep?: Prune): Promise<void> {
  return visitAt(root, root, visit, 0, keep);
}
