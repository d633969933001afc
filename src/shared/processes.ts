import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resident memory of a process in bytes, from /proc; null when it cannot be read. */
export function residentBytes(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

/** The pids of a process's children, from /proc (every thread's list); empty when it cannot be read. */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
        .split(' ')
        .filter((p) => p !== '')
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** The program a process runs (its argv[0]), or undefined when it is gone or cannot be read. */
function programOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return undefined;
  }
}

/**
 * The process a launch runs, as the host sees it: the first process at or below `pid` whose program
 * is none of the host side's (`hostSide`: bash, setpriv, bubblewrap, which exec one another, then
 * bubblewrap forks once or twice before it runs the command). Null while the command has not
 * started yet, or when /proc cannot tell.
 */
export function launchedPid(pid: number, hostSide: readonly string[], maxDepth = 4): number | null {
  const names = new Set(hostSide.map((p) => path.basename(p)));
  let current = pid;
  for (let depth = 0; depth <= maxDepth; depth++) {
    const program = programOf(current);
    if (program === undefined) return null;
    if (!names.has(path.basename(program))) return current;
    const [child] = childPids(current);
    if (child === undefined) return null;
    current = child;
  }
  return null;
}
