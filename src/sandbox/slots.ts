/**
 * Code slots: how a function's code gets into a sandbox that runs as an unprivileged user, and into a
 * warm sandbox started before its function was chosen. Every instance gets an empty folder (its slot,
 * open to the sandboxes' group only) in a base below the temp folder; the base is a shared mount, so when the platform
 * (root) later mounts the code read-only at `<slot>/code`, the mount propagates into the sandbox,
 * which bound the slot at start. The code is bound read-only first in a private staging folder and
 * then moved into the slot, so the copy that propagates is read-only too. Needs root (mounts). The
 * mounts are made by one long-lived helper (mount-helper.ts) when it runs, else by `mount` launches.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { mountPoints } from '../shared/mounts.js';
import { isAlive } from '../shared/processes.js';
import { MountHelper } from './mount-helper.js';

const run = promisify(execFile);

export interface CodeSlot {
  /** The slot folder, bound into the sandbox at the same path. */
  dir: string;
  /** Where a function's code appears, inside and outside the sandbox: `<slot>/<function>`. */
  pathFor(functionName: string): string;
  /** Mounts the code read-only into the slot (once); `writable` for a build's work folder. */
  mount(hostDir: string, functionName: string, writable?: boolean): Promise<void>;
  /** Unmounts the code and removes the slot. */
  release(): void;
}

function removeEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // missing, or not empty (left for a look rather than deleted)
  }
}

/** removeEmpty off the event loop, in order (a folder after the ones inside it). */
async function removeEmptyLater(dirs: string[]): Promise<void> {
  for (const dir of dirs) await rmdir(dir).catch(() => undefined);
}

const umount = (target: string) => {
  try {
    execFileSync('umount', ['-l', target], { stdio: 'ignore' });
  } catch {
    // not mounted any more
  }
};

export class CodeSlots {
  private constructor(
    private readonly base: string,
    private readonly staging: string,
    private readonly gid: number,
    private readonly helper: MountHelper | undefined,
  ) {}

  /** The bind of `hostDir` at `stage`, moved onto `target`: by the helper, else by two `mount` launches. */
  private async bind(hostDir: string, stage: string, target: string, writable: boolean): Promise<void> {
    if (this.helper?.alive === true) {
      try {
        await this.helper.bind(hostDir, stage, target, writable);
        return;
      } catch (err) {
        // a refusal of the kernel is the answer; a helper that died leaves it to `mount`
        if (this.helper.alive) throw err;
      }
    }
    await run('mount', ['--bind', ...(writable ? [] : ['-o', 'ro']), hostDir, stage]);
    await run('mount', ['--move', stage, target]);
  }

  /** Unmounts (lazily) and then removes the slot's folders, off the event loop when the helper runs. */
  private unmountAndRemove(points: string[], dirs: string[]): void {
    const remove = () => {
      // never a recursive removal: were a mount still there, it would delete the function's code
      for (const dir of dirs) removeEmpty(dir);
    };
    const helper = this.helper;
    if (helper?.alive !== true) {
      for (const point of points) umount(point);
      remove();
      return;
    }
    const removeLater = () => removeEmptyLater(dirs);
    void Promise.all(points.map((point) => helper.umount(point))).then(removeLater, () => {
      for (const point of points) umount(point);
      remove();
    });
  }

  /** A folder the sandboxes' group (and root) may enter and list, nobody else (the umask is 077). */
  private groupDir(dir: string): void {
    mkdirSync(dir, { mode: 0o750 });
    chownSync(dir, 0, this.gid);
    chmodSync(dir, 0o750);
  }

  /**
   * Opens this platform's slot base, or says why there can be none. `gid` is the sandboxes' group: slots
   * are theirs to enter; others may pass through the base (0711) but not list it.
   */
  static open(dataDir: string, gid: number, python?: string): CodeSlots | string {
    if (process.getuid?.() !== 0) return 'code slots need root (mounts)';
    const tmp = os.tmpdir();
    // slot bases of platforms that died without cleaning up
    for (const point of mountPoints()) {
      const match = new RegExp(`^${tmp}/skiff-slots-(\\d+)-`).exec(point);
      if (match !== null && !isAlive(Number(match[1]))) umount(point);
    }
    // one base per platform: tests run several platforms in one process
    const base = path.join(tmp, `skiff-slots-${process.pid}-${randomBytes(4).toString('hex')}`);
    const staging = path.join(dataDir, 'sandbox', 'staging');
    try {
      mkdirSync(base, { recursive: true, mode: 0o711 });
      chmodSync(base, 0o711);
      mkdirSync(staging, { recursive: true, mode: 0o700 });
      execFileSync('mount', ['--bind', base, base], { stdio: ['ignore', 'ignore', 'pipe'] });
      execFileSync('mount', ['--make-shared', base], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      umount(base);
      removeEmpty(base);
      const e = err as { stderr?: Buffer; message: string };
      return `cannot make the code slot mount: ${e.stderr?.toString().trim() || e.message}`;
    }
    return new CodeSlots(base, staging, gid, python === undefined ? undefined : MountHelper.start(python));
  }

  create(id: string): CodeSlot {
    const dir = path.join(this.base, id);
    this.groupDir(dir);
    const stage = path.join(this.staging, id);
    let inside: string | undefined;
    let mounted: Promise<void> | undefined;
    const pathFor = (functionName: string) => path.join(dir, functionName);
    return {
      dir,
      pathFor,
      mount: (hostDir, functionName, writable = false) => {
        mounted ??= (async () => {
          const target = pathFor(functionName);
          this.groupDir(target);
          inside = target;
          mkdirSync(stage, { recursive: true, mode: 0o700 });
          await this.bind(hostDir, stage, target, writable);
          removeEmpty(stage);
        })();
        return mounted;
      },
      release: () => {
        const points = inside === undefined ? [stage] : [inside, stage];
        this.unmountAndRemove(points, inside === undefined ? [stage, dir] : [stage, inside, dir]);
      },
    };
  }

  close(): void {
    this.helper?.stop();
    for (const point of mountPoints()
      .filter((p) => p.startsWith(`${this.base}/`))
      .reverse())
      umount(point);
    umount(this.base);
    if (!existsSync(this.base)) return;
    for (const id of readdirSync(this.base)) {
      for (const name of readdirSync(path.join(this.base, id))) removeEmpty(path.join(this.base, id, name));
      removeEmpty(path.join(this.base, id));
    }
    removeEmpty(this.base);
  }
}
