/**
 * Build steps (npm, pip, esbuild, a build's own scripts) in the same isolation as instances: bubblewrap
 * namespaces, the unprivileged host user when the platform is root, the build's cgroup and rlimits, and
 * no network of their own. The only writable folder is the build's work folder (the staging folder of
 * this deploy), seen inside at BUILD_DIR; nothing of the data dir is visible. A step that needs a
 * package registry gets the platform's build proxy as a Unix socket at PROXY_SOCKET.
 *
 * As root, the work folder reaches the sandbox through a code slot (mounted writable) and is handed to
 * the unprivileged user for the build; after the build it is given back to root, set-id bits cleared.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { chmod, chown, lstat, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bwrapArgs, SECCOMP_FD } from './bubblewrap.js';
import type { Cgroups, InstanceCgroup } from './cgroups.js';
import type { LaunchSpec } from './launch.js';
import type { Limits } from '../model/limits.js';
import type { CodeSlot, CodeSlots } from './slots.js';
import { walkPinned } from '../shared/pinned-walk.js';

/** Where the build's work folder appears inside its sandbox. */
export const BUILD_DIR = '/build';
/** Where the build proxy's Unix socket appears inside the sandbox. */
export const PROXY_SOCKET = '/run/skiff/proxy.sock';

export interface HostUser {
  uid: number;
  gid: number;
}

export interface BuildWrapRequest {
  id: string;
  /** The build's work folder on the host (the staging folder); the only writable one. */
  workDir: string;
  limits: Limits;
  /** Host paths bound read-only at the same path (operator-named mirrors, the esbuild binary). */
  readOnly: string[];
  /** Without /usr, /etc and the runtimes: for a static binary (esbuild). */
  bare: boolean;
  /** Whether the step gets the build proxy's socket. */
  proxy: boolean;
  /** The step's command, given the work folder and the proxy socket as the step sees them. */
  build(dir: string, proxySocket: string | undefined): LaunchSpec;
}

export interface BuildLaunch {
  launch: LaunchSpec;
  /** Where on the host the platform's build proxy must listen (before prepare), when one was asked for. */
  proxySocket: string | undefined;
  /** Whether the step runs in bubblewrap (else: a plain process with limits). */
  isolated: boolean;
  /** Before the spawn: mounts the work folder and gives it (and the socket) to the build's user. */
  prepare(): Promise<void>;
  /** After the step ended: kills what is left, gives the work folder back, unmounts. */
  release(): Promise<void>;
}

export interface BuildSandboxParts {
  kind: 'bubblewrap' | 'none';
  bwrap: string;
  /** Read-only paths of every sandbox (the platform's runtimes, interpreters outside /usr). */
  shared: string[];
  slots: CodeSlots | undefined;
  cgroups: Cgroups | undefined;
  /** The command prefix that drops root to `hostUser`. */
  drop: string[];
  /** As root: the host user of this step's build (one per build, from the sandbox range). */
  hostUser: HostUser | undefined;
  /** The compiled seccomp filter enter.sh opens for bubblewrap, when there is one. */
  seccompFile: string | undefined;
  /** runtimes/sandbox/enter.sh */
  enter: string;
}

const MiB = 1024 * 1024;

/**
 * The environment of a step's host side (bash running enter.sh, then setpriv and bwrap): the
 * platform's PATH and nothing of the step's. The step's own variables (a compatibility API's client
 * names them) reach the sandbox only through `--setenv`: outside it, BASH_ENV would make that bash
 * source a file of the client's choosing and PATH would pick the `bwrap` it runs.
 */
function hostLaunchEnv(): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
}

/**
 * Gives a tree to a user, never following a link (src/shared/pinned-walk.ts: safe even while something
 * rewrites the tree); with `reclaim`, also clears set-id bits.
 */
async function chownTree(root: string, user: HostUser, reclaim: boolean): Promise<void> {
  await walkPinned(root, async ({ stat, chown: own, chmod: mode }) => {
    if (stat.uid !== user.uid || stat.gid !== user.gid) await own(user.uid, user.gid).catch(() => undefined);
    if (reclaim && !stat.isSymbolicLink() && (stat.mode & 0o6000) !== 0) await mode(stat.mode & 0o1777);
    return true;
  });
}

/**
 * After the last step of a build: the work folder back to root (the platform), set-id bits cleared,
 * when the steps ran as other users (`asRoot`). Nothing of the build runs any more, so nothing can race this.
 */
export async function reclaimWorkDir(workDir: string, asRoot: boolean): Promise<void> {
  if (!asRoot) return;
  const info = await lstat(workDir).catch(() => undefined);
  if (info !== undefined && info.uid !== 0) await chownTree(workDir, { uid: 0, gid: 0 }, true);
}

export function wrapBuildStep(parts: BuildSandboxParts, req: BuildWrapRequest): BuildLaunch {
  const { limits } = req;
  const cgroup: InstanceCgroup | undefined = parts.cgroups?.create(`build-${req.id}`, limits);
  const enter = (inner: string[]): string[] => [
    parts.enter,
    String(limits.openFiles),
    String(limits.fileSizeMb * 1024),
    parts.seccompFile ?? '-',
    ...(cgroup?.procsFiles ?? []),
    '--',
    ...inner,
  ];
  if (parts.kind === 'none') {
    const launch = req.build(req.workDir, undefined);
    return {
      launch: { ...launch, command: '/bin/bash', args: enter([launch.command, ...launch.args]) },
      proxySocket: undefined,
      isolated: false,
      prepare: () => Promise.resolve(),
      release: async () => {
        await cgroup?.remove();
      },
    };
  }
  let slot: CodeSlot | undefined;
  let tmp: string | undefined;
  try {
    slot = parts.slots?.create(`build-${req.id}`);
    tmp = slot === undefined ? mkdtempSync(path.join(os.tmpdir(), 'skiff-build-')) : undefined;
  } catch (err) {
    void cgroup?.remove();
    throw err;
  }
  const home = slot?.dir ?? (tmp as string);
  const source = slot === undefined ? req.workDir : slot.pathFor('work');
  const socket = req.proxy ? path.join(home, 'proxy.sock') : undefined;
  const launch = req.build(BUILD_DIR, socket === undefined ? undefined : PROXY_SOCKET);
  const user = parts.hostUser;
  const inner = [
    ...(slot === undefined ? [] : parts.drop),
    parts.bwrap,
    ...bwrapArgs({
      readOnly: req.bare ? req.readOnly : [...parts.shared, ...req.readOnly],
      env: launch.env,
      cwd: BUILD_DIR,
      tmpBytes: limits.tmpMb * MiB,
      network: 'none',
      writable: [
        [source, BUILD_DIR],
        ...(socket === undefined ? [] : [[socket, PROXY_SOCKET] as [string, string]]),
      ],
      bare: req.bare,
      seccompFd: parts.seccompFile === undefined ? undefined : SECCOMP_FD,
    }),
    '--',
    launch.command,
    ...launch.args,
  ];
  return {
    launch: { command: '/bin/bash', args: enter(inner), env: hostLaunchEnv(), cwd: '/' },
    proxySocket: socket,
    isolated: true,
    prepare: async () => {
      if (slot === undefined || user === undefined) return;
      // once per build (every step of it runs as this user): the first step hands the folder over,
      // before any of the build's code ran; `reclaimWorkDir` takes it back after all of it ended
      if ((await lstat(req.workDir)).uid !== user.uid) await chownTree(req.workDir, user, false);
      if (socket !== undefined) await chown(socket, user.uid, user.gid);
      await slot.mount(req.workDir, 'work', true);
      // the slot (work folder and socket) is reachable by the build's user alone
      await chown(slot.dir, user.uid, user.gid);
      await chmod(slot.dir, 0o700);
    },
    release: async () => {
      await cgroup?.remove();
      if (socket !== undefined) await rm(socket, { force: true });
      slot?.release();
      if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
    },
  };
}
