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
  exclude?: (relPath: string) => boolean;
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
  const paths: string[] = [];
  await listTree(root, '', options.exclude ?? defaultPackExclude, paths);
  // tar loads when something is packed, not at the platform's start
  const { create } = await import('tar');
  const statCache = await singleLinkStats(root, paths);
  // tar needs at least one path; '.' alone (with noDirRecurse) packs an empty folder.
  const stream = create(
    { gzip: true, cwd: root, portable: true, noDirRecurse: true, strict: true, statCache },
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

/**
 * Stats for the hard-linked files among `paths`, each with `nlink` 1: tar would write the second name
 * of a file as a hard link entry, which Skiff's extraction refuses (and tar's own wait for the link
 * target can end the stream twice). With these, every name is packed as a file of its own.
 */
async function singleLinkStats(root: string, paths: string[]): Promise<Map<string, Stats>> {
  const cache = new Map<string, Stats>();
  for (const rel of paths) {
    const absolute = path.resolve(root, rel);
    const stats = await fsp.lstat(absolute);
    if (stats.isFile() && stats.nlink > 1) {
      cache.set(
        absolute,
        Object.assign(Object.create(Object.getPrototypeOf(stats) as object) as Stats, stats, { nlink: 1 }),
      );
    }
  }
  return cache;
}

/** Lists files and folders below `root` into `out` in a stable order, each folder before its contents. */
async function listTree(
  root: string,
  rel: string,
  exclude: (relPath: string) => boolean,
  out: string[],
): Promise<void> {
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
    if (exclude(childRel)) continue;
    if (dirent.isSymbolicLink()) {
      throw new SkiffError(
        'SKIFF_E_INVALID_REQUEST',
        `${path.join(root, childRel)} is a symbolic link; Skiff accepts only regular files and folders, so copy the target in or exclude it`,
      );
    }
    if (dirent.isDirectory()) {
      out.push(childRel);
      await listTree(root, childRel, exclude, out);
    } else if (dirent.isFile()) {
      out.push(childRel);
    } else {
      throw new SkiffError(
        'SKIFF_E_INVALID_REQUEST',
        `${path.join(root, childRel)} is not a regular file or folder (a socket, FIFO or device); remove or exclude it`,
      );
    }
  }
}
