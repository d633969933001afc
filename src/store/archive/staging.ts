import { constants } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '../../shared/errors.js';
import { quoteEntry, safeEntryPath, unsafeEntry } from './entry-path.js';
import type { ArchiveLimits } from './limits.js';

export interface ExtractResult {
  files: number;
  bytes: number;
}

/** Never follow a link at the final component, never overwrite: the staging dir starts empty. */
const FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const DIR_MODE = 0o755;

/** 0755 when the archive set any execute bit, 0644 otherwise; setuid/setgid/sticky are never kept. */
export function fileModeFrom(archiveMode: number | undefined): number {
  return (archiveMode ?? 0) & 0o111 ? 0o755 : 0o644;
}

/**
 * Writes archive entries into a fresh, empty staging folder, one at a time. It enforces the entry
 * count, path safety, duplicate names and the unpacked-bytes budget, and it creates only regular
 * files and folders, so nothing it writes can point outside `destDir`.
 */
export class StagingWriter {
  files = 0;
  bytes = 0;
  private entries = 0;
  private declared = 0;
  private readonly names = new Set<string>();
  private readonly fileSet = new Set<string>();
  private readonly dirs = new Set<string>(['']);

  private constructor(
    readonly destDir: string,
    readonly limits: ArchiveLimits,
  ) {}

  static async open(destDir: string, limits: ArchiveLimits): Promise<StagingWriter> {
    const root = path.resolve(destDir);
    const existing = await fsp.readdir(root).catch((err: unknown) => {
      throw new SkiffError('SKIFF_E_INTERNAL', `the staging folder ${root} cannot be read`, { cause: err });
    });
    if (existing.length > 0)
      throw new SkiffError('SKIFF_E_INTERNAL', `the staging folder ${root} is not empty`);
    return new StagingWriter(root, limits);
  }

  get result(): ExtractResult {
    return { files: this.files, bytes: this.bytes };
  }

  /** Counts one entry against `maxEntries`. Call it for every entry, including refused kinds. */
  countEntry(): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) throw tooManyEntries(this.limits.maxEntries);
  }

  /** Validates an entry's name, refuses a second entry with the same name, and returns its relative path. */
  admit(name: string): string {
    const rel = safeEntryPath(this.destDir, name, this.limits.maxDepth);
    if (rel !== '') {
      if (this.names.has(rel)) throw unsafeEntry(name, 'appears more than once in the archive');
      this.names.add(rel);
    }
    return rel;
  }

  /**
   * Adds an entry's declared size to the running total and refuses the archive as soon as the total
   * exceeds the unpacked budget, before any of the entry's bytes are written. `writeFile` still counts
   * the bytes actually streamed, so a lying header cannot get past the budget either.
   */
  checkDeclaredSize(name: string, size: number): void {
    this.declared += size;
    if (this.declared > this.limits.maxUnpackedBytes) throw tooLarge(this.limits.maxUnpackedBytes, name);
  }

  async mkdir(rel: string, name: string): Promise<void> {
    let current = '';
    for (const part of rel === '' ? [] : rel.split('/')) {
      current = current === '' ? part : `${current}/${part}`;
      if (this.dirs.has(current)) continue;
      if (this.fileSet.has(current))
        throw unsafeEntry(
          name,
          `needs ${quoteEntry(current)} to be a folder, but the archive has a file there`,
        );
      const abs = path.join(this.destDir, current);
      try {
        await fsp.mkdir(abs, { mode: DIR_MODE });
        await fsp.chmod(abs, DIR_MODE);
      } catch (err) {
        throw fsError(err, name);
      }
      this.dirs.add(current);
    }
  }

  /** Streams `source` into a new file at `rel`, counting every byte against the unpacked budget. */
  async writeFile(
    rel: string,
    name: string,
    mode: number,
    source: AsyncIterable<Uint8Array>,
  ): Promise<number> {
    if (rel === '') throw unsafeEntry(name, 'names the destination folder itself');
    if (this.dirs.has(rel)) throw unsafeEntry(name, 'is a file where the archive also has a folder');
    const parent = path.posix.dirname(rel);
    await this.mkdir(parent === '.' ? '' : parent, name);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path.join(this.destDir, rel), FILE_FLAGS, mode);
    } catch (err) {
      throw fsError(err, name);
    }
    this.fileSet.add(rel);
    this.files += 1;
    let written = 0;
    let closed = false;
    try {
      // Errors of `source` propagate as they are: the caller knows what a broken stream means.
      for await (const chunk of source) {
        this.bytes += chunk.length;
        if (this.bytes > this.limits.maxUnpackedBytes) throw tooLarge(this.limits.maxUnpackedBytes, name);
        await writeAll(handle, chunk, name);
        written += chunk.length;
      }
      await handle.chmod(mode).catch((err: unknown) => {
        throw fsError(err, name);
      });
      closed = true;
      await handle.close().catch((err: unknown) => {
        throw fsError(err, name);
      });
    } finally {
      if (!closed) await handle.close().catch(() => undefined);
    }
    return written;
  }
}

async function writeAll(handle: fsp.FileHandle, chunk: Uint8Array, name: string): Promise<void> {
  try {
    for (let offset = 0; offset < chunk.length;) {
      const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
  } catch (err) {
    throw fsError(err, name);
  }
}

function tooManyEntries(max: number): SkiffError {
  return new SkiffError('SKIFF_E_ARCHIVE_TOO_LARGE', `the archive has more than ${max} entries`);
}

function tooLarge(max: number, name: string): SkiffError {
  return new SkiffError(
    'SKIFF_E_ARCHIVE_TOO_LARGE',
    `the archive unpacks to more than ${max} bytes (stopped at entry ${quoteEntry(name)})`,
  );
}

function fsError(err: unknown, name: string): SkiffError {
  if (err instanceof SkiffError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP') {
    return unsafeEntry(name, 'clashes with another entry of the archive');
  }
  if (code === 'ENAMETOOLONG') {
    return new SkiffError(
      'SKIFF_E_ARCHIVE_INVALID',
      `archive entry ${quoteEntry(name)} has a name that is too long`,
    );
  }
  return new SkiffError('SKIFF_E_INTERNAL', `could not write archive entry ${quoteEntry(name)} to staging`, {
    cause: err,
  });
}
