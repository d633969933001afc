/**
 * The bubblewrap command line of one instance: its own user, pid, network (always; with `outbound`
 * connected by slirp4netns, private-net.ts), ipc, uts, mount and cgroup namespaces, uid 65534 inside, no capabilities, no new privileges, a new session, a seccomp filter
 * (seccomp.ts), a read-only root made of /usr and the runtime's own files, the function's code
 * read-only, a private /tmp of bounded size, and only the environment given.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import path from 'node:path';
import type { NetworkMode } from '../model/limits.js';
import { BLOCK_FD, INFO_FD } from './private-net.js';

export interface BwrapSpec {
  /** Read-only binds at the same path inside (code, bridges, interpreters outside /usr). */
  readOnly: string[];
  env: Record<string, string>;
  cwd: string;
  tmpBytes: number;
  network: NetworkMode;
  /**
   * With network `outbound`: the resolv.conf bound at /etc/resolv.conf (slirp4netns's DNS forwarder);
   * without it the host's is bound.
   */
  resolvConf?: string;
  /** Writable binds, `[host path, path inside]` (a build's work folder, its proxy socket). */
  writable?: [string, string][];
  /** Without /usr and /etc: for a static binary that needs nothing of the system (esbuild). */
  bare?: boolean;
  /** The descriptor bubblewrap reads the seccomp filter from (it closes it before the command runs). */
  seccompFd: number | undefined;
}

/** The descriptor enter.sh opens the seccomp filter on. */
export const SECCOMP_FD = 10;

/** Files of /etc a process may need (names, time zone, TLS roots), never passwd or shadow. */
const ETC = [
  '/etc/localtime',
  '/etc/ssl/certs',
  '/etc/ca-certificates',
  '/etc/ld.so.cache',
  '/etc/alternatives',
];
/** With network: name resolution too. */
const ETC_NETWORK = [
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/nsswitch.conf',
  '/etc/host.conf',
  '/etc/gai.conf',
];

/** /usr read-only, the usual links to it, and the files of /etc a process may need. */
function systemArgs(network: NetworkMode, resolvConf: string | undefined): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const [link, target] of [
    ['/bin', 'usr/bin'],
    ['/sbin', 'usr/sbin'],
    ['/lib', 'usr/lib'],
    ['/lib64', 'usr/lib64'],
    ['/lib32', 'usr/lib32'],
  ] as const) {
    if (existsSync(link)) args.push('--symlink', target, link);
  }
  for (const file of network === 'outbound' ? [...ETC, ...ETC_NETWORK] : ETC) {
    if (file === '/etc/resolv.conf' && resolvConf !== undefined) args.push('--ro-bind', resolvConf, file);
    else args.push('--ro-bind-try', file, file);
  }
  return args;
}

export function bwrapArgs(spec: BwrapSpec): string[] {
  const args = [
    // every sandbox has a network namespace of its own, never the host's (--share-net): with
    // `outbound`, bubblewrap reports the sandbox's pid and waits until slirp4netns has connected it
    '--unshare-all',
    ...(spec.network === 'outbound' ? ['--info-fd', String(INFO_FD), '--block-fd', String(BLOCK_FD)] : []),
    '--unshare-user',
    '--disable-userns',
    '--uid',
    '65534',
    '--gid',
    '65534',
    '--hostname',
    'skiff',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
  ];
  if (spec.bare !== true) args.push(...systemArgs(spec.network, spec.resolvConf));
  // /tmp first: code folders below /tmp (a data dir there) are then bound on top of it
  args.push('--proc', '/proc', '--dev', '/dev', '--size', String(spec.tmpBytes), '--tmpfs', '/tmp');
  for (const dir of spec.readOnly) args.push('--ro-bind', dir, dir);
  for (const [host, inside] of spec.writable ?? []) args.push('--bind', host, inside);
  for (const [key, value] of Object.entries(spec.env)) args.push('--setenv', key, value);
  args.push('--remount-ro', '/', '--chdir', spec.cwd);
  if (spec.seccompFd !== undefined) args.push('--seccomp', String(spec.seccompFd));
  return args;
}

/**
 * Why bubblewrap cannot sandbox here, or undefined when a trial sandbox ran: with the seccomp filter
 * (its file given as fd 3) and, when given, as the sandboxes' host user (`prefix`, a setpriv command).
 */
/** The arguments of a probe's sandbox (which runs /bin/true), with or without a seccomp filter on fd 3. */
export function probeArgs(seccomp: boolean): string[] {
  return bwrapArgs({
    readOnly: [],
    env: {},
    cwd: '/',
    tmpBytes: 1 << 20,
    network: 'none',
    seccompFd: seccomp ? 3 : undefined,
  });
}

export function bubblewrapProblem(
  bwrap: string,
  trial: { seccompFile?: string | undefined; prefix?: string[] } = {},
): string | undefined {
  let fd: number | undefined;
  try {
    fd = trial.seccompFile === undefined ? undefined : openSync(trial.seccompFile, 'r');
    const args = probeArgs(fd !== undefined);
    const [command, ...rest] = [...(trial.prefix ?? []), bwrap, ...args, '/bin/true'];
    execFileSync(command ?? bwrap, rest, {
      stdio: ['ignore', 'ignore', 'pipe', ...(fd === undefined ? [] : [fd])],
      timeout: 10_000,
    });
    return undefined;
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer; message: string };
    if (e.code === 'ENOENT') return `${bwrap} is not installed (Debian: apt-get install bubblewrap)`;
    const detail = e.stderr?.toString().trim() || e.message;
    return `${path.basename(bwrap)} cannot create a sandbox here: ${detail}`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Whether an instance that failed to start hit a passing fault of bubblewrap's own set-up rather than
 * anything of the function's: on some kernels (seen in microVMs) the netlink request that configures a
 * new network namespace's loopback fails now and then ("loopback: Failed RTM_NEWADDR"). Such a start
 * is tried once more. `details` is the start error's details (`{ stderr }`).
 */
export function isTransientSandboxFailure(details: unknown): boolean {
  const stderr = (details as { stderr?: unknown } | undefined)?.stderr;
  return typeof stderr === 'string' && /^bwrap: loopback: /m.test(stderr);
}
