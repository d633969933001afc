/**
 * Processes a run left behind. A program may take a child out of its run's process group (setsid), so
 * killing the group at the end of the run misses it; such a stray could go on using `$SKIFF_API` in the
 * name of later runs (their ids are in their environment, readable by the same user). Inside the
 * sandbox the bridge shares a PID namespace only with bubblewrap (pid 1), its watchdog and the runs, so
 * when no run is in flight every other process is a stray: they are all killed then.
 *
 * Only inside the sandbox (the bridge's parent is pid 1, bubblewrap): without one the bridge sees the
 * host's processes, and sweeps nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

function inSandbox(): boolean {
  try {
    return process.ppid === 1 && readFileSync('/proc/1/comm', 'utf8').trim() === 'bwrap';
  } catch {
    return false;
  }
}

const SANDBOXED = inSandbox();

/** SIGKILLs every process of the namespace but pid 1, this bridge and `keep`; returns how many. */
export function killStrays(keep: readonly (number | undefined)[]): number {
  if (!SANDBOXED) return 0;
  const spare = new Set<number>([1, process.pid, ...keep.filter((p): p is number => p !== undefined)]);
  let killed = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0 || spare.has(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone already, or not ours
    }
  }
  return killed;
}
