/**
 * The OS side of an instance: one process started through the sandbox's launch spec, with stdin closed,
 * stdout/stderr read line by line, and fd 3 the socket its runtime protocol runs on. It knows how the
 * process ended (exit code, signal, the OOM killer), keeps the first stderr lines for a start error,
 * kills it, and gives its cgroup and code slot back when it is gone. It knows nothing about frames.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Limits } from '../model/limits.js';
import { SkiffError } from '../shared/errors.js';
import { eachLine } from '../shared/lines.js';
import { launchedPid, residentBytes } from '../shared/processes.js';
import type { InstanceCgroup } from '../sandbox/cgroups.js';
import { launchProcess, type LaunchSpec } from '../sandbox/launch.js';
import type { CodeSlot } from '../sandbox/slots.js';

/** What V8 writes to stderr before it aborts a process whose heap reached its size limit. */
const HEAP_EXHAUSTED = 'JavaScript heap out of memory';
/** How many stderr lines are kept for the error of a failed start. */
const STDERR_KEEP = 20;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessHooks {
  /** A line the process wrote to stdout or stderr (never throws into the stream). */
  line?(stream: 'stdout' | 'stderr', line: string): void;
  /** The process could not be started (no such command, ...). `exit` may not follow. */
  error?(message: string): void;
  /**
   * The process ended; `oom` tells whether the OOM killer struck. The cgroup and code slot are given
   * back right after (or when the hook calls `release()`).
   */
  exit?(status: ExitStatus, oom: boolean): void;
}

export interface InstanceProcessOptions {
  launch: LaunchSpec;
  /** The cgroup the process runs in, when the machine has cgroups. */
  cgroup?: InstanceCgroup | undefined;
  /** With code slots: the function's code is mounted here for the sandbox to see. */
  slot?: CodeSlot | undefined;
}

/** `exit code 3` or `signal SIGKILL`. */
export function describeExit(status: ExitStatus): string {
  return status.signal === null ? `exit code ${status.code}` : `signal ${status.signal}`;
}

export class InstanceProcess {
  /** The first lines of stderr, for the error of a failed start. */
  readonly stderrHead: string[] = [];
  /** Set once the process ended (or could not be started: both null). */
  exitStatus: ExitStatus | undefined;
  /** Set when the kernel's OOM killer ended a process of this instance. */
  oomKilled = false;
  private child: ChildProcess | undefined;
  private oomSeen = 0;
  /** The runtime said on stderr that its heap hit its size limit (V8 at `--max-old-space-size`). */
  private heapExhausted = false;
  private released = false;
  private exitWaiters: ((status: ExitStatus) => void)[] = [];

  constructor(
    private readonly opts: InstanceProcessOptions,
    private readonly hooks: ProcessHooks = {},
  ) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get command(): string {
    return this.opts.launch.command;
  }

  /**
   * The pid of the process the sandbox runs (the bridge), as the host sees it: below the sandbox's own
   * processes (bubblewrap's). Null before it started, once it ended, or when /proc cannot tell.
   */
  get ownPid(): number | null {
    if (this.exitStatus !== undefined || this.pid === null) return null;
    // walked again at each ask, never kept: a function may rename itself as a host-side program, and
    // the walk then ends at a child of its own, whose pid, once it ends, any host process may get
    return launchedPid(this.pid, this.opts.launch.hostSide ?? []);
  }

  /** Resident memory of the process the sandbox runs (VmRSS), in bytes; null once it ended. */
  get rssBytes(): number | null {
    const own = this.ownPid;
    return own === null ? null : residentBytes(own);
  }

  /** The memory its cgroup charges (memory.current: every process of it, page cache included); null without one. */
  get cgroupMemoryBytes(): number | null {
    if (this.exitStatus !== undefined) return null;
    return this.opts.cgroup?.memoryBytes() ?? null;
  }

  /** Where the function's code is inside the sandbox (its code slot), if it has one. */
  codePath(functionName: string): string | undefined {
    return this.opts.slot?.pathFor(functionName);
  }

  /** Mounts a function's code into the sandbox (with code slots); the process starts in that folder. */
  async mountCode(codeDir: string, functionName: string): Promise<void> {
    try {
      await this.opts.slot?.mount(codeDir, functionName);
    } catch (err) {
      throw new SkiffError(
        'SKIFF_E_INSTANCE_START_FAILED',
        `could not mount the function's code into its sandbox: ${(err as Error).message}`,
      );
    }
  }

  /** Applies a function's limits to a process started with the defaults (a warm-pool process). */
  setLimits(limits: Limits): void {
    this.opts.cgroup?.setLimits(limits);
  }

  /** Starts the process; returns its protocol socket (fd 3). */
  start(): Socket {
    const child = launchProcess(this.opts.launch);
    this.child = child;
    eachLine(child.stdout, (line) => this.onLine('stdout', line));
    eachLine(child.stderr, (line) => this.onLine('stderr', line));
    child.on('error', (err) => {
      this.hooks.error?.(`could not start ${this.opts.launch.command}: ${err.message}`);
      // a process that never started emits no exit: whoever waits for one is told now
      if (child.pid === undefined) this.settleExit({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => this.onExit({ code, signal }));
    return child.stdio[3] as Socket;
  }

  /** Resolves with how the process ended (at once if it has). */
  exited(): Promise<ExitStatus> {
    if (this.exitStatus !== undefined) return Promise.resolve(this.exitStatus);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  /** True (once per kill) when the OOM killer struck this instance's cgroup since the last look. */
  newOomKill(): boolean {
    if (this.heapExhausted && !this.oomKilled) {
      // a heap sized from the memory limit (src/languages/node-heap.ts) ran out before the cgroup did
      this.oomKilled = true;
      return true;
    }
    const count = this.opts.cgroup?.oomKills() ?? 0;
    if (count <= this.oomSeen) return false;
    this.oomSeen = count;
    this.oomKilled = true;
    return true;
  }

  /** Gives the cgroup and the code slot back (once the process is gone); runs once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    void this.opts.cgroup?.remove();
    this.opts.slot?.release();
  }

  private onExit(status: ExitStatus): void {
    this.exitStatus = status;
    const oom = this.newOomKill();
    this.hooks.exit?.(status, oom);
    this.release();
    this.settleExit(status);
  }

  private settleExit(status: ExitStatus): void {
    this.exitStatus ??= status;
    const waiters = this.exitWaiters;
    this.exitWaiters = [];
    for (const resolve of waiters) resolve(status);
  }

  private onLine(stream: 'stdout' | 'stderr', line: string): void {
    if (stream === 'stderr' && this.stderrHead.length < STDERR_KEEP) this.stderrHead.push(line);
    if (stream === 'stderr' && line.includes(HEAP_EXHAUSTED)) this.heapExhausted = true;
    this.hooks.line?.(stream, line);
  }
}
