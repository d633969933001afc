/**
 * The record of the sandbox probes that passed (`<dataDir>/sandbox/probed.json`): a start whose
 * machine, binaries and sandbox arguments are those of a start that probed before skips the probes'
 * process launches (two bubblewrap sandboxes and `slirp4netns --version`).
 *
 * The record holds a hash of everything a probe's outcome depends on, read at every start: the boot
 * (`/proc/sys/kernel/random/boot_id`), the process's namespaces, capabilities and seccomp state (a
 * container started again, or with other rights), the sysctls that allow user namespaces, the
 * effective uid, each binary's identity (path, inode, size, times, mode, owner), the seccomp filter's
 * bytes and the probe's own argument list (a new Skiff version that sandboxes otherwise probes again).
 * Anything unreadable means no record: the probes run. Only passes are recorded; a failed probe runs
 * again at every start. A record gone stale in a way the hash cannot see fails closed: bubblewrap
 * then refuses the instances' starts, and no function ever runs outside the sandbox because of it.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findOnPath } from '../shared/find-on-path.js';
import { probeArgs } from './bubblewrap.js';
import { seccompFilter } from './seccomp.js';

export const PROBE_RECORD = 'probed.json';

/** The files and settings a probe's outcome depends on besides the binaries. */
const MACHINE_FILES = [
  '/proc/sys/kernel/random/boot_id',
  '/proc/sys/user/max_user_namespaces',
  '/proc/sys/kernel/unprivileged_userns_clone',
  '/proc/sys/kernel/apparmor_restrict_unprivileged_userns',
];
const NAMESPACES = ['user', 'mnt', 'pid', 'net', 'cgroup'];
const STATUS_FIELDS = /^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp|Seccomp_filters):.*$/gm;

function readOptional(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '-';
    throw err;
  }
}

function binaryIdentity(command: string): string {
  const file = findOnPath(command);
  if (file === undefined) throw new Error(`${command} not found`);
  const s = statSync(file); // follows links: the file that runs
  return [command, file, s.dev, s.ino, s.size, s.mtimeMs, s.ctimeMs, s.mode, s.uid].join(':');
}

/**
 * The hash of everything the probes' outcome depends on, or undefined when something cannot be read
 * (then nothing is recorded or trusted). `commands`: the binaries the probes launch; `probe`: the
 * probes' argument lists and the seccomp filter's bytes.
 */
export function probeKey(
  commands: readonly string[],
  probe: readonly (string | Buffer)[],
): string | undefined {
  try {
    const hash = createHash('sha256');
    const add = (part: string | Buffer) => hash.update(part).update('\0');
    for (const file of MACHINE_FILES) add(readOptional(file));
    for (const ns of NAMESPACES) add(readlinkSync(`/proc/self/ns/${ns}`));
    add((readFileSync('/proc/self/status', 'utf8').match(STATUS_FIELDS) ?? []).join('\n'));
    add(String(process.geteuid?.() ?? '-'));
    for (const command of commands) add(binaryIdentity(command));
    for (const part of probe) add(part);
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * The key of this start's sandbox probes: bubblewrap with and without the seccomp filter, as root
 * through `setpriv` into the sandboxes' host users (`uidBase`), and slirp4netns.
 */
export function sandboxProbeKey(bwrap: string, slirp4netns: string, uidBase: number): string | undefined {
  const root = process.getuid?.() === 0;
  return probeKey(
    [bwrap, '/bin/true', ...(root ? ['setpriv', slirp4netns] : [])],
    [
      JSON.stringify(probeArgs(false)),
      JSON.stringify(probeArgs(true)),
      seccompFilter() ?? 'no filter',
      `root ${root}, uidBase ${uidBase}`,
    ],
  );
}

interface Record {
  key: string;
  /** Whether `slirp4netns --version` passed too (outbound network). */
  outbound: boolean;
}

/** The record in `dir` when it was made with `key`, or undefined. */
export function readProbeRecord(dir: string, key: string | undefined): Record | undefined {
  if (key === undefined) return undefined;
  try {
    const record = JSON.parse(readFileSync(path.join(dir, PROBE_RECORD), 'utf8')) as Partial<Record>;
    return record.key === key ? { key, outbound: record.outbound === true } : undefined;
  } catch {
    return undefined;
  }
}

/** Records passed probes (owner-only, written whole). */
export function writeProbeRecord(dir: string, record: Record): void {
  const file = path.join(dir, PROBE_RECORD);
  try {
    writeFileSync(`${file}.tmp`, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  } catch {
    // no record: the next start probes again
  }
}
