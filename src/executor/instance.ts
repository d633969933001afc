import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { SkiffError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Invocation, Result } from '../model/invocation.js';
import type { InstanceCgroup } from '../sandbox/cgroups.js';
import type { CodeSlot } from '../sandbox/slots.js';
import { launchProcess, type LaunchSpec } from '../sandbox/launch.js';
import type { FunctionLogSink } from '../model/log-record.js';
import type { Deployment } from '../model/deployment.js';
import type { ExecutorEvents } from './events.js';
import { readFrames } from './frame-intake.js';
import { InstanceLog } from './instance-log.js';
import { FrameKind, FrameWriter, PROTOCOL_VERSION, type FrameTooLargeError } from './protocol/frames.js';
import {
  kindName,
  type BridgeFrame,
  type ErrorMeta,
  type HelloMeta,
  type InitMeta,
  type InvokeMeta,
  type LogMeta,
} from './protocol/messages.js';
import {
  badResponse,
  functionError,
  outOfMemory,
  protocolError,
  refusedResult,
  tooLarge,
} from './invocation-errors.js';
import { withoutPlatformVars } from '../languages/instance-env.js';
import { capText, eachLine } from '../shared/lines.js';
import { residentBytes } from '../shared/processes.js';

/** `warm`: a generic bridge process that said HELLO and waits for a function to load (warm pool). */
export type InstanceState = 'starting' | 'warm' | 'ready' | 'stopping' | 'exited';

interface Pending {
  invocationId: string;
  resolve: (result: Result) => void;
  reject: (err: SkiffError) => void;
  timer: NodeJS.Timeout;
}

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
}

const STDERR_KEEP = 20;
/** Longest LOG frame text or error text kept from a bridge; the rest is cut with a marker. */
const MAX_TEXT_BYTES = 16 * 1024;
/** One bridge process serving one deployment over runtime protocol v1. */
export class Instance {
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
  private deployment: Deployment | undefined;
  private child: ChildProcess | undefined;
  private writer: FrameWriter | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly pings = new Map<number, (alive: boolean) => void>();
  private probe: Promise<boolean> | undefined;
  private nextId = 1;
  private readonly stderrHead: string[] = [];
  private exitWaiters: (() => void)[] = [];
  /** The start phase in progress: `spawn` waits for HELLO, `init` for READY. */
  private startWaiter:
    { phase: 'spawn' | 'init'; resolve: () => void; reject: (err: SkiffError) => void } | undefined;
  private exitInfo: string | undefined;
  /** Set when the instance broke the runtime protocol: it is being ended, its frames are ignored. */
  private violation: string | undefined;
  private readonly output: InstanceLog;

  /** Set when the kernel's OOM killer ended a process of this instance. */
  oomKilled = false;
  private oomSeen = 0;

  constructor(private readonly opts: InstanceOptions) {
    this.id = opts.id;
    this.deployment = opts.deployment;
    this.output = new InstanceLog(opts.id, opts.logs, opts.logger);
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Ready and not under a liveness probe: may take another invocation. */
  get accepting(): boolean {
    return this.state === 'ready' && this.probe === undefined && this.violation === undefined;
  }

  /** Resident memory of the bridge process in bytes (null once it exited). */
  get rssBytes(): number | null {
    if (this.state === 'exited') return null;
    return this.opts.cgroup?.memoryBytes() ?? residentBytes(this.pid);
  }

  /** True (once per kill) when the OOM killer struck this instance's cgroup since the last look. */
  private newOomKill(): boolean {
    const count = this.opts.cgroup?.oomKills() ?? 0;
    if (count <= this.oomSeen) return false;
    this.oomSeen = count;
    this.oomKilled = true;
    return true;
  }

  /** How the process ended, once it has. */
  get exitReason(): string | undefined {
    return this.exitInfo;
  }

  /** Spawns the bridge and hands it the function; resolves once it reports READY. */
  async start(): Promise<void> {
    const deployment = this.deployment;
    if (deployment === undefined) throw new Error('Instance.start needs a deployment');
    // the sandbox starts in the code folder, so the code must be there first
    await this.mountCode(deployment);
    await this.spawn();
    await this.specialise(deployment);
  }

  private async mountCode(deployment: Deployment): Promise<void> {
    try {
      await this.opts.slot?.mount(deployment.codeDir, deployment.function);
    } catch (err) {
      throw new SkiffError(
        'SKIFF_E_INSTANCE_START_FAILED',
        `could not mount the function's code into its sandbox: ${(err as Error).message}`,
      );
    }
  }

  /** Spawns the bridge process and resolves once it said HELLO in a protocol version we speak. */
  spawn(): Promise<void> {
    const { launch, events } = this.opts;
    const waiting = this.waitFor('spawn', 'did not say HELLO');
    const child = launchProcess(launch);
    this.child = child;
    events.emit('spawn', { deployment: this.deployment, instanceId: this.id, pid: child.pid ?? null });
    const socket = child.stdio[3] as Socket;
    this.writer = new FrameWriter(socket);
    // Everything the instance sends is untrusted: bounded by the decoder, parsed by schema per frame,
    // and nothing thrown while handling it may reach the event loop.
    readFrames(socket, this.opts.maxResponseBytes, {
      frame: (frame) => this.onFrame(frame),
      tooLarge: (err) => this.frameTooLarge(err),
      violation: (reason) => this.protocolViolation(reason),
      ended: () => this.violation !== undefined,
    });
    eachLine(child.stdout, (line) => this.onOutputLine('stdout', line));
    eachLine(child.stderr, (line) => this.onOutputLine('stderr', line));
    child.on('error', (err) => this.failStart(`could not start ${launch.command}: ${err.message}`));
    child.on('exit', (code, signal) => this.onExit(code, signal));
    return waiting;
  }

  /** Loads a function into a bridge that said HELLO (INIT → READY). */
  async specialise(deployment: Deployment): Promise<void> {
    if (this.state !== 'warm' || this.writer === undefined) {
      throw new SkiffError('SKIFF_E_INSTANCE_START_FAILED', 'the function instance is not running');
    }
    this.deployment = deployment;
    this.state = 'starting';
    if (this.fromWarmPool) {
      await this.mountCode(deployment);
      this.opts.cgroup?.setLimits(deployment.limits);
    }
    const writer = this.writer;
    if ((this.state as InstanceState) !== 'starting') {
      throw new SkiffError('SKIFF_E_INSTANCE_START_FAILED', 'the function instance exited during start-up');
    }
    const waiting = this.waitFor('init', 'did not become ready');
    const init: InitMeta = {
      codeDir: this.opts.slot?.pathFor(deployment.function) ?? deployment.codeDir,
      handler: deployment.handler,
      function: deployment.function,
      version: deployment.version,
      env: withoutPlatformVars(deployment.env),
      secrets: withoutPlatformVars(deployment.secrets),
      ...(deployment.flavor === 'native' ? {} : { flavor: deployment.flavor }),
    };
    writer.send(FrameKind.INIT, 0, init);
    if (this.fromWarmPool) {
      this.opts.events.emit('specialise', { deployment, instanceId: this.id, pid: this.pid });
    }
    return waiting;
  }

  private waitFor(phase: 'spawn' | 'init', what: string): Promise<void> {
    const limit = this.opts.startTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failStart(`${what} within ${limit} ms`, 'SKIFF_E_START_TIMEOUT');
      }, limit);
      this.startWaiter = {
        phase,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  invoke(inv: Invocation, timeoutMs: number): Promise<Result> {
    if (this.state !== 'ready' || this.writer === undefined || this.violation !== undefined) {
      return Promise.reject(
        new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'the function instance is not running'),
      );
    }
    const wireId = this.nextId++;
    this.served++;
    const meta: InvokeMeta = {
      invocationId: inv.id,
      method: inv.method,
      url: `http://${inv.host}${inv.path}${inv.query === '' ? '' : `?${inv.query}`}`,
      headers: inv.headers,
      deadline: Date.now() + timeoutMs,
      trigger: inv.trigger,
    };
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => this.onTimeout(wireId, timeoutMs), timeoutMs);
      this.pending.set(wireId, { invocationId: inv.id, resolve, reject, timer });
      try {
        this.writer?.send(FrameKind.INVOKE, wireId, meta, inv.body);
      } catch (err) {
        this.pending.delete(wireId);
        clearTimeout(timer);
        reject(new SkiffError('SKIFF_E_PAYLOAD_TOO_LARGE', (err as Error).message));
        this.settled();
      }
    });
  }

  /** Asks the bridge to finish in-flight work and exit; kills it after graceMs. */
  async stop(graceMs: number): Promise<void> {
    if (this.state === 'exited') return;
    this.state = 'stopping';
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.writer?.send(FrameKind.SHUTDOWN, 0, { graceMs });
    const killer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs + 100);
    await exited;
    clearTimeout(killer);
  }

  kill(): void {
    if (this.state !== 'exited') this.state = 'stopping';
    this.child?.kill('SIGKILL');
  }

  /** While a liveness probe runs: resolves true if the bridge answered, false if it was killed as hung. */
  get probing(): Promise<boolean> | undefined {
    return this.probe;
  }

  /** Sends a PING; an instance whose event loop does not answer within the probe timeout is killed. */
  private checkAlive(): void {
    if (this.probe !== undefined || this.state !== 'ready') return;
    const id = this.nextId++;
    this.probe = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        this.log('platform', 'error', `instance ${this.id} is not responding after a timeout; killing it`);
        this.kill();
        resolve(false);
      }, this.opts.probeTimeoutMs);
      this.pings.set(id, (alive) => {
        clearTimeout(timer);
        this.pings.delete(id);
        resolve(alive);
      });
      this.writer?.send(FrameKind.PING, id);
    }).finally(() => {
      this.probe = undefined;
      // Invocations that queued while the probe ran can go now.
      this.onChange?.(this);
    });
  }

  /** A frame announced over the limit: a RESULT fails its invocation as too large; the instance ends. */
  private frameTooLarge(err: FrameTooLargeError): void {
    if (err.kind === FrameKind.RESULT) {
      this.settle(err.id, (p) => this.refuse(p, tooLarge(this.opts.maxResponseBytes)));
    }
    this.protocolViolation(
      `a ${kindName(err.kind)} frame of ${err.length} bytes is larger than the limit of ${err.limit} bytes`,
    );
  }

  /**
   * The instance sent something the protocol does not allow: its in-flight invocations fail with
   * SKIFF_E_PROTOCOL, one warning goes to the platform log and one line to the function's logs, and the
   * process is killed (the stream cannot be trusted any more).
   */
  private protocolViolation(reason: string): void {
    if (this.violation !== undefined) return;
    this.violation = reason;
    this.opts.logger.warn(
      { instance: this.id, function: this.deployment?.function, reason },
      'an instance broke the runtime protocol; ending it',
    );
    this.log('platform', 'error', `the instance broke the runtime protocol and was ended: ${reason}`);
    this.failStart(`broke the runtime protocol: ${reason}`);
    const error = protocolError(reason);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
    for (const answer of [...this.pings.values()]) answer(false);
    this.child?.kill('SIGKILL');
    this.settled();
  }

  private onFrame(frame: BridgeFrame): void {
    switch (frame.kind) {
      case FrameKind.HELLO:
        return this.onHello(frame.meta);
      case FrameKind.READY: {
        if (this.startWaiter?.phase !== 'init') return;
        this.state = 'ready';
        this.startedAt = new Date();
        this.idleSince = Date.now();
        this.opts.events.emit('ready', {
          deployment: this.deployment,
          instanceId: this.id,
          pid: this.pid,
        });
        const waiter = this.startWaiter;
        this.startWaiter = undefined;
        waiter.resolve();
        this.onChange?.(this);
        return;
      }
      case FrameKind.RESULT: {
        const { status, headers } = frame.meta;
        return this.settle(frame.id, (p) => {
          const refused = refusedResult(status, frame.body.length, this.opts.maxResponseBytes);
          if (refused === undefined) p.resolve({ status, headers, body: frame.body });
          else this.refuse(p, refused);
        });
      }
      case FrameKind.ERROR:
        return this.onError(frame.id, frame.meta);
      case FrameKind.LOG:
        return this.onLog(frame.id, frame.meta, capText(frame.body, MAX_TEXT_BYTES));
      case FrameKind.PONG:
        return this.pings.get(frame.id)?.(true);
    }
  }

  /** Fails an invocation whose result the platform refuses, with a line in the function's logs. */
  private refuse(p: Pending, refused: { error: SkiffError; line: string }): void {
    this.log('platform', 'error', refused.line, p.invocationId);
    p.reject(refused.error);
  }

  private onHello(meta: HelloMeta): void {
    if (meta.protocol !== PROTOCOL_VERSION) {
      this.failStart(`runtime speaks protocol ${meta.protocol}, the platform speaks ${PROTOCOL_VERSION}`);
      return;
    }
    if (this.startWaiter?.phase !== 'spawn') return;
    this.state = 'warm';
    const waiter = this.startWaiter;
    this.startWaiter = undefined;
    waiter.resolve();
  }

  private onError(wireId: number, full: ErrorMeta): void {
    const meta: ErrorMeta = {
      ...full,
      message: capText(full.message, MAX_TEXT_BYTES),
      ...(full.stack === undefined ? {} : { stack: capText(full.stack, 4 * MAX_TEXT_BYTES) }),
    };
    if (wireId === 0) {
      const detail = meta.stack ?? meta.message;
      const handler = this.deployment?.handler ?? '(no function)';
      this.log('stderr', 'error', `failed to load ${handler}: ${detail}`);
      this.failStart(`failed to load ${handler}: ${meta.message}`);
      return;
    }
    if (meta.code === 'CANCELLED') return;
    this.settle(wireId, (p) => {
      if (meta.code === 'FUNCTION_ERROR' && this.newOomKill()) {
        // a program the bridge ran (binary runtime) was killed by the OOM killer
        this.log('platform', 'error', 'out of memory: the OOM killer ended a process', p.invocationId);
        p.reject(outOfMemory(this.deployment));
      } else if (meta.code === 'FUNCTION_ERROR') {
        this.log('stderr', 'error', meta.stack ?? meta.message, p.invocationId);
        p.reject(functionError(meta, this.deployment));
      } else {
        this.log('stderr', 'error', meta.message, p.invocationId);
        p.reject(badResponse(meta.message));
      }
    });
  }

  private onLog(wireId: number, meta: LogMeta, text: string): void {
    const invocationId = this.pending.get(wireId)?.invocationId;
    this.log(meta.stream, meta.level, text, invocationId);
  }

  private settle(wireId: number, fn: (p: Pending) => void): void {
    const p = this.pending.get(wireId);
    if (p === undefined) return;
    this.pending.delete(wireId);
    clearTimeout(p.timer);
    fn(p);
    this.settled();
  }

  private settled(): void {
    if (this.pending.size === 0) this.idleSince = Date.now();
    this.onChange?.(this);
  }

  private onTimeout(wireId: number, timeoutMs: number): void {
    const p = this.pending.get(wireId);
    if (p === undefined) return;
    this.pending.delete(wireId);
    this.writer?.send(FrameKind.CANCEL, wireId);
    this.opts.events.emit('timeout', {
      deployment: this.deployment,
      instanceId: this.id,
      pid: this.pid,
    });
    this.log('platform', 'warn', `invocation timed out after ${timeoutMs} ms`, p.invocationId);
    // Work that blocks the instance takes it down with it; the next call gets a new one.
    this.checkAlive();
    p.reject(new SkiffError('SKIFF_E_TIMEOUT', `the function did not answer within ${timeoutMs} ms`));
    this.settled();
  }

  private failStart(
    message: string,
    code: 'SKIFF_E_INSTANCE_START_FAILED' | 'SKIFF_E_START_TIMEOUT' = 'SKIFF_E_INSTANCE_START_FAILED',
  ): void {
    const waiter = this.startWaiter;
    if (waiter === undefined) return;
    this.startWaiter = undefined;
    const stderr = this.stderrHead.join('\n');
    waiter.reject(
      new SkiffError(code, `the function instance ${message}`, {
        details: stderr === '' ? undefined : { stderr },
      }),
    );
    this.child?.kill('SIGKILL');
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const wasStopping = this.state === 'stopping';
    const wasWarm = this.state === 'warm';
    this.state = 'exited';
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
    this.exitInfo = how;
    this.failStart(`exited during start-up (${how})`);
    for (const answer of this.pings.values()) answer(false);
    const oom = this.newOomKill();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(
        oom
          ? outOfMemory(this.deployment)
          : new SkiffError('SKIFF_E_INSTANCE_CRASHED', `the function instance crashed (${how})`),
      );
    }
    this.pending.clear();
    void this.opts.cgroup?.remove();
    this.opts.slot?.release();
    const event = { deployment: this.deployment, instanceId: this.id, pid: this.pid };
    if (!wasStopping && !wasWarm) {
      this.log('platform', 'error', `instance ${this.id} exited (${oom ? 'out of memory' : how})`);
      this.opts.events.emit('crash', event);
    }
    this.opts.events.emit('exit', event);
    for (const resolve of this.exitWaiters) resolve();
    this.exitWaiters = [];
    this.onChange?.(this);
  }

  private onOutputLine(stream: 'stdout' | 'stderr', line: string): void {
    if (stream === 'stderr' && this.stderrHead.length < STDERR_KEEP) this.stderrHead.push(line);
    this.log(stream, stream === 'stderr' ? 'error' : 'info', line);
  }

  /** Writes a line to the function's logs; never throws. */
  private log(
    stream: LogMeta['stream'] | 'platform',
    level: string,
    message: string,
    invocationId?: string,
  ): void {
    this.output.write(this.deployment, stream, level, message, invocationId);
  }
}
