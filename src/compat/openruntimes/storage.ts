/**
 * The executor's `file://` storage: the paths clients name in `source` and `destination`
 * (`/storage/functions/app/code.tar.gz`) are read and written below one folder of the host, the
 * storage root, never outside it (`..`, symbolic links out and NUL bytes are refused).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readlink, realpath, unlink } from 'node:fs/promises';
import path from 'node:path';
import { oprError } from './errors.js';

export class FileStorage {
  constructor(
    readonly root: string,
    private readonly maxReadBytes: number,
  ) {}

  /** The host path of a storage path, or a refusal when it would leave the root. */
  private hostPath(name: string): string {
    if (name === '' || name.includes('\0'))
      throw oprError('execution_bad_request', 'A storage path is empty.');
    const rel = path.posix.normalize(`/${name}`);
    if (rel.split('/').includes('..')) {
      throw oprError('execution_bad_request', `Storage path ${name} leaves the storage.`);
    }
    return path.join(this.root, rel);
  }

  /** The real path of `host`, checked to be inside the root (symbolic links resolved). */
  private async inside(host: string): Promise<string> {
    const [real, root] = await Promise.all([realpath(host), realpath(this.root)]);
    if (real !== root && !real.startsWith(root + path.sep)) {
      throw oprError('execution_bad_request', 'A storage path leads out of the storage.');
    }
    return real;
  }

  /**
   * The bytes of a stored file. The file is opened first, then where the opened file really is
   * (its /proc/self/fd link) is checked to be inside the root: a check of the path before the read
   * would race a client that swaps a folder of it for a link out of the root (it shares the root).
   */
  async read(name: string): Promise<Buffer> {
    const host = this.hostPath(name);
    const missing = oprError('general_unknown', `Source ${name} does not exist in the executor's storage.`);
    // non-blocking: a FIFO planted in the storage must not hang the open
    const handle = await open(host, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      throw code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' ? missing : err;
    });
    try {
      const [opened, root] = await Promise.all([readlink(`/proc/self/fd/${handle.fd}`), realpath(this.root)]);
      if (!opened.startsWith(root + path.sep)) {
        throw oprError('execution_bad_request', 'A storage path leads out of the storage.');
      }
      const info = await handle.stat();
      if (!info.isFile()) throw missing;
      if (info.size > this.maxReadBytes) {
        throw oprError(
          'execution_bad_request',
          `Source ${name} is ${info.size} bytes, more than the ${this.maxReadBytes} accepted (build.maxUploadBytes).`,
        );
      }
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  /** Stores `bytes` as a new file in folder `dir` (made when missing); returns its storage path. */
  async write(dir: string, extension: string, bytes: Buffer): Promise<string> {
    const hostDir = this.hostPath(dir);
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    // the folders up to the destination, each checked not to lead out
    const rel = path.relative(this.root, hostDir);
    let current = this.root;
    for (const part of rel === '' ? [] : rel.split(path.sep)) {
      current = path.join(current, part);
      await mkdir(current, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await this.inside(current);
    }
    const file = `${randomBytes(10).toString('hex')}${extension}`;
    // made, then checked where it really is (as read does): the folders above may have been swapped
    // for links out of the root since they were checked; one made outside is removed at once, empty
    const handle = await open(
      path.join(hostDir, file),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      const [made, root] = await Promise.all([readlink(`/proc/self/fd/${handle.fd}`), realpath(this.root)]);
      if (!made.startsWith(root + path.sep)) {
        await unlink(made).catch(() => undefined);
        throw oprError('execution_bad_request', 'A storage path leads out of the storage.');
      }
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    return path.posix.join(path.posix.normalize(`/${dir}`), file);
  }
}
