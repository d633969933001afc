/**
 * Process groups that must not outlive the bridge. The bridges start user programs in their own process
 * group (`detached`), so a timeout can kill a program together with its children. If the bridge itself
 * is killed (SIGKILL by the platform, which sees only the bridge's pid), nothing in the bridge runs any
 * more: a tiny `/bin/sh` watchdog holds the read end of a pipe from the bridge, learns the live groups
 * over it (`+ pgid` / `- pgid` lines) and, when the pipe reaches end-of-file because the bridge is gone,
 * however it went, SIGKILLs every group still registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const WATCHDOG = `
live=''
while read -r op pg; do
  case "$op" in
    +) live="$live $pg" ;;
    -) n=''; for p in $live; do [ "$p" = "$pg" ] || n="$n $p"; done; live=$n ;;
  esac
done
for p in $live; do kill -9 -"$p" 2>/dev/null; done
`;

export class Reaper {
  private readonly groups = new Set<number>();
  /** The groups the watchdog knows. */
  private readonly watched = new Set<number>();
  private readonly watchdog: ChildProcess;

  constructor() {
    this.watchdog = spawn('/bin/sh', ['-c', WATCHDOG], { stdio: ['pipe', 'ignore', 'ignore'], env: {} });
    this.watchdog.on('error', () => undefined);
    this.watchdog.stdin?.on('error', () => undefined);
    this.watchdog.unref();
    (this.watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  /** The watchdog's pid (it must outlive every sweep of stray processes). */
  get watchdogPid(): number | undefined {
    return this.watchdog.pid;
  }

  get size(): number {
    return this.groups.size;
  }

  /**
   * Registers the process group led by `pid` (a child spawned with `detached: true`); `watch` false
   * when what started it kills it if the bridge goes away (the spawner), so the watchdog need not know.
   */
  add(pid: number, watch = true): void {
    this.groups.add(pid);
    if (watch) {
      this.watched.add(pid);
      this.watchdog.stdin?.write(`+ ${pid}\n`);
    }
  }

  /** Forgets a group once it is gone (its leader exited and the group was killed). */
  remove(pid: number): void {
    this.groups.delete(pid);
    if (this.watched.delete(pid)) this.watchdog.stdin?.write(`- ${pid}\n`);
  }

  /** Sends `signal` to the whole group; false if it no longer exists. */
  signal(pid: number, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    try {
      process.kill(-pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILLs every registered group (synchronous, safe in a process 'exit' handler). */
  killAll(): void {
    for (const pid of this.groups) this.signal(pid, 'SIGKILL');
    this.groups.clear();
    this.watched.clear();
  }
}
