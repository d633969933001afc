import { SkiffError } from '../../shared/errors.js';
import { mib as mb } from '../../shared/sizes.js';

/**
 * The refusal of an upload over `build.maxUploadBytes`, with its size when the client declared it
 * (Content-Length) and the limit, in MiB and in bytes.
 */
export function uploadTooLarge(declared: string | number | undefined, limit: number): SkiffError {
  const size = Number(declared);
  const what =
    declared !== undefined && Number.isSafeInteger(size) && size > limit
      ? `the upload is ${mb(size)} (${size} bytes),`
      : 'the upload is';
  return new SkiffError(
    'SKIFF_E_ARCHIVE_TOO_LARGE',
    `${what} over the platform's limit of ${mb(limit)} (${limit} bytes, build.maxUploadBytes); leave large files and folders out with a .skiffignore`,
  );
}
