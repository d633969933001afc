/**
 * File descriptors as a budget: the process's RLIMIT_NOFILE (raised to its hard limit at start when
 * possible), a reserve kept for instances, SQLite, logs and builds, and the listeners' connection caps
 * fitted into what is left, so that a saturated gateway cannot starve the rest of the platform.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SkiffError } from './errors.js';
import type { Logger } from './logger.js';

export interface FdLimit {
  soft: number;
  hard: number;
}

/** Reads "Max open files" of a /proc/<pid>/limits text; `unlimited` is Infinity. */
export function parseFdLimit(text: string): FdLimit | undefined {
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const m = line === undefined ? null : /^Max open files\s+(\S+)\s+(\S+)/.exec(line);
  if (m === null) return undefined;
  const value = (raw: string): number => (raw === 'unlimited' ? Infinity : Number(raw));
  const soft = value(m[1] as string);
  const hard = value(m[2] as string);
  return Number.isNaN(soft) || Number.isNaN(hard) ? undefined : { soft, hard };
}

/** This process's limit, or undefined where /proc is not there to tell. */
export function readFdLimit(): FdLimit | undefined {
  try {
    return parseFdLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Raises the soft limit to the hard one (Node does this at start too; a supervisor may have lowered
 * it since) with util-linux `prlimit` on this process. Returns the soft limit in force afterwards.
 */
export function raiseFdLimit(logger: Logger): FdLimit | undefined {
  const before = readFdLimit();
  if (before === undefined || before.soft >= before.hard) return before;
  const hard = Number.isFinite(before.hard) ? String(before.hard) : 'unlimited';
  const run = spawnSync('prlimit', [`--pid=${process.pid}`, `--nofile=${hard}:${hard}`], {
    stdio: 'ignore',
    timeout: 5_000,
  });
  const after = readFdLimit() ?? before;
  if (after.soft < after.hard) {
    logger.warn(
      { soft: after.soft, hard: after.hard, prlimit: run.error?.message ?? run.status },
      'cannot raise the open-file limit to its hard limit; connection caps are fitted to the soft one',
    );
  }
  return after;
}

/**
 * Fits the listeners' connection caps into `limit - reserve`: unchanged when their sum fits, else
 * each lowered in proportion (and `lowered` set, for a warning). Refuses (SKIFF_E_CONFIG_INVALID)
 * when not even `minPerListener` connections per listener would fit.
 */
export function fitConnectionCaps<K extends string>(
  caps: Record<K, number>,
  limit: number,
  reserve: number,
  minPerListener = 16,
): { caps: Record<K, number>; lowered: boolean } {
  const names = Object.keys(caps) as K[];
  const sum = names.reduce((total, name) => total + caps[name], 0);
  const room = limit - reserve;
  if (sum <= room) return { caps, lowered: false };
  if (room < minPerListener * names.length) {
    throw new SkiffError(
      'SKIFF_E_CONFIG_INVALID',
      `the open-file limit (${limit}) leaves no room for connections after connections.reserveFds (${reserve}): ` +
        'raise it (ulimit -n, LimitNOFILE= in systemd, --ulimit nofile= in Docker) or lower connections.reserveFds',
    );
  }
  const fitted = {} as Record<K, number>;
  for (const name of names) fitted[name] = Math.max(1, Math.floor((caps[name] * room) / sum));
  return { caps: fitted, lowered: true };
}
