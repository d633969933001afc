/**
 * What `skiff fn deploy` uploads: a folder packed without what `.skiffignore` and the defaults leave
 * out, checked against the platform's upload limit before it is sent (a platform that stops reading
 * an upload over its limit would otherwise show as a broken connection).
 */
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '../shared/errors.js';
import { mib as mb } from '../shared/sizes.js';
import { packablePaths, packDirectory } from '../store/archive/pack.js';
import { deployIgnore } from '../store/archive/skiffignore.js';
import type { SkiffClient } from './client.js';
import { withHint } from './output.js';

export type SymlinkMode = 'refuse' | 'skip' | 'follow';

export interface Upload {
  body: Buffer;
  /** For the size message: the folder and what it leaves out. */
  dir?: { path: string; exclude: (relPath: string, isDirectory: boolean) => boolean; symlinks: SymlinkMode };
}

/**
 * The upload of a folder (its packable files) or of an archive. `dataDir`, the platform data folder the
 * CLI knows of, is left out when it lies inside the folder: its admin token never becomes function code.
 */
export async function packUpload(
  source: { kind: 'dir' | 'archive'; path: string },
  symlinks: SymlinkMode,
  dataDir?: string,
): Promise<Upload> {
  if (source.kind === 'archive') return { body: await readFile(source.path) };
  const rules = await deployIgnore(source.path);
  const inside = dataDir === undefined ? [] : foldersBelow(source.path, dataDir);
  const exclude = (rel: string, isDirectory: boolean): boolean =>
    rules.exclude(rel, isDirectory) || inside.some((d) => rel === d || rel.startsWith(`${d}/`));
  return {
    body: await packDirectory(source.path, { exclude, symlinks }),
    dir: { path: source.path, exclude, symlinks },
  };
}

/** Refuses an upload over the platform's limit before sending it, naming the largest parts of the folder. */
export async function checkUploadSize(client: SkiffClient, upload: Upload): Promise<void> {
  let limit: number;
  try {
    ({ maxUploadBytes: limit } = (await client.api<{ maxUploadBytes: number }>('GET', '/v1/limits')).body);
  } catch (err) {
    // an older platform without the route: its own answer to the upload says
    if (err instanceof SkiffError && err.code === 'SKIFF_E_NOT_FOUND') return;
    throw err;
  }
  if (!(limit > 0) || upload.body.length <= limit) return;
  const parts = upload.dir === undefined ? '' : await largestParts(upload.dir);
  throw withHint(
    new SkiffError(
      'SKIFF_E_ARCHIVE_TOO_LARGE',
      `the upload is ${mb(upload.body.length)} packed, over the platform's limit of ${mb(limit)} (build.maxUploadBytes); nothing was sent${parts}`,
    ),
    'leave large files and folders out with a .skiffignore (gitignore syntax; .git, .venv, __pycache__ and, with a package.json, node_modules are left out already)',
  );
}

/** `; the largest parts: data/ 40.1 MiB, model.bin 12.0 MiB` (unpacked sizes of the top-level entries). */
async function largestParts(dir: NonNullable<Upload['dir']>): Promise<string> {
  const sizes = new Map<string, number>();
  for (const rel of await packablePaths(dir.path, { exclude: dir.exclude, symlinks: dir.symlinks })) {
    const stats = await lstat(path.join(dir.path, rel)).catch(() => undefined);
    if (stats === undefined || !stats.isFile()) continue;
    const top = rel.split('/')[0] ?? rel;
    const key = rel.includes('/') ? `${top}/` : top;
    sizes.set(key, (sizes.get(key) ?? 0) + stats.size);
  }
  const top = [...sizes].sort((a, b) => b[1] - a[1]).slice(0, 3);
  return top.length === 0 ? '' : `; the largest parts: ${top.map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`;
}

/** `inner` relative to `outer` (with `/`) when it lies below it, as a one-element list; else none. */
export function foldersBelow(outer: string, inner: string): string[] {
  const rel = path.relative(path.resolve(outer), path.resolve(inner));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? [rel.split(path.sep).join('/')] : [];
}
