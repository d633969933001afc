/**
 * The data directory's disk. Two lines of defence against filling it:
 * - a reserve: writes a stranger can cause (async accepts, deploys) are refused with 507 while the
 *   free space would drop below `reserveBytes`, so the platform itself always has room to record
 *   outcomes, checkpoint its WAL and delete;
 * - a ballast: a file of a few MiB in the data directory, written at start while there is room. When a
 * write fails because the disk is full (reported on the `skiff:disk-full` channel), the file is
 * deleted at once, so that what frees space (deletes, SQLite's WAL checkpoints, dropping request
 * bodies of finished invocations) can still write. It is written again once the free space is back
 * above twice its size (`ensure`, called at start and by the periodic housekeeping).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { closeSync, fsyncSync, openSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../shared/logger.js';
import { diskFullChannel } from '../shared/disk.js';

export const BALLAST_FILE = 'ballast';
const CHUNK = 1024 * 1024;

/** How long a measured free space is trusted (writes in between are subtracted). */
const FREE_CACHE_MS = 100;

export class Ballast {
  private readonly file: string;
  private measured: { at: number; free: number } | undefined;
  private readonly onFull = (): void => void this.release('a write failed on a full disk');

  constructor(
    dataDir: string,
    private readonly bytes: number,
    private readonly logger: Logger,
    private readonly reserveBytes = 0,
  ) {
    this.file = path.join(dataDir, BALLAST_FILE);
    subscribe(diskFullChannel.name, this.onFull);
  }

  /** Free bytes for this process on the data directory's file system. */
  freeBytes(): number {
    const s = statfsSync(path.dirname(this.file));
    return s.bavail * s.bsize;
  }

  /**
   * True when `bytes` can be written and the reserve still be free: then they are counted as taken
   * until the next measurement. Unknown free space (statfs failed) lets the write try.
   */
  hasRoom(bytes: number): boolean {
    const now = Date.now();
    if (this.measured === undefined || now - this.measured.at > FREE_CACHE_MS) {
      try {
        this.measured = { at: now, free: this.freeBytes() };
      } catch {
        return true;
      }
    }
    if (this.measured.free - bytes < this.reserveBytes) return false;
    this.measured.free -= bytes;
    return true;
  }

  /** True while the ballast file is there whole. */
  get present(): boolean {
    try {
      return statSync(this.file).size >= this.bytes;
    } catch {
      return false;
    }
  }

  /**
   * Makes the ballast when it is missing and there is room for twice its size; deletes it when the
   * free space is below its size (a disk that filled while the platform was down).
   */
  ensure(): void {
    if (this.bytes === 0) return;
    let free: number;
    try {
      free = this.freeBytes();
    } catch {
      return;
    }
    const present = this.present;
    if (present && free < this.bytes) {
      this.release('the disk is almost full');
      return;
    }
    if (present || free < 2 * this.bytes) return;
    let fd: number | undefined;
    try {
      fd = openSync(this.file, 'w', 0o600);
      // written out, not sparse: the blocks must really be taken
      const zeros = Buffer.alloc(Math.min(CHUNK, this.bytes));
      for (let done = 0; done < this.bytes;) {
        done += writeSync(fd, zeros, 0, Math.min(zeros.length, this.bytes - done));
      }
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      this.logger.debug({ bytes: this.bytes }, 'disk ballast in place');
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      rmSync(this.file, { force: true });
      this.logger.warn({ err }, 'the disk ballast cannot be written');
    }
  }

  /** Deletes the ballast (when there is one) to give its space to what must still write. */
  release(reason: string): boolean {
    try {
      statSync(this.file);
    } catch {
      return false;
    }
    rmSync(this.file, { force: true });
    this.logger.warn(
      { bytes: this.bytes, file: this.file },
      `disk ballast deleted: ${reason}; free space, then it is made again`,
    );
    return true;
  }

  close(): void {
    unsubscribe(diskFullChannel.name, this.onFull);
  }
}
