import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { SkiffError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Invocation, Result } from '../invoke/types.js';
import { launchProcess, type LaunchSpec } from '../sandbox/launch.js';
import type { FunctionLogSink } from '../store/log-types.js';
import type { Deployment } from './deployment.js';
import type { ExecutorEvents } from './events.js';
import { FrameDecoder, FrameKind, FrameWriter, PROTOCOL_VERSION, type Frame } from './protocol/frames.js';
import type { ErrorMeta, InitMeta, InvokeMeta, LogMeta, ResultMeta } from './protocol/messages.js';

export type InstanceState = 'starting' | 'ready' | 'stopping' | 'exited';

interface Pending {
  invocationId: string;
  resolve: (result: Result) => void;
  reject: (err: SkiffError) => void;
  timer: NodeJS.Timeout;
}

export interface InstanceOptions {
  deployment: Deployment;
  launch: LaunchSpec;
  startTimeoutMs: number;
  /** After a timeout, how long the bridge has to answer a PING before the instance is killed as hung. */
  probeTimeoutMs: number;
  logs: FunctionLogSink;
  events: ExecutorEvents;
  logger: Logger;
}

const STDERR_KEEP = 20;

/** One bridge process serving one deployment over runtime protocol v1. */
export class Instance {
  readonly id = randomUUID();
  state: InstanceState = 'starting';
  startedAt: Date | null = null;
  private child: ChildProcess | undefined;
  private writer: FrameWriter | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly pings = new Map<number, (alive: boolean) => void>();
  private probe: Promise<boolean> | undefined;
  private nextId = 1;
  private readonly stderrHead: string[] = [];
  private exitWaiters: (() => void)[] = [];
  private startWaiter: { resolve: () => void; reject: (err: SkiffError) => void } | undefined;

  constructor(private readonly opts: InstanceOptions) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Spawns the bridge, hands it the function, and resolves once it reports READY. */
  start(): Promise<void> {
    const { deployment, launch, events } = this.opts;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failStart(`did not become ready within ${this.opts.startTimeoutMs} ms`);
      }, this.opts.startTimeoutMs);
      this.startWaiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const child = launchProcess(launch);
      this.child = child;
      events.emit('spawn', { deployment, instanceId: this.id, pid: child.pid ?? null });
      const socket = child.stdio[3] as Socket;
      this.writer = new FrameWriter(socket);
      const decoder = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        let frames: Frame[];
        try {
          frames = decoder.push(chunk);
        } catch (err) {
          this.opts.logger.error({ err, instance: this.id }, 'runtime protocol violation; killing instance');
          child.kill('SIGKILL');
          return;
        }
        for (const frame of frames) this.onFrame(frame);
      });
      socket.on('error', () => undefined);
      this.pipeLines(child.stdout, 'stdout');
      this.pipeLines(child.stderr, 'stderr');
      child.on('error', (err) => this.failStart(`could not start ${launch.command}: ${err.message}`));
      child.on('exit', (code, signal) => this.onExit(code, signal));
    });
  }

  invoke(inv: Invocation, timeoutMs: number): Promise<Result> {
    if (this.state !== 'ready' || this.writer === undefined) {
      return Promise.reject(
        new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'the function instance is not running'),
      );
    }
    const wireId = this.nextId++;
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
    });
  }

  private onFrame(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.HELLO:
        return this.onHello(frame.meta);
      case FrameKind.READY:
        this.state = 'ready';
        this.startedAt = new Date();
        this.opts.events.emit('ready', {
          deployment: this.opts.deployment,
          instanceId: this.id,
          pid: this.pid,
        });
        this.startWaiter?.resolve();
        this.startWaiter = undefined;
        return;
      case FrameKind.RESULT:
        return this.settle(frame.id, (p) => {
          const meta = frame.meta as unknown as ResultMeta;
          p.resolve({ status: meta.status, headers: meta.headers, body: frame.body });
        });
      case FrameKind.ERROR:
        return this.onError(frame.id, frame.meta as unknown as ErrorMeta);
      case FrameKind.LOG:
        return this.onLog(frame.id, frame.meta as unknown as LogMeta, frame.body.toString('utf8'));
      case FrameKind.PONG:
        return this.pings.get(frame.id)?.(true);
      default:
        return;
    }
  }

  private onHello(meta: Record<string, unknown>): void {
    if (meta['protocol'] !== PROTOCOL_VERSION) {
      this.failStart(
        `runtime speaks protocol ${String(meta['protocol'])}, the platform speaks ${PROTOCOL_VERSION}`,
      );
      return;
    }
    const { deployment } = this.opts;
    const init: InitMeta = {
      codeDir: deployment.codeDir,
      handler: deployment.handler,
      function: deployment.function,
      version: deployment.version,
      env: deployment.env,
      secrets: deployment.secrets,
    };
    this.writer?.send(FrameKind.INIT, 0, init);
  }

  private onError(wireId: number, meta: ErrorMeta): void {
    if (wireId === 0) {
      const detail = meta.stack ?? meta.message;
      this.log('stderr', 'error', `failed to load ${this.opts.deployment.handler}: ${detail}`);
      this.failStart(`failed to load ${this.opts.deployment.handler}: ${meta.message}`);
      return;
    }
    if (meta.code === 'CANCELLED') return;
    this.settle(wireId, (p) => {
      if (meta.code === 'FUNCTION_ERROR') {
        this.log('stderr', 'error', meta.stack ?? meta.message, p.invocationId);
        const failed = meta.exitCode === undefined ? 'threw an error' : `exited with code ${meta.exitCode}`;
        p.reject(new SkiffError('SKIFF_E_FUNCTION_ERROR', `the function ${failed}; see its logs`));
      } else {
        this.log('stderr', 'error', meta.message, p.invocationId);
        p.reject(
          new SkiffError(
            'SKIFF_E_BAD_RESPONSE',
            `the function returned an invalid response: ${meta.message}`,
          ),
        );
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
  }

  private onTimeout(wireId: number, timeoutMs: number): void {
    const p = this.pending.get(wireId);
    if (p === undefined) return;
    this.pending.delete(wireId);
    this.writer?.send(FrameKind.CANCEL, wireId);
    this.opts.events.emit('timeout', {
      deployment: this.opts.deployment,
      instanceId: this.id,
      pid: this.pid,
    });
    this.log('platform', 'warn', `invocation timed out after ${timeoutMs} ms`, p.invocationId);
    // Work that blocks the instance takes it down with it; the next call gets a new one.
    this.checkAlive();
    p.reject(new SkiffError('SKIFF_E_TIMEOUT', `the function did not answer within ${timeoutMs} ms`));
  }

  private failStart(message: string): void {
    const waiter = this.startWaiter;
    if (waiter === undefined) return;
    this.startWaiter = undefined;
    const stderr = this.stderrHead.join('\n');
    waiter.reject(
      new SkiffError('SKIFF_E_INSTANCE_START_FAILED', `the function instance ${message}`, {
        details: stderr === '' ? undefined : { stderr },
      }),
    );
    this.child?.kill('SIGKILL');
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const wasStopping = this.state === 'stopping';
    this.state = 'exited';
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
    this.failStart(`exited during start-up (${how})`);
    for (const answer of this.pings.values()) answer(false);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new SkiffError('SKIFF_E_INSTANCE_CRASHED', `the function instance crashed (${how})`));
    }
    this.pending.clear();
    if (!wasStopping) {
      this.log('platform', 'error', `instance ${this.id} exited (${how})`);
      this.opts.events.emit('crash', {
        deployment: this.opts.deployment,
        instanceId: this.id,
        pid: this.pid,
      });
    }
    this.opts.events.emit('exit', { deployment: this.opts.deployment, instanceId: this.id, pid: this.pid });
    for (const resolve of this.exitWaiters) resolve();
    this.exitWaiters = [];
  }

  private pipeLines(stream: Readable | null, name: 'stdout' | 'stderr'): void {
    if (stream === null) return;
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) this.onOutputLine(name, line);
    });
    stream.on('end', () => {
      if (rest !== '') this.onOutputLine(name, rest);
    });
  }

  private onOutputLine(stream: 'stdout' | 'stderr', line: string): void {
    if (stream === 'stderr' && this.stderrHead.length < STDERR_KEEP) this.stderrHead.push(line);
    this.log(stream, stream === 'stderr' ? 'error' : 'info', line);
  }

  private log(
    stream: LogMeta['stream'] | 'platform',
    level: string,
    message: string,
    invocationId?: string,
  ): void {
    this.opts.logs.append(this.opts.deployment.function, {
      stream,
      level,
      message,
      version: this.opts.deployment.version,
      ...(invocationId === undefined ? {} : { invocationId }),
    });
  }
}
