/**
 * Recognising a full disk: the file system says ENOSPC (or EDQUOT, a quota), SQLite says SQLITE_FULL.
 * Anything that classifies such an error publishes it on the `skiff:disk-full` diagnostics channel, so
 * the data directory's ballast (src/store/ballast.ts) can give space back at once.
 */
import { channel } from 'node:diagnostics_channel';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Published with the error whenever a write failed because the disk is full. */
export const diskFullChannel = channel('skiff:disk-full');

/** True when `err`, or one of its causes, says the disk (or the user's quota) is full. */
export function isDiskFull(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && FULL_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Tells the ballast (and anyone listening) that a write failed on a full disk. */
export function reportDiskFull(err: unknown): void {
  if (diskFullChannel.hasSubscribers) diskFullChannel.publish(err);
}

/**
 * Runs a write that frees space (a delete): when the disk is full, the failure is reported (the
 * ballast gives its space back) and the write is tried once more.
 */
export function retryOnDiskFull<T>(write: () => T): T {
  try {
    return write();
  } catch (err) {
    if (!isDiskFull(err)) throw err;
    reportDiskFull(err);
    return write();
  }
}
