/**
 * The protocol side every TypeScript bridge shares (runtime protocol v1, docs/runtime-protocol.md):
 * the socket on fd 3, HELLO, frame dispatch, PING → PONG, SHUTDOWN with its grace period, and exit on
 * end of file. A bridge supplies what is its own: INIT, INVOKE and CANCEL.
 */
import net from 'node:net';
import {
  FrameDecoder,
  FrameKind,
  FrameWriter,
  MAX_META_BYTES,
  PROTOCOL_VERSION,
  type Frame,
} from '../../src/executor/protocol/frames.js';
import type {
  ErrorMeta,
  HeaderPairs,
  InitMeta,
  InvokeMeta,
  LogMeta,
  PlatformFrame,
  parsePlatformFrame,
} from '../../src/executor/protocol/messages.js';
import { MAX_MESSAGE_CHARS, MAX_STACK_CHARS, cut } from './thrown.js';
import { CallClient } from './calls.js';

export const PROTOCOL_FD = Number(process.env['SKIFF_PROTOCOL_FD'] ?? 3);
export const MAX_RESPONSE_BYTES = Number(process.env['SKIFF_MAX_RESPONSE_BYTES'] ?? 6 * 1024 * 1024);
/** Longest LOG text sent (characters); longer output is cut with a marker (the platform keeps 16 KiB). */
export const MAX_LOG_CHARS = 16 * 1024;

const PLATFORM_KINDS: ReadonlySet<number> = new Set([
  FrameKind.INIT,
  FrameKind.INVOKE,
  FrameKind.CANCEL,
  FrameKind.SHUTDOWN,
  FrameKind.PING,
  FrameKind.REPLY,
  FrameKind.FAIL,
]);

export interface BridgeHooks {
  /** The runtime name sent in HELLO. */
  runtime: string;
  onInit(meta: InitMeta): void | Promise<void>;
  onInvoke(id: number, meta: InvokeMeta, body: Buffer): void | Promise<void>;
  onCancel(id: number): void;
  /** How many invocations are in flight (for PONG and SHUTDOWN). */
  inFlight(): number;
  /** After SHUTDOWN, once nothing is in flight; the default exits at once. */
  onDrained?(): void;
  /** Right before the process exits, e.g. to kill what the bridge started. */
  beforeExit?(): void;
}

type Schemas = typeof import('../../src/executor/protocol/messages.js');

/**
 * The protocol's schemas: the bundle next to this file (scripts/bundle-schemas.mjs; zod/mini inside,
 * a few milliseconds to load), else the compiled module (which needs zod from node_modules).
 */
async function loadSchemas(): Promise<Schemas> {
  const bundle = new URL('../shared/protocol-schemas.js', import.meta.url);
  try {
    return (await import(bundle.href)) as Schemas;
  } catch {
    return import('../../src/executor/protocol/messages.js');
  }
}

export class BridgeConnection {
  readonly writer: FrameWriter;
  /** Calls to other functions (CALL out, REPLY/FAIL back). */
  readonly calls: CallClient;
  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder();
  private stopping = false;
  /** When the grace period of a SHUTDOWN ends (epoch milliseconds). */
  private stopBy: number | undefined;
  /** The schemas load (zod) while the platform answers HELLO; frames wait for them in the backlog. */
  private parse: typeof parsePlatformFrame | undefined;
  private backlog: Frame[] = [];

  constructor(private readonly hooks: BridgeHooks) {
    this.socket = new net.Socket({ fd: PROTOCOL_FD, readable: true, writable: true });
    // Frames leave once per turn of the event loop: the RESULTs and LOGs of every invocation that
    // ran in one turn go in one write (one system call) rather than one per read from the socket.
    // Whatever is queued when the process exits (process.exit, an uncaught error) is written first.
    this.writer = new FrameWriter(this.socket, 'turn');
    process.on('exit', () => this.writer.flush());
    this.calls = new CallClient(this.writer, MAX_RESPONSE_BYTES);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => process.exit(0));
    this.socket.on('error', () => process.exit(0));
    this.writer.send(FrameKind.HELLO, 0, {
      protocol: PROTOCOL_VERSION,
      runtime: hooks.runtime,
      runtimeVersion: process.version,
      pid: process.pid,
    });
    loadSchemas().then(
      (messages) => {
        this.parse = messages.parsePlatformFrame;
        const waiting = this.backlog;
        this.backlog = [];
        for (const frame of waiting) this.onFrame(frame);
      },
      (err: unknown) => this.protocolError(`cannot load the protocol schemas: ${String(err)}`),
    );
  }

  /**
   * Parses `frames` as the platform's would be, and drops them: run while the process waits (a
   * warm-pool process before INIT), so the first real INIT and INVOKE do not pay for the schemas'
   * first use (zod builds each schema's parser then). Nothing is dispatched or sent. False when the
   * schemas have not loaded yet.
   */
  rehearse(frames: readonly Frame[]): boolean {
    const parse = this.parse;
    if (parse === undefined) return false;
    for (const frame of frames) parse(frame);
    return true;
  }

  /** True once the platform sent SHUTDOWN. */
  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** After SHUTDOWN: the milliseconds left of its grace period (the platform kills the process then). */
  graceLeftMs(): number | undefined {
    return this.stopBy === undefined ? undefined : Math.max(0, this.stopBy - Date.now());
  }

  /** Sends an ERROR; its message and stack are cut to stay well inside the platform's meta limit. */
  sendError(id: number, meta: ErrorMeta): void {
    this.writer.send(FrameKind.ERROR, id, {
      ...meta,
      message: cut(String(meta.message), MAX_MESSAGE_CHARS),
      ...(meta.stack === undefined ? {} : { stack: cut(String(meta.stack), MAX_STACK_CHARS) }),
    });
  }

  /** Sends a LOG frame; a text longer than MAX_LOG_CHARS is cut with a marker. */
  sendLog(id: number, stream: LogMeta['stream'], level: LogMeta['level'], text: string): void {
    const meta: LogMeta = { stream, level };
    this.writer.send(FrameKind.LOG, id, meta, Buffer.from(cut(text, MAX_LOG_CHARS), 'utf8'));
  }

  /**
   * Sends a RESULT, or an ERROR the platform can take instead: RESPONSE_TOO_LARGE for a body over
   * SKIFF_MAX_RESPONSE_BYTES, BAD_RESPONSE for headers over the meta limit or a status that is not an
   * integer from 200 to 599.
   */
  sendResult(id: number, status: number, headers: HeaderPairs, body: Uint8Array): void {
    if (body.length > MAX_RESPONSE_BYTES) {
      this.sendError(id, {
        code: 'RESPONSE_TOO_LARGE',
        message: `response body of ${body.length} bytes exceeds the limit of ${MAX_RESPONSE_BYTES}`,
      });
      return;
    }
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      this.sendError(id, { code: 'BAD_RESPONSE', message: `the status ${status} is not from 200 to 599` });
      return;
    }
    const meta = { status, headers };
    const metaBytes = Buffer.byteLength(JSON.stringify(meta));
    if (metaBytes > MAX_META_BYTES) {
      this.sendError(id, {
        code: 'BAD_RESPONSE',
        message: `the response headers take ${metaBytes} bytes, more than the limit of ${MAX_META_BYTES}`,
      });
      return;
    }
    this.writer.send(FrameKind.RESULT, id, meta, body);
  }

  /** Call when an invocation has been answered: completes a SHUTDOWN once nothing is in flight. */
  invocationEnded(): void {
    if (this.stopping && this.hooks.inFlight() === 0) this.drained();
  }

  /** Flushes what is queued and exits with `code`. */
  exitSoon(code: number): void {
    this.hooks.beforeExit?.();
    this.writer.flush();
    this.socket.end(() => process.exit(code));
    setTimeout(() => process.exit(code), 200).unref();
  }

  private drained(): void {
    if (this.hooks.onDrained !== undefined) this.hooks.onDrained();
    else this.exitSoon(0);
  }

  private protocolError(reason: string): never {
    process.stderr.write(`skiff ${this.hooks.runtime} bridge: protocol error: ${reason}\n`);
    process.exit(70);
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.protocolError((err as Error).message);
    }
    for (const frame of frames) {
      if (this.parse === undefined) this.backlog.push(frame);
      else this.onFrame(frame);
    }
  }

  private onFrame(raw: Frame): void {
    if (!PLATFORM_KINDS.has(raw.kind)) {
      process.stderr.write(`skiff ${this.hooks.runtime} bridge: ignoring frame kind ${raw.kind}\n`);
      return;
    }
    const parsed = (this.parse as typeof parsePlatformFrame)(raw);
    if (!parsed.ok) this.protocolError(parsed.reason);
    this.dispatch(parsed.frame);
  }

  private dispatch(frame: PlatformFrame): void {
    switch (frame.kind) {
      case FrameKind.INIT:
        void this.hooks.onInit(frame.meta);
        break;
      case FrameKind.INVOKE:
        void this.hooks.onInvoke(frame.id, frame.meta, frame.body);
        break;
      case FrameKind.CANCEL:
        this.hooks.onCancel(frame.id);
        break;
      case FrameKind.REPLY:
        this.calls.onReply(frame.id, frame.meta, frame.body);
        break;
      case FrameKind.FAIL:
        this.calls.onFail(frame.id, frame.meta);
        break;
      case FrameKind.PING:
        this.writer.send(FrameKind.PONG, frame.id, { inFlight: this.hooks.inFlight() });
        break;
      case FrameKind.SHUTDOWN: {
        this.stopping = true;
        const { graceMs } = frame.meta;
        this.stopBy = Date.now() + graceMs;
        if (this.hooks.inFlight() === 0) this.drained();
        else setTimeout(() => this.exitSoon(0), graceMs).unref();
        break;
      }
    }
  }
}
