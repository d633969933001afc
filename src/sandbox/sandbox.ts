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
import type { LaunchSpec } from './launch.js';
import type { Limits, NetworkMode } from './limits.js';

export type SandboxKind = 'bubblewrap' | 'none';

export interface SandboxedLaunch {
  launch: LaunchSpec;
  cgroup: InstanceCgroup | undefined;
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
  ) {}

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
    return typeof cgroups === 'string'
      ? new Sandbox(kind, undefined, cgroups, bwrap, shared)
      : new Sandbox(kind, cgroups, undefined, bwrap, shared);
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
  wrap(
    launch: LaunchSpec,
    id: string,
    limits: Limits,
    network: NetworkMode,
    readOnly: string[],
  ): SandboxedLaunch {
    const cgroup = this.cgroups?.create(id, limits);
    const inner =
      this.kind === 'bubblewrap'
        ? [
            this.bwrap,
            ...bwrapArgs({
              readOnly: [...this.shared, ...readOnly],
              env: launch.env,
              // a generic warm process has no code to stand in yet
              cwd: readOnly.includes(launch.cwd) ? launch.cwd : '/tmp',
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
        cwd: launch.cwd,
      },
      cgroup,
    };
  }

  close(): void {
    this.cgroups?.close();
  }
}
