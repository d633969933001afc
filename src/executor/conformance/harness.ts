/**
 * The conformance kit's side of the runtime protocol: starts a runtime command with the platform's own
 * process layer (`InstanceProcess`: stdin closed, stdout/stderr piped, fd 3 a Unix socketpair, a clean
 * environment; no sandbox) and drives it frame by frame over the platform's own frame layer
 * (`FrameChannel`: the same size limits and schemas). Every wait is bounded, so a broken runtime fails
 * a case instead of hanging the kit.
 */
import { randomUUID } from 'node:crypto';
import { FrameKind, type Frame } from '../protocol/frames.js';
import { FrameChannel } from '../protocol/channel.js';
import type { HeaderPairs, InitMeta, InvokeMeta } from '../protocol/messages.js';
import { InstanceProcess, describeExit, type ExitStatus } from '../instance-process.js';

export { describeExit, type ExitStatus };

/** A case failed: the message is the reason shown in the table. */
export class CaseFailure extends Error {}

export interface RuntimeSpec {
  command: string;
  args: string[];
  /** The working directory of the process and INIT's `codeDir` (absolute). */
  codeDir: string;
  /** INIT's `handler`. */
  handler: string;
  /** The function's env: in the process environment and in INIT. */
  env: Record<string, string>;
  maxResponseBytes: number;
}

export interface ReceivedFrame extends Frame {
  /** Order of arrival, from 0. */
  seq: number;
  /** performance.now() at arrival. */
  at: number;
}

export interface InvokeRequest {
  method?: string;
  path: string;
  headers?: HeaderPairs;
  body?: Uint8Array;
  invocationId?: string;
  /** The INVOKE's `traceparent` and `tracestate` (W3C Trace Context), when given. */
  traceparent?: string;
  tracestate?: string;
}

export const CONFORMANCE_FUNCTION = 'conformance';
export const CONFORMANCE_VERSION = 3;
const OUTPUT_KEEP = 20;

interface Waiter {
  match: (frame: ReceivedFrame) => boolean;
  resolve: (frame: ReceivedFrame) => void;
  reject: (err: Error) => void;
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The environment of an instance (see `instanceEnv`): the function's env, then the platform's. */
export function conformanceEnv(spec: RuntimeSpec): Record<string, string> {
  return {
    ...spec.env,
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    SKIFF_PROTOCOL_FD: '3',
    SKIFF_MAX_RESPONSE_BYTES: String(spec.maxResponseBytes),
  };
}

/** One runtime process under test and a small protocol client for it. */
export class RuntimeProcess {
  /** Every frame received, in order. */
  readonly frames: ReceivedFrame[] = [];
  readonly stdoutHead: string[] = [];
  private readonly process: InstanceProcess;
  private readonly channel: FrameChannel;
  private readonly inbox: ReceivedFrame[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly invoked = new Map<number, string>();
  private readonly answered = new Set<number>();
  private readonly exited: Promise<ExitStatus>;
  private failure: string | undefined;
  private closed = false;

  constructor(readonly spec: RuntimeSpec) {
    this.process = new InstanceProcess(
      { launch: { command: spec.command, args: spec.args, cwd: spec.codeDir, env: conformanceEnv(spec) } },
      {
        line: (stream, line) => {
          if (stream === 'stdout' && this.stdoutHead.length < OUTPUT_KEEP) this.stdoutHead.push(line);
        },
        error: (message) => this.fail(message),
      },
    );
    const socket = this.process.start();
    this.exited = this.process.exited();
    // the platform's limits and schemas: what the platform would refuse fails the case
    this.channel = new FrameChannel(socket, spec.maxResponseBytes, {
      frame: (frame) => this.receive(frame),
      tooLarge: (err) => this.fail(`the runtime wrote an invalid frame: ${err.message}`),
      violation: (reason) => this.fail(`the runtime wrote an invalid frame: ${reason}`),
      closed: () => void this.onClose(),
    });
  }

  /** The first lines of the runtime's stderr. */
  get stderrHead(): string[] {
    return this.process.stderrHead;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.process.exitStatus;
  }

  get pid(): number | undefined {
    return this.process.pid ?? undefined;
  }

  /** Waits for HELLO (protocol 1) and answers INIT; resolves on READY. */
  async handshake(helloTimeoutMs: number, readyTimeoutMs: number): Promise<ReceivedFrame> {
    const first = await this.waitFor('HELLO', () => true, helloTimeoutMs);
    if (first.kind !== FrameKind.HELLO) {
      throw new CaseFailure(`the first frame was kind ${first.kind}, expected HELLO (1)`);
    }
    if (first.meta['protocol'] !== 1) {
      throw new CaseFailure(`HELLO says protocol ${JSON.stringify(first.meta['protocol'])}, expected 1`);
    }
    if (typeof first.meta['runtime'] !== 'string') throw new CaseFailure('HELLO has no "runtime" string');
    const init: InitMeta = {
      codeDir: this.spec.codeDir,
      handler: this.spec.handler,
      function: CONFORMANCE_FUNCTION,
      version: CONFORMANCE_VERSION,
      env: this.spec.env,
      secrets: {},
    };
    this.send(FrameKind.INIT, 0, init);
    const ready = await this.waitFor(
      'READY',
      (f) => f.id === 0 && (f.kind === FrameKind.READY || f.kind === FrameKind.ERROR),
      readyTimeoutMs,
    );
    if (ready.kind === FrameKind.ERROR) {
      throw new CaseFailure(
        `INIT failed: ERROR ${String(ready.meta['code'])}: ${String(ready.meta['message'])}`,
      );
    }
    return first;
  }

  send(kind: number, id: number, meta?: object, body?: Uint8Array): void {
    this.channel.send(kind, id, meta, body);
  }

  /** Sends INVOKE for a path on `http://localhost`; returns the invocation id used. */
  invoke(id: number, request: InvokeRequest): string {
    const invocationId = request.invocationId ?? randomUUID();
    const meta: InvokeMeta = {
      invocationId,
      method: request.method ?? 'POST',
      url: `http://localhost${request.path}`,
      headers: request.headers ?? [],
      deadline: Date.now() + 60_000,
      trigger: 'http',
    };
    if (request.traceparent !== undefined) meta.traceparent = request.traceparent;
    if (request.tracestate !== undefined) meta.tracestate = request.tracestate;
    this.invoked.set(id, request.path);
    this.send(FrameKind.INVOKE, id, meta, request.body);
    return invocationId;
  }

  /** The RESULT or ERROR for a wire id. */
  reply(id: number, timeoutMs: number): Promise<ReceivedFrame> {
    const what = `a RESULT or ERROR for wire id ${id} (${this.invoked.get(id) ?? '?'})`;
    return this.waitFor(
      what,
      (f) => f.id === id && (f.kind === FrameKind.RESULT || f.kind === FrameKind.ERROR),
      timeoutMs,
    );
  }

  /** Resolves with the first frame (received already or later) that matches; consumes it. */
  waitFor(what: string, match: (f: ReceivedFrame) => boolean, timeoutMs: number): Promise<ReceivedFrame> {
    const index = this.inbox.findIndex(match);
    if (index !== -1) return Promise.resolve(this.inbox.splice(index, 1)[0] as ReceivedFrame);
    if (this.failure !== undefined) return Promise.reject(new CaseFailure(this.failure));
    if (this.closed) return Promise.reject(new CaseFailure(this.closedReason(`waiting for ${what}`)));
    return new Promise<ReceivedFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new CaseFailure(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Whether a frame matching arrived (consumed or not). */
  received(match: (f: ReceivedFrame) => boolean): ReceivedFrame | undefined {
    return this.frames.find(match);
  }

  /** Resolves with the exit status, or undefined if the process is still running after timeoutMs. */
  async waitExit(timeoutMs: number): Promise<ExitStatus | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the kit's end of the protocol socket (the runtime sees end-of-file). */
  closeSocket(): void {
    this.channel.end();
  }

  /** Kills the process if it still runs and waits for it to be gone. */
  async dispose(): Promise<void> {
    for (const waiter of this.waiters) waiter.reject(new CaseFailure('the case ended'));
    this.waiters.clear();
    if (this.exitStatus === undefined && this.process.pid !== null) this.process.kill();
    await this.waitExit(5_000);
    this.channel.destroy();
  }

  /** The first lines of the runtime's stderr, for a failure report. */
  stderr(): string[] {
    return [...this.stderrHead];
  }

  private receive(frame: Frame): void {
    if (this.failure !== undefined) return;
    const received: ReceivedFrame = { ...frame, seq: this.frames.length, at: performance.now() };
    this.frames.push(received);
    if ((frame.kind === FrameKind.RESULT || frame.kind === FrameKind.ERROR) && frame.id !== 0) {
      const name = frame.kind === FrameKind.RESULT ? 'RESULT' : 'ERROR';
      if (this.answered.has(frame.id)) {
        this.fail(`a second reply (${name}) for wire id ${frame.id}`);
        return;
      }
      if (!this.invoked.has(frame.id)) {
        this.fail(`${name} for wire id ${frame.id}, which was never invoked`);
        return;
      }
      this.answered.add(frame.id);
    }
    for (const waiter of this.waiters) {
      if (waiter.match(received)) {
        this.waiters.delete(waiter);
        waiter.resolve(received);
        return;
      }
    }
    this.inbox.push(received);
  }

  private fail(reason: string): void {
    this.failure ??= reason;
    this.channel.stopReading();
    for (const waiter of this.waiters) waiter.reject(new CaseFailure(reason));
    this.waiters.clear();
  }

  private async onClose(): Promise<void> {
    this.closed = true;
    // the exit status usually arrives just after the socket closes
    await Promise.race([this.exited, delay(300)]);
    for (const waiter of this.waiters) waiter.reject(new CaseFailure(this.closedReason('waiting')));
    this.waiters.clear();
  }

  private closedReason(when: string): string {
    if (this.failure !== undefined) return this.failure;
    const how = this.exitStatus === undefined ? '' : ` (${describeExit(this.exitStatus)})`;
    return `the runtime closed the protocol socket${how} while the kit was ${when}`;
  }
}
