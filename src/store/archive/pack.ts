import type { Dirent, Stats } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '../../shared/errors.js';

export interface PackOptions {
  /**
   * Decides, for every file and folder below the packed folder, whether to leave it out; an excluded
   * folder is not descended into. `relPath` is relative to the packed folder, `/`-separated, with no
   * leading `./` or trailing `/`. Replaces `defaultPackExclude`; call it from yours to extend it.
   */
  exclude?: (relPath: string, isDirectory: boolean) => boolean;
  /**
   * Symbolic links below the folder: `refuse` (the default) fails naming the first, `skip` leaves them
   * out, `follow` packs what they point at as regular files and folders (a link to a folder already on
   * the way down is refused, so a loop cannot recurse for ever).
   */
  symlinks?: 'refuse' | 'skip' | 'follow';
}

const DEFAULT_EXCLUDED_NAMES = new Set(['node_modules', '.git', '.skiff']);

/** Leaves out `node_modules`, `.git` and `.skiff`, at any depth. */
export function defaultPackExclude(relPath: string): boolean {
  return relPath.split('/').some((part) => DEFAULT_EXCLUDED_NAMES.has(part));
}

/**
 * Packs the contents of `dir` into a gzipped tar for upload, with entry paths relative to `dir`.
 * Symbolic links are never followed: one below `dir` (or any other non-regular file) throws
 * SKIFF_E_INVALID_REQUEST naming it, since the server would refuse the archive anyway.
 */
export async function packDirectory(dir: string, options: PackOptions = {}): Promise<Buffer> {
  const root = path.resolve(dir);
  const info = await fsp.stat(root).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) {
    throw new SkiffError('SKIFF_E_INVALID_REQUEST', `${root} is not a folder that can be packed`);
  }
  const symlinks = options.symlinks ?? 'refuse';
  const paths = await packablePaths(root, options);
  // tar loads when something is packed, not at the platform's start
  const { create } = await import('tar');
  const follow = symlinks === 'follow';
  const statCache = await singleLinkStats(root, paths, follow);
  // tar needs at least one path; '.' alone (with noDirRecurse) packs an empty folder.
  const stream = create(
    { gzip: true, cwd: root, portable: true, noDirRecurse: true, strict: true, statCache, follow },
    paths.length > 0 ? paths : ['.'],
  );
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new SkiffError('SKIFF_E_INVALID_REQUEST', `could not pack ${root}: ${detail}`, { cause: err });
  }
  return Buffer.concat(chunks);
}

/** The files and folders `packDirectory` would pack, relative to `dir`, each folder before its contents. */
export async function packablePaths(dir: string, options: PackOptions = {}): Promise<string[]> {
  const root = path.resolve(dir);
  const out: string[] = [];
  const walk = {
    root,
    exclude: options.exclude ?? defaultPackExclude,
    symlinks: options.symlinks ?? 'refuse',
    out,
  };
  await listTree(walk, '', new Set([await fsp.realpath(root)]));
  return out;
}

/**
 * Stats for the hard-linked files among `paths`, each with `nlink` 1: tar would write the second name
 * of a file as a hard link entry, which Skiff's extraction refuses (and tar's own wait for the link
 * target can end the stream twice). With these, every name is packed as a file of its own.
 */
async function singleLinkStats(root: string, paths: string[], follow: boolean): Promise<Map<string, Stats>> {
  const cache = new Map<string, Stats>();
  for (const rel of paths) {
    const absolute = path.resolve(root, rel);
    const stats = follow ? await fsp.stat(absolute) : await fsp.lstat(absolute);
    if (stats.isFile() && stats.nlink > 1) {
      cache.set(
        absolute,
        Object.assign(Object.create(Object.getPrototypeOf(stats) as object) as Stats, stats, { nlink: 1 }),
      );
    }
  }
  return cache;
}

interface Walk {
  root: string;
  exclude: (relPath: string, isDirectory: boolean) => boolean;
  symlinks: 'refuse' | 'skip' | 'follow';
  out: string[];
}

/**
 * Lists files and folders below `walk.root` into `walk.out` in a stable order, each folder before its
 * contents. `above`: the real paths of the folders on the way down (a followed link to one is a loop).
 */
async function listTree(walk: Walk, rel: string, above: ReadonlySet<string>): Promise<void> {
  const { root } = walk;
  let dirents: Dirent[];
  try {
    dirents = await fsp.readdir(path.join(root, rel), { withFileTypes: true });
  } catch (err) {
    throw new SkiffError('SKIFF_E_INVALID_REQUEST', `cannot read the folder ${path.join(root, rel)}`, {
      cause: err,
    });
  }
  dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const dirent of dirents) {
    const childRel = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
    const full = path.join(root, childRel);
    let kind: 'dir' | 'file' | 'other' = dirent.isDirectory() ? 'dir' : dirent.isFile() ? 'file' : 'other';
    let real: string | undefined;
    if (dirent.isSymbolicLink()) {
      if (walk.symlinks === 'skip') continue;
      if (walk.symlinks === 'refuse') {
        if (walk.exclude(childRel, false)) continue;
        throw new SkiffError(
          'SKIFF_E_INVALID_REQUEST',
          `${full} is a symbolic link; Skiff accepts only regular files and folders: copy the target in, exclude it (.skiffignore), or pass --symlinks follow or skip`,
        );
      }
      const target = await fsp.stat(full).catch(() => undefined);
      if (target === undefined) {
        throw new SkiffError(
          'SKIFF_E_INVALID_REQUEST',
          `${full} is a symbolic link to nothing (--symlinks follow)`,
        );
      }
      kind = target.isDirectory() ? 'dir' : target.isFile() ? 'file' : 'other';
      real = await fsp.realpath(full);
    }
    if (walk.exclude(childRel, kind === 'dir')) continue;
    if (kind === 'dir') {
      real ??= await fsp.realpath(full);
      if (above.has(real)) {
        throw new SkiffError('SKIFF_E_INVALID_REQUEST', `${full} links back to a folder above it: a loop`);
      }
      walk.out.push(childRel);
      await listTree(walk, childRel, new Set([...above, real]));
    } else if (kind === 'file') {
      walk.out.push(childRel);
    } else {
      throw new SkiffError(
        'SKIFF_E_INVALID_REQUEST',
        `${full} is not a regular file or folder (a socket, FIFO or device); remove or exclude it`,
      );
    }
  }
}
