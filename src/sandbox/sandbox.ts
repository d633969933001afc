/**
 * Isolation of instances, chosen once at start: bubblewrap namespaces plus cgroups and rlimits, or
 * plain processes (`none`, with cgroups and rlimits where the machine has them). Every instance is
 * started through runtimes/sandbox/enter.sh, which joins its cgroups, sets its rlimits and closes
 * inherited file descriptors before it execs bubblewrap (or the bridge itself).
 */
import { existsSync, realpathSync } from 'node:fs';
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
/** Where the bridges (in dist/) find zod: bound read-only into every sandbox at the same path. */
const ZOD_DIR = path.join(PACKAGE_ROOT, 'node_modules', 'zod');
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
      // the bridges parse the platform's frames with the protocol's schemas (zod, no dependencies)
      ...(existsSync(ZOD_DIR) ? [ZOD_DIR] : []),
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
            // as root: the sandbox is uid 65534 on the host too, not only inside
            ...(slot === undefined
              ? []
              : ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--']),
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

  async close(): Promise<void> {
    this.slots?.close();
    await this.cgroups?.close();
  }
}
