/**
 * One long-lived process (runtimes/sandbox/mount-helper.py, started once by the code slots, as root)
 * that makes the code slots' mounts with mount(2) directly: loading a function into a sandbox then
 * costs two system calls in another process instead of two `mount` launches, each of which forked the
 * platform (milliseconds of its event loop, growing with its memory). Requests are answered in order.
 * When the helper cannot start or dies, the caller falls back to the `mount` command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eachLine } from '../shared/lines.js';
import { PACKAGE_ROOT } from '../shared/paths.js';

const SCRIPT = path.join(PACKAGE_ROOT, 'runtimes', 'sandbox', 'mount-helper.py');

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

const hex = (p: string) => Buffer.from(p).toString('hex');

export class MountHelper {
  private readonly waiting: Waiter[] = [];
  private dead: Error | undefined;

  private constructor(private readonly child: ChildProcess) {
    eachLine(child.stdout, (line) => this.answer(line));
    child.on('error', (err) => this.die(err));
    child.on('exit', () => this.die(new Error('the mount helper exited')));
    child.stdin?.on('error', (err) => this.die(err));
    // it must never keep the platform alive, nor outlive it (its stdin closes with the platform)
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) {
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
  }

  /** Starts the helper on `python` (an interpreter with ctypes), or undefined when there is none. */
  static start(python: string): MountHelper | undefined {
    try {
      const child = spawn(python, ['-I', '-S', SCRIPT], {
        stdio: ['pipe', 'pipe', 'ignore'],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
        cwd: '/',
      });
      if (child.pid === undefined) return undefined;
      return new MountHelper(child);
    } catch {
      return undefined;
    }
  }

  /** Whether requests can still be made (false once the helper ended). */
  get alive(): boolean {
    return this.dead === undefined;
  }

  /** Binds `source` at `stage` (read-only unless `writable`), then moves it onto `target`. */
  bind(source: string, stage: string, target: string, writable: boolean): Promise<void> {
    return this.request(`bind ${writable ? 'rw' : 'ro'} ${hex(source)} ${hex(stage)} ${hex(target)}`);
  }

  /** Lazily unmounts `target`; one that is not mounted is no error. */
  umount(target: string): Promise<void> {
    return this.request(`umount ${hex(target)}`);
  }

  /** Ends the helper (the platform is stopping); what still waits is refused. */
  stop(): void {
    this.die(new Error('the mount helper was stopped'));
    this.child.kill();
  }

  private request(line: string): Promise<void> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin?.write(`${line}\n`);
    });
  }

  private answer(line: string): void {
    const waiter = this.waiting.shift();
    if (waiter === undefined) return;
    if (line === 'ok') waiter.resolve();
    else waiter.reject(new Error(line.replace(/^error /, '')));
  }

  private die(err: Error): void {
    this.dead ??= err;
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.dead);
  }
}
