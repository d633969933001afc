/**
 * Isolation of instances, chosen once at start: bubblewrap namespaces plus a seccomp filter, cgroups and
 * rlimits, or plain processes (`none`, with cgroups and rlimits where the machine has them). Every
 * instance is started through runtimes/sandbox/enter.sh, which joins its cgroups, sets its rlimits,
 * closes inherited file descriptors and opens the seccomp filter before it execs bubblewrap (or the
 * bridge itself). With root, each sandbox runs as a host user of its own (host-ids.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../shared/config.js';
import { SkiffError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { PACKAGE_ROOT } from '../shared/paths.js';
import { bubblewrapProblem, bwrapArgs, SECCOMP_FD } from './bubblewrap.js';
import { openCgroups, type Cgroups, type InstanceCgroup } from './cgroups.js';
import { asHostIdentity, hostIdProblem, HostIds, type HostIdentity } from './host-ids.js';
import type { PrivateNetwork } from './private-net.js';
import { writeSeccompFilter } from './seccomp.js';
import { CodeSlots, type CodeSlot } from './slots.js';
import { readProbeRecord, sandboxProbeKey, writeProbeRecord } from './probe-record.js';
import type { LaunchSpec } from './launch.js';
import type { Limits, NetworkMode } from '../model/limits.js';
import { reclaimWorkDir, wrapBuildStep, type BuildLaunch, type BuildWrapRequest } from './build-sandbox.js';

export type SandboxKind = 'bubblewrap' | 'none';

/** What the composition root tells the sandbox besides the configuration. */
export interface SandboxOptions {
  /**
   * The interpreters the bridges run with (the runtimes' records, src/languages/): each one that
   * lives outside /usr has its installation bound read-only into every sandbox.
   */
  interpreters: readonly string[];
}

export interface SandboxedLaunch {
  launch: LaunchSpec;
  cgroup: InstanceCgroup | undefined;
  /** With code slots: where the code appears, and how it gets there (its release gives back the uid). */
  slot: CodeSlot | undefined;
  /** With root: the host user the sandbox runs as. */
  hostUid: number | undefined;
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
/** The resolver of `outbound` sandboxes: slirp4netns's DNS forwarder (10.0.2.3); world-readable. */
const RESOLV_CONF = path.join(PACKAGE_ROOT, 'runtimes', 'sandbox', 'resolv.conf');
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

/** What `outbound` instances need: slirp4netns, and a resolv.conf naming its DNS forwarder. */
interface OutboundNetwork {
  net: PrivateNetwork;
  resolvConf: string;
}

/** How `outbound` instances get their network (private-net.ts), or why they cannot. */
function outboundNetwork(slirp4netns: string, probed: boolean): OutboundNetwork | string {
  if (process.getuid?.() !== 0) {
    return "it needs root (slirp4netns joins each sandbox's network namespace from outside)";
  }
  if (probed) return { net: { slirp4netns }, resolvConf: RESOLV_CONF };
  try {
    execFileSync(slirp4netns, ['--version'], { stdio: 'ignore', timeout: 10_000 });
  } catch (err) {
    return (err as { code?: string }).code === 'ENOENT'
      ? `${slirp4netns} is not installed (Debian: apt-get install slirp4netns)`
      : `${slirp4netns} does not work: ${(err as Error).message}`;
  }
  return { net: { slirp4netns }, resolvConf: RESOLV_CONF };
}

export class Sandbox {
  private constructor(
    readonly kind: SandboxKind,
    readonly cgroups: Cgroups | undefined,
    /** Why there is no cgroup, when there is none. */
    readonly cgroupProblem: string | undefined,
    private readonly bwrap: string,
    private readonly shared: string[],
    /** With root: code comes in through slots and every sandbox runs as a host user of its own. */
    private readonly slots: CodeSlots | undefined,
    /** With root: the range of host users and the group sandboxes run as. */
    readonly hostIds: HostIds | undefined,
    /** The compiled seccomp filter enter.sh hands to bubblewrap, when there is one. */
    private readonly seccompFile: string | undefined,
    /** With bubblewrap: how `outbound` instances get their network, or why they cannot. */
    private readonly outbound: OutboundNetwork | string,
  ) {}

  /** With root: the host user of each running build, by work folder (see wrapBuild). */
  private readonly builds = new Map<string, HostIdentity>();

  /**
   * The host user and group a new sandbox runs as, or undefined without root (then it is the platform's
   * own user, mapped to 65534 inside). Release it once the sandbox's processes are gone.
   */
  takeHostIdentity(): HostIdentity | undefined {
    return this.hostIds?.take();
  }

  /** The group that must be able to read function code (the sandboxes'), or undefined: owner-only. */
  get codeGroup(): number | undefined {
    return this.hostIds?.gid;
  }

  /** Whether a generic process started now can later load any function's code (warm pool). */
  get canSpecialise(): boolean {
    return this.kind === 'none' || this.slots !== undefined;
  }

  /**
   * Decides the isolation: `bubblewrap` must work or start-up fails; `auto` uses it when it works and
   * otherwise fails unless `insecureNoSandbox` is set; `none` runs plain processes.
   */
  static open(config: Config, logger: Logger, options: SandboxOptions): Sandbox {
    const { mode, bwrap, insecureNoSandbox } = config.sandbox;
    let kind: SandboxKind = 'none';
    const unavailable = (problem: string) =>
      new SkiffError(
        'SKIFF_E_SANDBOX_UNAVAILABLE',
        `cannot isolate functions: ${problem}. Install bubblewrap, or start with --insecure-no-sandbox ` +
          '(sandbox.mode "none") to run functions as plain processes, only with code you trust',
      );
    const unsafe = (problem: string) =>
      new SkiffError('SKIFF_E_SANDBOX_UNAVAILABLE', `cannot isolate functions safely: ${problem}`);
    const own = path.join(config.dataDir, 'sandbox');
    // the probes passed at an earlier start on this boot, binaries and rights (probe-record.ts)
    const probeKey =
      mode === 'none'
        ? undefined
        : sandboxProbeKey(bwrap, config.sandbox.slirp4netns, config.sandbox.uidBase);
    const probed = readProbeRecord(own, probeKey);
    if (mode !== 'none') {
      const problem = probed === undefined ? bubblewrapProblem(bwrap) : undefined;
      if (problem === undefined) kind = 'bubblewrap';
      else if (mode === 'bubblewrap' || !insecureNoSandbox) throw unavailable(problem);
      else logger.warn({ problem }, 'no sandbox: functions run as plain processes (--insecure-no-sandbox)');
    }
    const shared = [
      path.join(PACKAGE_ROOT, 'dist'),
      path.join(PACKAGE_ROOT, 'runtimes'),
      path.join(PACKAGE_ROOT, 'package.json'),
      // the bridges parse the platform's frames with the protocol's schemas (zod, no dependencies)
      ...(existsSync(ZOD_DIR) ? [ZOD_DIR] : []),
      ...options.interpreters.flatMap((f) => interpreterRoot(f) ?? []),
    ];
    let slots: CodeSlots | undefined;
    let hostIds: HostIds | undefined;
    let seccompFile: string | undefined;
    let outbound: OutboundNetwork | string = 'there is no sandbox';
    if (kind === 'bubblewrap') {
      mkdirSync(own, { recursive: true, mode: 0o700 });
      outbound = outboundNetwork(config.sandbox.slirp4netns, probed?.outbound === true);
      if (typeof outbound === 'string') {
        logger.warn({ problem: outbound }, 'functions with network "outbound" cannot start');
      }
      seccompFile = path.join(own, 'seccomp.bpf');
      if (!writeSeccompFilter(seccompFile)) {
        seccompFile = undefined;
        logger.warn(
          { arch: process.arch },
          'no seccomp filter for this architecture: sandboxes run without one',
        );
      }
      if (process.getuid?.() === 0) {
        // as root a sandbox must never be root on the host: its own user, and code through slots
        const idProblem = hostIdProblem(config.sandbox.uidBase);
        if (idProblem !== undefined) throw unsafe(idProblem);
        hostIds = HostIds.for(config.sandbox.uidBase);
        const opened = CodeSlots.open(config.dataDir, hostIds.gid, config.runtimes.python);
        if (typeof opened === 'string')
          throw unsafe(`${opened} (as root, code reaches sandboxes only through slots)`);
        slots = opened;
      }
      const trial = probed === undefined ? hostIds?.take() : undefined;
      try {
        const problem =
          probed !== undefined
            ? undefined
            : bubblewrapProblem(bwrap, {
                seccompFile,
                ...(trial === undefined ? {} : { prefix: asHostIdentity(trial) }),
              });
        if (problem !== undefined) {
          slots?.close();
          throw unsafe(`a sandbox with the seccomp filter and the sandboxes' host user failed: ${problem}`);
        }
      } finally {
        trial?.release();
      }
      if (probed === undefined && probeKey !== undefined)
        writeProbeRecord(own, { key: probeKey, outbound: typeof outbound !== 'string' });
    }
    // last: nothing above leaves a cgroup behind when it refuses the start
    const cgroups = openCgroups();
    return typeof cgroups === 'string'
      ? new Sandbox(kind, undefined, cgroups, bwrap, shared, slots, hostIds, seccompFile, outbound)
      : new Sandbox(kind, cgroups, undefined, bwrap, shared, slots, hostIds, seccompFile, outbound);
  }

  /** One line for the start-up output: the isolation and the limits in force. */
  describe(limits: Limits): string {
    const isolation =
      this.kind === 'bubblewrap'
        ? `bubblewrap (user, pid, net, ipc, uts, mount namespaces; ${
            this.hostIds === undefined
              ? 'uid 65534 inside, the platform user outside'
              : `uid 65534 inside, host uids ${this.hostIds.base + 1}+ (group ${this.hostIds.gid})`
          }; no capabilities; seccomp ${this.seccompFile === undefined ? 'off' : 'on'}; outbound network ${
            typeof this.outbound === 'string' ? 'unavailable' : 'via slirp4netns'
          })`
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
    const outbound = this.kind === 'bubblewrap' && network === 'outbound' ? this.outbound : undefined;
    if (typeof outbound === 'string') {
      // never the host's network instead: without slirp4netns there is no outbound network
      throw new SkiffError(
        'SKIFF_E_SANDBOX_UNAVAILABLE',
        `cannot give the function its network ("outbound"): ${outbound}`,
      );
    }
    const created = this.slots?.create(id);
    const who = created === undefined ? undefined : this.takeHostIdentity();
    // the uid goes back with the slot, when the instance has ended
    const slot: CodeSlot | undefined =
      created === undefined
        ? undefined
        : {
            ...created,
            release: () => {
              created.release();
              who?.release();
            },
          };
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
            // as root: the sandbox is a user of its own on the host too, not only inside
            ...(who === undefined ? [] : asHostIdentity(who)),
            this.bwrap,
            ...bwrapArgs({
              readOnly: [...this.shared, ...readOnly],
              env: launch.env,
              // a generic warm process has no code to stand in yet
              cwd: req.codeDir === undefined ? '/tmp' : launch.cwd,
              tmpBytes: limits.tmpMb * MiB,
              network,
              ...(outbound === undefined ? {} : { resolvConf: outbound.resolvConf }),
              seccompFd: this.seccompFile === undefined ? undefined : SECCOMP_FD,
            }),
            '--',
            launch.command,
            ...launch.args,
          ]
        : [launch.command, ...launch.args];
    return {
      launch: {
        // -p: bash reads no startup file (BASH_ENV of the function's env would be sourced on the host)
        command: '/bin/bash',
        args: [
          '-p',
          ENTER,
          String(limits.openFiles),
          String(limits.fileSizeMb * 1024),
          this.kind === 'bubblewrap' ? (this.seccompFile ?? '-') : '-',
          ...(cgroup?.procsFiles ?? []),
          '--',
          ...inner,
        ],
        // the host side (bash, setpriv, bwrap) gets the platform's PATH only: the function's env reaches
        // the sandbox through --setenv, and on the host LD_PRELOAD, BASH_ENV and the like would run code
        // of the function's choosing as the platform's user. Without a sandbox the function's process is
        // the host side: it gets its env (and runs as the platform's user, as configured).
        env: this.kind === 'bubblewrap' ? hostSideEnv() : launch.env,
        hostSide: this.kind === 'bubblewrap' ? ['/bin/bash', 'setpriv', this.bwrap] : ['/bin/bash'],
        ...(outbound === undefined ? {} : { privateNetwork: outbound.net }),
        // the host side starts in the host's code folder (a slot's is empty until the code is mounted);
        // bubblewrap changes to --chdir inside, so the function never holds it
        cwd: req.codeDir ?? launch.cwd,
      },
      cgroup,
      slot,
      hostUid: who?.uid,
    };
  }

  /**
   * Wraps one build step (npm, pip, esbuild) in the same isolation as an instance, with the build's
   * work folder writable at BUILD_DIR (src/sandbox/build-sandbox.ts) and the seccomp filter. As root,
   * every step of one build (one work folder) runs as the same host user of its own, taken at the
   * build's first step and given back by `reclaimBuild`: the folder is handed over once, before any of
   * the build's code ran, and taken back once, after all of it ended, never in between.
   */
  wrapBuild(req: BuildWrapRequest): BuildLaunch {
    const who = this.slots === undefined ? undefined : this.buildIdentity(req.workDir);
    return wrapBuildStep(
      {
        kind: this.kind,
        bwrap: this.bwrap,
        shared: this.shared,
        slots: this.slots,
        cgroups: this.cgroups,
        drop: who === undefined ? [] : asHostIdentity(who),
        hostUser: who,
        seccompFile: this.kind === 'bubblewrap' ? this.seccompFile : undefined,
        enter: ENTER,
      },
      req,
    );
  }

  /** The host user of the build in `workDir`: the one its earlier steps ran as, else a new one. */
  private buildIdentity(workDir: string): HostIdentity | undefined {
    const known = this.builds.get(workDir);
    if (known !== undefined) return known;
    const who = this.takeHostIdentity();
    if (who !== undefined) this.builds.set(workDir, who);
    return who;
  }

  /**
   * After a build's last step (every step's processes are gone: each step's release killed its
   * cgroup and pid namespace): its work folder back to the platform's user, links never followed,
   * set-id bits cleared; then the build's host user is given back.
   */
  async reclaimBuild(workDir: string): Promise<void> {
    try {
      await reclaimWorkDir(workDir, this.slots !== undefined);
    } finally {
      this.builds.get(workDir)?.release();
      this.builds.delete(workDir);
    }
  }

  async close(): Promise<void> {
    this.slots?.close();
    await this.cgroups?.close();
  }
}

/** The environment of an instance's host side (enter.sh, setpriv, bwrap): the platform's PATH only. */
function hostSideEnv(): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
}
