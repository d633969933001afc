import { SkiffError } from '../../shared/errors.js';
import { resolveArchiveLimits, type ArchiveLimits } from './limits.js';
import { StagingWriter, type ExtractResult } from './staging.js';
// the tar and zip readers (and their packages) load at the first upload, not at the platform's start
const extractTarGz = async (data: Buffer, writer: StagingWriter): Promise<void> =>
  (await import('./tar.js')).extractTarGz(data, writer);
const extractZip = async (data: Buffer, writer: StagingWriter): Promise<void> =>
  (await import('./zip.js')).extractZip(data, writer);

const ZIP_LOCAL_HEADER = Buffer.from('PK\x03\x04', 'latin1');
const ZIP_EMPTY = Buffer.from('PK\x05\x06', 'latin1');
const GZIP = Buffer.from([0x1f, 0x8b]);

/**
 * Safely extracts an uploaded function archive (zip or tar.gz, told apart by magic bytes) into
 * `destDir`, which must exist and be empty. Only regular files (mode 0644, or 0755 when the archive
 * set an execute bit) and folders (0755) are created, never outside `destDir`; a single top-level
 * folder is kept as it is. Any failure rejects with a SkiffError (SKIFF_E_ARCHIVE_INVALID,
 * SKIFF_E_ARCHIVE_UNSAFE, SKIFF_E_ARCHIVE_TOO_LARGE, or SKIFF_E_INTERNAL for local I/O trouble) after
 * all writes have settled, possibly leaving some files in `destDir`: the caller removes it. Files
 * are not fsynced and mtimes are not restored.
 */
export async function extractArchive(
  data: Buffer,
  destDir: string,
  limits?: Partial<ArchiveLimits>,
): Promise<ExtractResult> {
  const resolved = resolveArchiveLimits(limits);
  if (data.length > resolved.maxPackedBytes) {
    throw new SkiffError(
      'SKIFF_E_ARCHIVE_TOO_LARGE',
      `the upload is ${data.length} bytes, more than the ${resolved.maxPackedBytes} accepted`,
    );
  }
  const extract =
    startsWith(data, ZIP_LOCAL_HEADER) || startsWith(data, ZIP_EMPTY)
      ? extractZip
      : startsWith(data, GZIP)
        ? extractTarGz
        : undefined;
  if (extract === undefined) {
    throw new SkiffError(
      'SKIFF_E_ARCHIVE_INVALID',
      'the upload is neither a zip nor a tar.gz archive; pack the function folder with `skiff fn deploy` or zip/tar.gz it',
    );
  }
  const writer = await StagingWriter.open(destDir, resolved);
  await extract(data, writer);
  return writer.result;
}

function startsWith(data: Buffer, magic: Buffer): boolean {
  return data.length >= magic.length && data.subarray(0, magic.length).equals(magic);
}
