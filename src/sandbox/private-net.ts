/**
 * The network of an instance with `network: "outbound"`: a network namespace of its own (bubblewrap
 * `--unshare-net`, like every sandbox), connected to the outside by slirp4netns, a user-mode NAT
 * process on the host side that owns the instance's tap0 (10.0.2.100, gateway 10.0.2.2, DNS
 * 10.0.2.3). `--disable-host-loopback` keeps the host's 127.0.0.1 out of reach, so the instance sees
 * neither the platform's ports nor the host's /proc/net. The order at start:
 *   1. bubblewrap creates the namespaces, writes `{"child-pid": …}` on INFO_FD and waits on BLOCK_FD
 *      before it runs anything of the function;
 *   2. the platform starts slirp4netns for that pid and waits until it reports the network up;
 *   3. a byte on BLOCK_FD lets the sandbox go on: the bridge starts with the network in place.
 * slirp4netns ends with the instance (SIGTERM), and by itself when the platform ends (its exit fd is
 * a pipe from the platform). Any failure ends the instance: it never runs with another network.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** The descriptors the launcher hands to bubblewrap for `--info-fd` and `--block-fd`. */
export const INFO_FD = 4;
export const BLOCK_FD = 5;

export interface PrivateNetwork {
  /** The slirp4netns executable. */
  slirp4netns: string;
}

const MAX_INFO_BYTES = 4096;
const MAX_STDERR_BYTES = 2048;

/**
 * The slirp4netns command line for the network namespace of the sandbox whose first process is `pid`.
 * It joins the namespace directly, which needs root: without root it would have to join the user
 * namespace owning it first, and /proc/<pid>/ns/user is a nested one (bubblewrap --disable-userns).
 */
export function slirpArgs(pid: number): string[] {
  const netns = `/proc/${pid}/ns/net`;
  return [
    '--configure',
    '--mtu=65520',
    // 10.0.2.2 must not lead to the host's 127.0.0.1 (control API, gateway, broker, functions)
    '--disable-host-loopback',
    // slirp4netns itself: a mount namespace of its own, no capabilities, a seccomp filter
    '--enable-sandbox',
    '--enable-seccomp',
    '--ready-fd=3',
    '--exit-fd=4',
    '--netns-type=path',
    netns,
    'tap0',
  ];
}

/** The sandbox's first process, from bubblewrap's `--info-fd` JSON, or undefined while incomplete. */
export function childPid(info: string): number | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(info);
  } catch {
    return undefined;
  }
  const pid = (parsed as Record<string, unknown> | null)?.['child-pid'];
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/**
 * Gives the instance `child` (spawned with pipes at INFO_FD and BLOCK_FD, bubblewrap waiting on the
 * latter) its network. On failure the instance is killed and `child` emits an `error` saying why.
 */
export function attachPrivateNetwork(child: ChildProcess, net: PrivateNetwork): void {
  const stdio = child.stdio as unknown as (Readable | Writable | null | undefined)[];
  const info = stdio[INFO_FD] as Readable | null | undefined;
  const block = stdio[BLOCK_FD] as Writable | null | undefined;
  let slirp: ChildProcess | undefined;
  let settled = false;
  let childGone = false;
  let stderr = '';
  const fail = (why: string): void => {
    if (settled || childGone) return;
    settled = true;
    slirp?.kill('SIGKILL');
    child.kill('SIGKILL');
    child.emit('error', new Error(`could not give the instance its network: ${why}`));
  };
  child.once('exit', () => {
    childGone = true;
    info?.destroy();
    block?.destroy();
    slirp?.kill('SIGTERM');
  });
  if (info == null || block == null) return fail('the launcher has no info or block descriptor');
  block.on('error', () => undefined);
  info.on('error', () => undefined);
  let text = '';
  const onInfo = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    if (text.length > MAX_INFO_BYTES) return fail('bubblewrap wrote too much on its info descriptor');
    const pid = childPid(text);
    if (pid === undefined) return;
    info.off('data', onInfo);
    start(pid);
  };
  info.on('data', onInfo);
  info.once('end', () => {
    if (slirp === undefined) fail('bubblewrap ended before it reported the sandbox');
  });

  const start = (pid: number): void => {
    if (childGone) return;
    const proc = spawn(net.slirp4netns, slirpArgs(pid), {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    slirp = proc;
    proc.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr += chunk.toString('utf8').slice(0, MAX_STDERR_BYTES);
    });
    const ready = proc.stdio[3] as Readable | null;
    ready?.on('error', () => undefined);
    (proc.stdio[4] as Writable | null)?.on('error', () => undefined);
    ready?.once('data', () => {
      if (settled || childGone) return;
      settled = true;
      block.end('1');
    });
    proc.once('error', (err) => fail(`${net.slirp4netns}: ${err.message}`));
    proc.once('exit', (code, signal) => {
      const detail = stderr.trim().split('\n').slice(-3).join('; ');
      if (!settled) {
        fail(`slirp4netns exited (${signal ?? `code ${code}`})${detail === '' ? '' : `: ${detail}`}`);
      } else if (!childGone) {
        // the network went away under a running instance: end it rather than leave it cut off
        child.kill('SIGKILL');
      }
    });
  };
}
