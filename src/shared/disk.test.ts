import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { diskFullChannel, isDiskFull, retryOnDiskFull } from './disk.js';
import { SkiffError, toSkiffError } from './errors.js';

const errno = (code: string) => Object.assign(new Error(code), { code });

describe('disk-full errors', () => {
  it('are recognised from the file system, SQLite, and as the cause of an internal error', () => {
    expect(isDiskFull(errno('ENOSPC'))).toBe(true);
    expect(isDiskFull(errno('EDQUOT'))).toBe(true);
    expect(isDiskFull(errno('SQLITE_FULL'))).toBe(true);
    expect(isDiskFull(errno('EACCES'))).toBe(false);
    expect(isDiskFull(undefined)).toBe(false);
    const wrapped = new SkiffError('SKIFF_E_INTERNAL', 'could not write', { cause: errno('ENOSPC') });
    expect(toSkiffError(wrapped).code).toBe('SKIFF_E_DISK_FULL');
    expect(toSkiffError(errno('SQLITE_FULL')).status).toBe(507);
    // a user error keeps its code even with such a cause
    const user = new SkiffError('SKIFF_E_ARCHIVE_INVALID', 'bad', { cause: errno('ENOSPC') });
    expect(toSkiffError(user).code).toBe('SKIFF_E_ARCHIVE_INVALID');
  });

  it('are reported on the channel, and a freeing write is tried once more', () => {
    const seen: unknown[] = [];
    const listener = (message: unknown): void => void seen.push(message);
    subscribe(diskFullChannel.name, listener);
    try {
      let calls = 0;
      const result = retryOnDiskFull(() => {
        calls++;
        if (calls === 1) throw errno('SQLITE_FULL');
        return 'done';
      });
      expect(result).toBe('done');
      expect(calls).toBe(2);
      expect(seen).toHaveLength(1);
      expect(() =>
        retryOnDiskFull(() => {
          throw errno('EACCES');
        }),
      ).toThrow('EACCES');
      expect(seen).toHaveLength(1);
    } finally {
      unsubscribe(diskFullChannel.name, listener);
    }
  });
});
