/**
 * One instance as the pool sees it: a process (`instance-process.ts`: spawn through the sandbox, exit
 * and OOM detection, output capture, kill, clean-up) with a runtime-protocol connection on its fd 3
 * (`protocol/connection.ts`: handshake, invocations in flight, timeouts, liveness, frame checks). This
 * class composes the two: the instance's state, readiness raced against exit, the executor's events
 * and the function's log lines.
 */
import { SkiffError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Invocation, Result } from '../model/invocation.js';
import type { InstanceCgroup } from '../sandbox/cgroups.js';
import type { CodeSlot } from '../sandbox/slots.js';
import type { LaunchSpec } from '../sandbox/launch.js';
import type { FunctionLogSink } from '../model/log-record.js';
import type { Deployment } from '../model/deployment.js';
import type { ExecutorEvents } from './events.js';
import { InstanceLog } from './instance-log.js';
import { InstanceProcess, describeExit, type ExitStatus } from './instance-process.js';
import { outOfMemory } from './invocation-errors.js';
import type { InstanceState, PoolInstance } from './pool-instance.js';
import { ProtocolConnection, type LogStreamName } from './protocol/connection.js';
import type { LogSubject } from './protocol/connection-types.js';
import type { CallHost, CallService, CastHost } from './calls.js';
import type { StateService, StateSource } from './state-service.js';
import type { InitMeta } from './protocol/messages.js';
import { withoutPlatformVars } from '../languages/instance-env.js';

export type { InstanceState };

export interface InstanceOptions {
  /** Unset for a generic process of the warm pool, until it is specialised. */
  deployment: Deployment | undefined;
  launch: LaunchSpec;
  /** The instance's own id (its cgroup is named after it). */
  id: string;
  /** The cgroup the instance runs in, when the machine has cgroups. */
  cgroup?: InstanceCgroup | undefined;
  /** With code slots: the code is mounted here before the function loads. */
  slot?: CodeSlot | undefined;
  startTimeoutMs: number;
  /** The largest response body (functions.maxResponseBytes); larger frames end the instance. */
  maxResponseBytes: number;
  /** After a timeout, how long the bridge has to answer a PING before the instance is killed as hung. */
  probeTimeoutMs: number;
  logs: FunctionLogSink;
  events: ExecutorEvents;
  logger: Logger;
  /** Serves the function's `ctx.call`s (CALL frames); absent: every call is refused. */
  calls?: { host: CallHost; casts?: CastHost; maxBodyBytes: number } | undefined;
  /** Serves the function's `ctx.state` (STATE frames), asked per operation; undefined: refused. */
  state?: (() => StateSource | undefined) | undefined;
}

/** Calls an instance may have in flight, per invocation it may run at once. */
const CALLS_PER_SLOT = 4;
/** State operations an instance may have in flight, per invocation it may run at once. */
const STATE_OPS_PER_SLOT = 16;

/** How long a process whose protocol socket closed has to exit on its own before it is killed. */
const SOCKET_CLOSED_GRACE_MS = 500;

/** One bridge process serving one deployment over runtime protocol v1. */
export class Instance implements PoolInstance<Instance> {
  readonly id: string;
  state: InstanceState = 'starting';
  startedAt: Date | null = null;
  /** When the instance last had nothing in flight (or became ready): the idle clock. */
  idleSince = Date.now();
  /** Invocations answered (any outcome). */
  served = 0;
  /** Called when the instance's capacity changes: ready, an invocation settled, exited. */
  onChange: ((instance: Instance) => void) | undefined;
  /** Set when the instance was taken from the warm pool rather than started for its function. */
  fromWarmPool = false;
  /** Called once, when the first invocation settled (the warm pool refills after that reply). */
  afterFirstSettle: (() => void) | undefined;
  private deployment: Deployment | undefined;
  private readonly process: InstanceProcess;
  private connection: ProtocolConnection | undefined;
  private readonly output: InstanceLog;

  constructor(private readonly opts: InstanceOptions) {
    this.id = opts.id;
    this.deployment = opts.deployment;
    this.output = new InstanceLog(opts.id, opts.logs, opts.logger);
    this.process = new InstanceProcess(
      { launch: opts.launch, cgroup: opts.cgroup, slot: opts.slot },
      {
        line: (stream, line) => this.log(stream, stream === 'stderr' ? 'error' : 'info', line),
        error: (message) => this.connection?.abortStart(message),
        exit: (status, oom) => this.onExit(status, oom),
      },
    );
  }

  get pid(): number | null {
    return this.process.pid;
  }

  get inFlight(): number {
    return this.connection?.inFlight ?? 0;
  }

  /** Ready and not under a liveness probe: may take another invocation. */
  get accepting(): boolean {
    return this.state === 'ready' && this.connection?.accepting === true;
  }

  /** The pid of the bridge process inside the sandbox, as the host sees it (`pid` is the sandbox's). */
  get ownPid(): number | null {
    return this.state === 'exited' ? null : this.process.ownPid;
  }

  /** Resident memory of the bridge process in bytes (null once it exited). */
  get rssBytes(): number | null {
    return this.state === 'exited' ? null : this.process.rssBytes;
  }

  /** What the instance's cgroup charges (memory.current), in bytes; null without a cgroup or once it exited. */
  get cgroupMemoryBytes(): number | null {
    return this.state === 'exited' ? null : this.process.cgroupMemoryBytes;
  }

  /** Set when the kernel's OOM killer ended a process of this instance. */
  get oomKilled(): boolean {
    return this.process.oomKilled;
  }

  /** How the process ended, once it has. */
  get exitReason(): string | undefined {
    const status = this.process.exitStatus;
    return status === undefined ? undefined : describeExit(status);
  }

  /** While a liveness probe runs: resolves true if the bridge answered, false if it was killed as hung. */
  get probing(): Promise<boolean> | undefined {
    return this.connection?.probing;
  }

  /** Spawns the bridge and hands it the function; resolves once it reports READY. */
  async start(): Promise<void> {
    const deployment = this.deployment;
    if (deployment === undefined) throw new Error('Instance.start needs a deployment');
    // the sandbox starts in the code folder, so the code must be there first
    await this.process.mountCode(deployment.codeDir, deployment.function);
    await this.spawn();
    await this.specialise(deployment);
  }

  /** Spawns the bridge process and resolves once it said HELLO in a protocol version we speak. */
  async spawn(): Promise<void> {
    const socket = this.process.start();
    this.opts.events.emit('spawn', { deployment: this.deployment, instanceId: this.id, pid: this.pid });
    const connection = new ProtocolConnection(socket, {
      maxResponseBytes: this.opts.maxResponseBytes,
      probeTimeoutMs: this.opts.probeTimeoutMs,
      hooks: {
        log: (stream, level, message, inv) => this.log(stream, level, message, inv),
        changed: (settled) => this.changed(settled),
        timedOut: () => {
          this.opts.events.emit('timeout', this.event());
          if (this.deployment?.replaceAfterTimeout === true && this.state === 'ready') {
            // the flavor's rule: the timed-out code may still run in it, the next call gets a new one
            this.log('platform', 'info', `instance ${this.id} is replaced after a timeout`);
            this.kill();
          }
        },
        violated: (reason) => this.violated(reason),
        hung: () => {
          this.log('platform', 'error', `instance ${this.id} is not responding after a timeout; killing it`);
          this.kill();
        },
        outOfMemory: () => this.process.newOomKill(),
        closed: () => this.socketClosed(),
      },
      calls: () => this.callService(),
      state: () => this.stateService(),
    });
    connection.deployment = this.deployment;
    this.connection = connection;
    await this.starting(connection.waitHello(this.opts.startTimeoutMs));
    this.state = 'warm';
  }

  /** Loads a function into a bridge that said HELLO (INIT → READY). */
  async specialise(deployment: Deployment): Promise<void> {
    const connection = this.connection;
    if (this.state !== 'warm' || connection === undefined) {
      throw new SkiffError('SKIFF_E_INSTANCE_START_FAILED', 'the function instance is not running');
    }
    this.deployment = deployment;
    connection.deployment = deployment;
    this.state = 'starting';
    if (this.fromWarmPool) {
      // the limits are written while the mount helper mounts the code (another process's work)
      const mounted = this.process.mountCode(deployment.codeDir, deployment.function);
      try {
        this.process.setLimits(deployment.limits);
      } finally {
        await mounted;
      }
    }
    if ((this.state as InstanceState) !== 'starting') {
      throw new SkiffError('SKIFF_E_INSTANCE_START_FAILED', 'the function instance exited during start-up');
    }
    const init: InitMeta = {
      codeDir: this.process.codePath(deployment.function) ?? deployment.codeDir,
      handler: deployment.handler,
      function: deployment.function,
      version: deployment.version,
      env: withoutPlatformVars(deployment.env),
      secrets: withoutPlatformVars(deployment.secrets),
      ...(deployment.flavor === 'native' ? {} : { flavor: deployment.flavor }),
      memoryMb: deployment.limits.memoryMb,
    };
    const waiting = connection.init(init, deployment.startTimeoutMs);
    if (this.fromWarmPool) this.opts.events.emit('specialise', this.event());
    await this.starting(waiting);
    this.state = 'ready';
    this.startedAt = new Date();
    this.idleSince = Date.now();
    this.opts.events.emit('ready', this.event());
    this.onChange?.(this);
  }

  invoke(inv: Invocation, timeoutMs: number): Promise<Result> {
    const connection = this.connection;
    if (this.state !== 'ready' || connection === undefined || connection.violated !== undefined) {
      return Promise.reject(
        new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'the function instance is not running'),
      );
    }
    this.served++;
    return connection.invoke(inv, timeoutMs);
  }

  /** Asks the bridge to finish in-flight work and exit; kills it after graceMs. */
  async stop(graceMs: number): Promise<void> {
    if (this.state === 'exited') return;
    this.state = 'stopping';
    const exited = this.process.exited();
    this.connection?.shutdown(graceMs);
    const killer = setTimeout(() => this.process.kill(), graceMs + 100);
    await exited;
    clearTimeout(killer);
  }

  kill(): void {
    if (this.state !== 'exited') this.state = 'stopping';
    this.connection?.stopAccepting();
    this.process.kill();
  }

  /** A start phase's wait: a failure kills the process and carries the first lines of its stderr. */
  private async starting(waiting: Promise<void>): Promise<void> {
    try {
      await waiting;
    } catch (err) {
      this.process.kill();
      const error = err as SkiffError;
      const stderr = this.process.stderrHead.join('\n');
      throw new SkiffError(error.code, error.message, {
        details: stderr === '' ? undefined : { stderr },
      });
    }
  }

  /** The host and this instance's call limits: concurrency × CALLS_PER_SLOT calls at once. */
  private callService(): CallService | undefined {
    const calls = this.opts.calls;
    const deployment = this.deployment;
    if (calls === undefined || deployment === undefined) return undefined;
    const maxInFlight = deployment.scaling.concurrency * CALLS_PER_SLOT;
    return {
      host: calls.host,
      casts: calls.casts,
      limits: { maxInFlight, maxBodyBytes: calls.maxBodyBytes },
    };
  }

  /** The function state and this instance's cap: concurrency × STATE_OPS_PER_SLOT operations at once. */
  private stateService(): StateService | undefined {
    const source = this.opts.state?.();
    const deployment = this.deployment;
    if (source === undefined || deployment === undefined) return undefined;
    return { ...source, maxInFlight: deployment.scaling.concurrency * STATE_OPS_PER_SLOT };
  }

  private changed(settled: boolean): void {
    if (settled && this.inFlight === 0) this.idleSince = Date.now();
    this.onChange?.(this);
    if (settled && this.afterFirstSettle !== undefined) {
      const first = this.afterFirstSettle;
      this.afterFirstSettle = undefined;
      first();
    }
  }

  /**
   * The bridge broke the runtime protocol (the connection failed what was in flight and closed): one
   * warning to the platform log, one line to the function's logs, and the process is killed.
   */
  private violated(reason: string): void {
    this.opts.logger.warn(
      { instance: this.id, function: this.deployment?.function, reason },
      'an instance broke the runtime protocol; ending it',
    );
    this.log('platform', 'error', `the instance broke the runtime protocol and was ended: ${reason}`);
    this.process.kill();
  }

  /**
   * The protocol socket closed. A process that exits closes it on the way out (its exit follows at
   * once); one that lives on without it can never answer: it is killed after a short grace, so what
   * was in flight fails now rather than at its timeout.
   */
  private socketClosed(): void {
    if (this.state === 'stopping' || this.state === 'exited') return;
    const timer = setTimeout(() => {
      if (this.state === 'stopping' || this.state === 'exited') return;
      this.log('platform', 'error', `instance ${this.id} closed its runtime-protocol socket; ending it`);
      this.process.kill();
    }, SOCKET_CLOSED_GRACE_MS);
    timer.unref();
  }

  private onExit(status: ExitStatus, oom: boolean): void {
    const wasStopping = this.state === 'stopping';
    const wasWarm = this.state === 'warm';
    this.state = 'exited';
    const how = describeExit(status);
    this.connection?.lost(
      `exited during start-up (${how})`,
      oom
        ? outOfMemory(this.deployment)
        : new SkiffError('SKIFF_E_INSTANCE_CRASHED', `the function instance crashed (${how})`),
    );
    this.process.release();
    if (!wasStopping && !wasWarm) {
      this.log('platform', 'error', `instance ${this.id} exited (${oom ? 'out of memory' : how})`);
      this.opts.events.emit('crash', this.event());
    }
    this.opts.events.emit('exit', this.event());
    this.onChange?.(this);
  }

  private event() {
    return { deployment: this.deployment, instanceId: this.id, pid: this.pid };
  }

  /** Writes a line to the function's logs; never throws. */
  private log(stream: LogStreamName, level: string, message: string, inv?: LogSubject): void {
    this.output.write(this.deployment, stream, level, message, inv);
  }
}
