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
  PROTOCOL_VERSION,
  type Frame,
} from '../../src/executor/protocol/frames.js';
import type { ErrorMeta, InitMeta, InvokeMeta, LogMeta } from '../../src/executor/protocol/messages.js';

export const PROTOCOL_FD = Number(process.env['SKIFF_PROTOCOL_FD'] ?? 3);
export const MAX_RESPONSE_BYTES = Number(process.env['SKIFF_MAX_RESPONSE_BYTES'] ?? 6 * 1024 * 1024);

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

export class BridgeConnection {
  readonly writer: FrameWriter;
  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder();
  private stopping = false;

  constructor(private readonly hooks: BridgeHooks) {
    this.socket = new net.Socket({ fd: PROTOCOL_FD, readable: true, writable: true });
    this.writer = new FrameWriter(this.socket);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => process.exit(0));
    this.socket.on('error', () => process.exit(0));
    this.writer.send(FrameKind.HELLO, 0, {
      protocol: PROTOCOL_VERSION,
      runtime: hooks.runtime,
      runtimeVersion: process.version,
      pid: process.pid,
    });
  }

  /** True once the platform sent SHUTDOWN. */
  get shuttingDown(): boolean {
    return this.stopping;
  }

  sendError(id: number, meta: ErrorMeta): void {
    this.writer.send(FrameKind.ERROR, id, meta);
  }

  sendLog(id: number, stream: LogMeta['stream'], level: LogMeta['level'], text: string): void {
    const meta: LogMeta = { stream, level };
    this.writer.send(FrameKind.LOG, id, meta, Buffer.from(text, 'utf8'));
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

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      process.stderr.write(`skiff ${this.hooks.runtime} bridge: protocol error: ${(err as Error).message}\n`);
      process.exit(70);
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.INIT:
        void this.hooks.onInit(frame.meta as unknown as InitMeta);
        break;
      case FrameKind.INVOKE:
        void this.hooks.onInvoke(frame.id, frame.meta as unknown as InvokeMeta, frame.body);
        break;
      case FrameKind.CANCEL:
        this.hooks.onCancel(frame.id);
        break;
      case FrameKind.PING:
        this.writer.send(FrameKind.PONG, frame.id, { inFlight: this.hooks.inFlight() });
        break;
      case FrameKind.SHUTDOWN: {
        this.stopping = true;
        const graceMs = Number(frame.meta['graceMs'] ?? 0);
        if (this.hooks.inFlight() === 0) this.drained();
        else setTimeout(() => this.exitSoon(0), graceMs).unref();
        break;
      }
      default:
        process.stderr.write(`skiff ${this.hooks.runtime} bridge: ignoring frame kind ${frame.kind}\n`);
    }
  }
}
