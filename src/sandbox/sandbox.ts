/**
 * Isolation of instances, chosen once at start: bubblewrap namespaces plus cgroups and rlimits, or
 * plain processes (`none`, with cgroups and rlimits where the machine has them). Every instance is
 * started through runtimes/sandbox/enter.sh, which joins its cgroups, sets its rlimits and closes
 * inherited file descriptors before it execs bubblewrap (or the bridge itself).
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../shared/config.js';
import { SkiffError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { PACKAGE_ROOT } from '../shared/paths.js';
import { bubblewrapProblem, bwrapArgs } from './bubblewrap.js';
import { openCgroups, type Cgroups, type InstanceCgroup } from './cgroups.js';
import { CodeSlots, type CodeSlot } from './slots.js';
import type { LaunchSpec } from './launch.js';
import type { Limits, NetworkMode } from './limits.js';
import {
  reclaimWorkDir,
  wrapBuildStep,
  type BuildLaunch,
  type BuildWrapRequest,
  type HostUser,
} from './build-sandbox.js';

export type SandboxKind = 'bubblewrap' | 'none';

export interface SandboxedLaunch {
  launch: LaunchSpec;
  cgroup: InstanceCgroup | undefined;
  /** With code slots: where the code appears, and how it gets there. */
  slot: CodeSlot | undefined;
}

export interface WrapRequest {
  id: string;
  limits: Limits;
  network: NetworkMode;
  /** The code folder on the host and the function's name; undefined for a generic warm-pool process. */
  codeDir: string | undefined;
  functionName: string | undefined;
  /** The bridge's launch, given the code folder as the instance will see it. */
  build(codeDir: string | undefined): LaunchSpec;
}

const ENTER = path.join(PACKAGE_ROOT, 'runtimes', 'sandbox', 'enter.sh');
const MiB = 1024 * 1024;

/** The folder holding an interpreter that lives outside /usr (bound read-only into every sandbox). */
function interpreterRoot(file: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return undefined;
  }
  if (real.startsWith('/usr/')) return undefined;
  // <prefix>/bin/node → <prefix>, so its lib/ comes along
  return path.dirname(path.dirname(real));
}

export class Sandbox {
  private constructor(
    readonly kind: SandboxKind,
    readonly cgroups: Cgroups | undefined,
    /** Why there is no cgroup, when there is none. */
    readonly cgroupProblem: string | undefined,
    private readonly bwrap: string,
    private readonly shared: string[],
    /** With root: code comes in through slots and the sandbox runs as uid 65534 on the host too. */
    private readonly slots: CodeSlots | undefined,
  ) {}

  /** Whether a generic process started now can later load any function's code (warm pool). */
  get canSpecialise(): boolean {
    return this.kind === 'none' || this.slots !== undefined;
  }

  /**
   * Decides the isolation: `bubblewrap` must work or start-up fails; `auto` uses it when it works and
   * otherwise fails unless `insecureNoSandbox` is set; `none` runs plain processes.
   */
  static open(config: Config, logger: Logger): Sandbox {
    const { mode, bwrap, insecureNoSandbox } = config.sandbox;
    let kind: SandboxKind = 'none';
    if (mode !== 'none') {
      const problem = bubblewrapProblem(bwrap);
      if (problem === undefined) kind = 'bubblewrap';
      else if (mode === 'bubblewrap' || !insecureNoSandbox) {
        throw new SkiffError(
          'SKIFF_E_SANDBOX_UNAVAILABLE',
          `cannot isolate functions: ${problem}. Install bubblewrap, or start with --insecure-no-sandbox ` +
            '(sandbox.mode "none") to run functions as plain processes, only with code you trust',
        );
      } else logger.warn({ problem }, 'no sandbox: functions run as plain processes (--insecure-no-sandbox)');
    }
    const cgroups = openCgroups();
    const shared = [
      path.join(PACKAGE_ROOT, 'dist'),
      path.join(PACKAGE_ROOT, 'runtimes'),
      path.join(PACKAGE_ROOT, 'package.json'),
      ...[config.runtimes.node, config.runtimes.python].flatMap((f) => interpreterRoot(f) ?? []),
    ];
    let slots: CodeSlots | undefined;
    if (kind === 'bubblewrap') {
      const opened = CodeSlots.open(config.dataDir);
      if (typeof opened === 'string')
        logger.warn({ problem: opened }, 'no code slots: no warm pool in the sandbox');
      else slots = opened;
    }
    return typeof cgroups === 'string'
      ? new Sandbox(kind, undefined, cgroups, bwrap, shared, slots)
      : new Sandbox(kind, cgroups, undefined, bwrap, shared, slots);
  }

  /** One line for the start-up output: the isolation and the limits in force. */
  describe(limits: Limits): string {
    const isolation =
      this.kind === 'bubblewrap'
        ? 'bubblewrap (user, pid, net, ipc, uts, mount namespaces; uid 65534; no capabilities)'
        : 'NONE: functions run as plain processes';
    const cg =
      this.cgroups === undefined
        ? `no cgroup limits (${this.cgroupProblem ?? 'unavailable'})`
        : `cgroup ${this.cgroups.version}: memory ${limits.memoryMb} MiB, cpu ${limits.cpus}, pids ${limits.pids}`;
    return `sandbox: ${isolation}; ${cg}; /tmp ${limits.tmpMb} MiB, ${limits.openFiles} open files, files up to ${limits.fileSizeMb} MiB (defaults)`;
  }

  /** Wraps a bridge's launch in the instance's limits and (with bubblewrap) its namespaces. */
  wrap(req: WrapRequest): SandboxedLaunch {
    const { id, limits, network } = req;
    const slot = this.slots?.create(id);
    const inside =
      slot === undefined || req.functionName === undefined ? req.codeDir : slot.pathFor(req.functionName);
    const launch = req.build(inside);
    let cgroup: InstanceCgroup | undefined;
    try {
      cgroup = this.cgroups?.create(id, limits);
    } catch (err) {
      slot?.release();
      throw err;
    }
    const readOnly = slot !== undefined ? [slot.dir] : req.codeDir === undefined ? [] : [req.codeDir];
    const inner =
      this.kind === 'bubblewrap'
        ? [
            // as root: the sandbox is an unprivileged user on the host too, not only inside
            ...(slot === undefined ? [] : this.dropArgs()),
            this.bwrap,
            ...bwrapArgs({
              readOnly: [...this.shared, ...readOnly],
              env: launch.env,
              // a generic warm process has no code to stand in yet
              cwd: req.codeDir === undefined ? '/tmp' : launch.cwd,
              tmpBytes: limits.tmpMb * MiB,
              network,
            }),
            '--',
            launch.command,
            ...launch.args,
          ]
        : [launch.command, ...launch.args];
    return {
      launch: {
        command: '/bin/bash',
        args: [
          ENTER,
          String(limits.openFiles),
          String(limits.fileSizeMb * 1024),
          ...(cgroup?.procsFiles ?? []),
          '--',
          ...inner,
        ],
        env: launch.env,
        // the host side starts in the host's code folder (a slot's is empty until the code is mounted)
        cwd: req.codeDir ?? launch.cwd,
      },
      cgroup,
      slot,
    };
  }

  /**
   * The unprivileged host user that sandboxes run as when the platform is root (through setpriv, before
   * bubblewrap); undefined when the platform is not root (bubblewrap's user namespace maps its own user).
   */
  get hostUser(): HostUser | undefined {
    return this.slots === undefined ? undefined : { uid: 65534, gid: 65534 };
  }

  /** The command prefix that drops root to `hostUser` (empty when there is none). */
  private dropArgs(): string[] {
    const user = this.hostUser;
    return user === undefined
      ? []
      : ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'];
  }

  /**
   * Wraps one build step (npm, pip, esbuild) in the same isolation as an instance, with the build's
   * work folder writable at BUILD_DIR (src/sandbox/build-sandbox.ts).
   */
  wrapBuild(req: BuildWrapRequest): BuildLaunch {
    return wrapBuildStep(
      {
        kind: this.kind,
        bwrap: this.bwrap,
        shared: this.shared,
        slots: this.slots,
        cgroups: this.cgroups,
        drop: this.dropArgs(),
        hostUser: this.hostUser,
        enter: ENTER,
      },
      req,
    );
  }

  /** After a build's last step: its work folder back to the platform's user (see wrapBuild). */
  reclaimBuild(workDir: string): Promise<void> {
    return reclaimWorkDir(workDir, this.hostUser);
  }

  async close(): Promise<void> {
    this.slots?.close();
    await this.cgroups?.close();
  }
}
